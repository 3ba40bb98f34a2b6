package main

import (
	"bytes"
	"encoding/base64"
	"encoding/hex"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/selectftp/selectftp/host/auth"
	"github.com/selectftp/selectftp/host/users"
)

// userRun runs `selectftpd user ARGS` in-process with cheap PBKDF2.
func userRun(t *testing.T, stdin string, args ...string) (code int, stdout, stderr string) {
	t.Helper()
	if len(args) > 0 && (args[0] == "add" || args[0] == "passwd") {
		args = append(args, "--iterations", "4096")
	}
	var o, e bytes.Buffer
	code = runUser(args, strings.NewReader(stdin), &o, &e)
	return code, o.String(), e.String()
}

func TestUserCommandFlow(t *testing.T) {
	file := filepath.Join(t.TempDir(), "users.json")
	if code, _, e := userRun(t, "pw1\n", "add", "--users", file, "alice"); code != 0 {
		t.Fatalf("add: %d %s", code, e)
	}
	// Flags after NAME, and a password line ending in CRLF.
	if code, _, e := userRun(t, "pw2\r\nignored\n", "add", "bob", "--users", file, "--root", "/srv/bob", "--perm", "list,read"); code != 0 {
		t.Fatalf("add with flags after NAME: %d %s", code, e)
	}
	f, err := users.Load(file)
	if err != nil {
		t.Fatal(err)
	}
	a, _ := f.Lookup("alice")
	b, _ := f.Lookup("bob")
	if a.Root != "alice" || auth.FormatPerms(a.Perms) != "list,read,write,delete,mkdir,rename" || !auth.CheckPassword(a.Credentials, "pw1") {
		t.Fatalf("alice = %+v", a)
	}
	if b.Root != "/srv/bob" || auth.FormatPerms(b.Perms) != "list,read" || !auth.CheckPassword(b.Credentials, "pw2") {
		t.Fatalf("bob = %+v (the password must be the first line without its CRLF)", b)
	}

	code, out, _ := userRun(t, "", "list", "--users", file)
	if code != 0 || !strings.Contains(out, "alice") || !strings.Contains(out, "/srv/bob") || !strings.Contains(out, "list,read") {
		t.Fatalf("list: %d\n%s", code, out)
	}
	for _, c := range []auth.Account{a, b} {
		if showsCredentials(out, c) {
			t.Fatalf("list prints %s's credentials:\n%s", c.Name, out)
		}
	}

	if code, _, e := userRun(t, "pw3\n", "passwd", "--users", file, "alice"); code != 0 {
		t.Fatalf("passwd: %d %s", code, e)
	}
	f.Reload()
	if a, _ := f.Lookup("alice"); !auth.CheckPassword(a.Credentials, "pw3") {
		t.Fatal("passwd did not change the password")
	}
	if code, _, e := userRun(t, "", "del", "alice", "--users", file); code != 0 {
		t.Fatalf("del: %d %s", code, e)
	}
	f.Reload()
	if _, err := f.Lookup("alice"); err == nil {
		t.Fatal("del left alice")
	}
}

func TestUserCommandRefuses(t *testing.T) {
	file := filepath.Join(t.TempDir(), "users.json")
	if code, _, e := userRun(t, "pw\n", "add", "--users", file, "alice"); code != 0 {
		t.Fatal(e)
	}
	before, _ := os.ReadFile(file)
	for _, tc := range []struct {
		name  string
		stdin string
		args  []string
		code  int
		want  string
	}{
		{"existing user", "other\n", []string{"add", "--users", file, "alice"}, 1, "user alice exists; use passwd"},
		{"existing user by case", "other\n", []string{"add", "--users", file, "ALICE"}, 1, "exists"},
		{"empty password", "\n", []string{"add", "--users", file, "bob"}, 1, "empty password"},
		{"no stdin", "", []string{"add", "--users", file, "bob"}, 1, "empty password"},
		{"empty passwd", "\n", []string{"passwd", "--users", file, "alice"}, 1, "empty password"},
		{"passwd unknown", "pw\n", []string{"passwd", "--users", file, "bob"}, 1, "no user bob"},
		{"del unknown", "", []string{"del", "--users", file, "bob"}, 1, "no user bob"},
		{"no --users", "pw\n", []string{"add", "bob"}, 2, "--users FILE is required"},
		{"no name", "pw\n", []string{"add", "--users", file}, 2, "one user NAME"},
		{"two names", "pw\n", []string{"add", "--users", file, "bob", "carol"}, 2, "one user NAME"},
		{"bad name", "pw\n", []string{"add", "--users", file, ".bob"}, 2, "bad user name"},
		{"bad name slash", "pw\n", []string{"add", "--users", file, "b/ob"}, 2, "bad user name"},
		{"bad perm", "pw\n", []string{"add", "--users", file, "bob", "--perm", "list,admin"}, 2, `"admin"`},
		{"escaping root", "pw\n", []string{"add", "--users", file, "bob", "--root", "../etc"}, 2, "--root"},
		{"unknown flag", "pw\n", []string{"add", "--users", file, "bob", "--admin"}, 2, "admin"},
		{"list with NAME", "", []string{"list", "--users", file, "alice"}, 2, "unexpected argument"},
		{"unknown command", "", []string{"rename", "--users", file}, 2, "unknown command"},
		{"no command", "", nil, 2, "missing add"},
		{"missing file", "", []string{"list", "--users", file + ".nope"}, 1, "no such file"},
	} {
		var o, e bytes.Buffer
		code := runUser(tc.args, strings.NewReader(tc.stdin), &o, &e)
		if code != tc.code || !strings.Contains(e.String(), tc.want) || strings.Count(e.String(), "\n") != 1 {
			t.Errorf("%s: exit %d, stderr %q; want exit %d and one line saying %s", tc.name, code, e.String(), tc.code, tc.want)
		}
		if after, _ := os.ReadFile(file); !bytes.Equal(before, after) {
			t.Fatalf("%s: the file changed", tc.name)
		}
	}
	if _, err := os.Stat(file + ".nope"); err == nil {
		t.Fatal("list created a file")
	}
}

func TestUserCommandBadFileUntouched(t *testing.T) {
	file := filepath.Join(t.TempDir(), "users.json")
	bad := []byte(`{"users":[{"name":"alice","perm":["write"]}]}`)
	os.WriteFile(file, bad, 0o600)
	code, _, e := userRun(t, "pw\n", "add", "--users", file, "bob")
	if code != 1 || !strings.Contains(e, `"perm"`) {
		t.Fatalf("add to a bad file: %d %s", code, e)
	}
	if after, _ := os.ReadFile(file); !bytes.Equal(after, bad) {
		t.Fatal("add rewrote a file it could not read (and dropped alice)")
	}
}

// showsCredentials reports whether out holds any of a's credential values
// in any encoding a careless printer would use.
func showsCredentials(out string, a auth.Account) bool {
	for _, v := range [][]byte{[]byte(a.Credentials.Salt), a.Credentials.StoredKey, a.Credentials.ServerKey} {
		for _, enc := range []string{string(v), hex.EncodeToString(v), base64.StdEncoding.EncodeToString(v),
			base64.RawStdEncoding.EncodeToString(v), base64.RawURLEncoding.EncodeToString(v), fmt.Sprint(v)} {
			if strings.Contains(out, enc) {
				return true
			}
		}
	}
	return strings.Contains(out, "stored_key") || strings.Contains(out, "server_key") || strings.Contains(out, "salt")
}
