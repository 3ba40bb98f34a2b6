package main

// selectftpd user, driven as the built binary, exactly as the CLI contract
// in issue 10 says (tests outside this repository use the same lines).

import (
	"bytes"
	"errors"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"

	"github.com/selectftp/selectftp/host/auth"
	"github.com/selectftp/selectftp/host/users"
)

// userCLI runs the selectftpd binary with stdin piped (not a terminal).
func userCLI(t *testing.T, stdin string, args ...string) (code int, stdout, stderr string) {
	t.Helper()
	cmd := exec.Command(bins.server, append([]string{"user"}, args...)...)
	cmd.Stdin = strings.NewReader(stdin)
	var o, e bytes.Buffer
	cmd.Stdout, cmd.Stderr = &o, &e
	err := cmd.Run()
	var ee *exec.ExitError
	switch {
	case err == nil:
	case errors.As(err, &ee):
		code = ee.ExitCode()
	default:
		t.Fatal(err)
	}
	return code, o.String(), e.String()
}

func TestE2EUserCLI(t *testing.T) {
	needBinaries(t)
	dir := t.TempDir()
	file := filepath.Join(dir, "users.json") // missing: add creates it

	// The contract's line, with the default (slow) iterations.
	code, _, e := userCLI(t, "alice-pw\n", "add", "--users", file, "alice", "--root", "alice", "--perm", "list,read,write")
	if code != 0 {
		t.Fatalf("add: exit %d: %s", code, e)
	}
	st, err := os.Stat(file)
	if err != nil || st.Mode().Perm() != 0o600 {
		t.Fatalf("users file: %v, mode %v; want 0600", err, st)
	}
	// Flags before NAME, default perms.
	if code, _, e := userCLI(t, "bob-pw\n", "add", "--root", "/srv/bob", "--users", file, "bob"); code != 0 {
		t.Fatalf("add with flags before NAME: exit %d: %s", code, e)
	}

	f, err := users.Load(file)
	if err != nil {
		t.Fatal(err)
	}
	alice, _ := f.Lookup("alice")
	bob, _ := f.Lookup("bob")
	if alice.Credentials.Iters != auth.DefaultIterations || !auth.CheckPassword(alice.Credentials, "alice-pw") {
		t.Fatalf("alice's credentials: %d iterations, password kept: %v", alice.Credentials.Iters, auth.CheckPassword(alice.Credentials, "alice-pw"))
	}
	if auth.FormatPerms(alice.Perms) != "list,read,write" || bob.Root != "/srv/bob" || len(bob.Perms) != 6 {
		t.Fatalf("alice %v, bob %q %v", alice.Perms, bob.Root, bob.Perms)
	}
	raw, _ := os.ReadFile(file)
	if bytes.Contains(raw, []byte("alice-pw")) || bytes.Contains(raw, []byte("bob-pw")) {
		t.Fatal("the users file holds a password")
	}

	// Refusals: one clear line, the right status, the file untouched.
	for _, tc := range []struct {
		name, stdin string
		args        []string
		code        int
		want        string
	}{
		{"existing", "x\n", []string{"add", "--users", file, "alice"}, 1, "user alice exists; use passwd"},
		{"empty password", "\n", []string{"add", "--users", file, "carol"}, 1, "empty password"},
		{"usage", "x\n", []string{"add", "--users", file}, 2, "NAME"},
		{"bad perm", "x\n", []string{"add", "--users", file, "carol", "--perm", "root"}, 2, `"root"`},
	} {
		code, _, e := userCLI(t, tc.stdin, tc.args...)
		if code != tc.code || !strings.Contains(e, tc.want) || strings.Count(e, "\n") != 1 {
			t.Errorf("%s: exit %d, stderr %q; want %d and %q", tc.name, code, e, tc.code, tc.want)
		}
		if now, _ := os.ReadFile(file); !bytes.Equal(now, raw) {
			t.Fatalf("%s changed the file", tc.name)
		}
	}

	code, out, e := userCLI(t, "", "list", "--users", file)
	if code != 0 || !strings.Contains(out, "alice") || !strings.Contains(out, "bob") || !strings.Contains(out, "list,read,write") {
		t.Fatalf("list: exit %d\n%s%s", code, out, e)
	}
	for _, c := range []auth.Account{alice, bob} {
		if showsCredentials(out, c) {
			t.Fatalf("list prints %s's credentials:\n%s", c.Name, out)
		}
	}

	if code, _, e := userCLI(t, "new-pw\n", "passwd", "--users", file, "alice"); code != 0 {
		t.Fatalf("passwd: exit %d: %s", code, e)
	}
	if code, _, e := userCLI(t, "", "del", "bob", "--users", file); code != 0 {
		t.Fatalf("del: exit %d: %s", code, e)
	}
	if err := f.Reload(); err != nil {
		t.Fatal(err)
	}
	if a, _ := f.Lookup("alice"); !auth.CheckPassword(a.Credentials, "new-pw") || auth.CheckPassword(a.Credentials, "alice-pw") {
		t.Fatal("passwd did not replace alice's password")
	}
	if _, err := f.Lookup("bob"); err == nil {
		t.Fatal("del left bob")
	}
	if st, _ := os.Stat(file); st.Mode().Perm() != 0o600 {
		t.Fatalf("mode after rewrites %v", st.Mode())
	}
	if left, _ := filepath.Glob(filepath.Join(dir, ".users-*")); len(left) != 0 {
		t.Fatalf("temporary files left: %v", left)
	}
}
