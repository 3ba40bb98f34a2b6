package main

// End-to-end tests of permissions (issue 10, slice 2): the real server
// with --users, the real selectftp with --user, the real plugins. The host
// checks what each verb declares before the plugin runs.

import (
	"encoding/json"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
)

// setPathPerms gives name's account path permissions in the users file,
// as an operator edits it (user add has no flag for them).
func setPathPerms(t *testing.T, usersFile, name string, pp map[string][]string) {
	t.Helper()
	b, err := os.ReadFile(usersFile)
	if err != nil {
		t.Fatal(err)
	}
	var f struct {
		Users []map[string]any `json:"users"`
	}
	if err := json.Unmarshal(b, &f); err != nil {
		t.Fatal(err)
	}
	for _, u := range f.Users {
		if u["name"] == name {
			u["path_perms"] = pp
		}
	}
	if b, err = json.Marshal(f); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(usersFile, b, 0o600); err != nil {
		t.Fatal(err)
	}
}

// startPermsServer serves alice (every permission), ro (list,read) and
// drop (list,read,write,delete; /incoming write only; /d/keep list,read).
func startPermsServer(t *testing.T) *server {
	t.Helper()
	needBinaries(t)
	usersFile := filepath.Join(t.TempDir(), "users.json")
	addUser(t, usersFile, "alice", "alice-pw")
	addUser(t, usersFile, "bob", "bob-pw")
	for name, perms := range map[string]string{"ro": "list,read", "drop": "list,read,write,delete"} {
		cmd := []string{"user", "add", "--users", usersFile, "--iterations", "4096", "--perm", perms, name}
		if r := runServerCmd(t, name+"-pw\n", cmd...); r.code != 0 {
			t.Fatalf("user add %s: %d %s", name, r.code, r.stderr)
		}
	}
	setPathPerms(t, usersFile, "drop", map[string][]string{"/incoming": {"write"}, "/d/keep": {"list", "read"}})
	return startServer(t, []string{"--users", usersFile}, allVerbs...)
}

// runServerCmd runs selectftpd with args and stdin.
func runServerCmd(t *testing.T, stdin string, args ...string) result {
	t.Helper()
	cmd := exec.Command(bins.server, args...)
	cmd.Stdin = strings.NewReader(stdin)
	var out, errb strings.Builder
	cmd.Stdout, cmd.Stderr = &out, &errb
	cmd.Run()
	return result{out.String(), errb.String(), cmd.ProcessState.ExitCode()}
}

// tree writes files (path -> content) under dir, making folders.
func tree(t *testing.T, dir string, files map[string]string) {
	t.Helper()
	for p, content := range files {
		full := filepath.Join(dir, filepath.FromSlash(p))
		if err := os.MkdirAll(filepath.Dir(full), 0o750); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(full, []byte(content), 0o600); err != nil {
			t.Fatal(err)
		}
	}
}

func TestE2EPermissions(t *testing.T) {
	s := startPermsServer(t)
	local := t.TempDir()
	tree(t, local, map[string]string{"up.txt": "upload\n"})
	roDir, dropDir := filepath.Join(s.root, "ro"), filepath.Join(s.root, "drop")
	tree(t, roDir, map[string]string{"f.txt": "ro's\n", "d/x": "x\n"})
	tree(t, dropDir, map[string]string{"incoming/old": "old\n", "d/keep/k": "k\n", "d/other": "o\n", "pub.txt": "pub\n"})

	refused := func(user string, args ...string) {
		t.Helper()
		r := s.as(user, user+"-pw", local, args...)
		if r.code != 4 || !strings.Contains(r.stderr, "permission denied (needs ") {
			t.Errorf("%s %v: exit %d, %q %q; want 4 and permission denied", user, args, r.code, r.stdout, r.stderr)
		}
	}
	allowed := func(user string, args ...string) string {
		t.Helper()
		r := s.as(user, user+"-pw", local, args...)
		if r.code != 0 {
			t.Errorf("%s %v: exit %d %s; want it allowed", user, args, r.code, r.stderr)
		}
		return r.stdout
	}

	// A read-only user reads and lists, and changes nothing.
	if out := allowed("ro", "get", "f.txt", "-"); out != "ro's\n" {
		t.Errorf("ro get = %q", out)
	}
	allowed("ro", "ls", "/d")
	refused("ro", "put", "up.txt", "f.txt")
	refused("ro", "put", "up.txt", "new.txt")
	refused("ro", "rm", "f.txt")
	refused("ro", "rm", "-r", "d")
	refused("ro", "mkdir", "n")
	refused("ro", "mv", "f.txt", "g.txt")
	if got := strings.Join(listFiles(t, roDir), " "); got != "d/x f.txt" {
		t.Errorf("ro's tree is now %q", got)
	}
	if b, _ := os.ReadFile(filepath.Join(roDir, "f.txt")); string(b) != "ro's\n" {
		t.Errorf("ro's f.txt is now %q", b)
	}

	// A drop folder: /incoming takes uploads, and shows and gives nothing.
	allowed("drop", "put", "up.txt", "/incoming/up.txt")
	if b, _ := os.ReadFile(filepath.Join(dropDir, "incoming", "up.txt")); string(b) != "upload\n" {
		t.Errorf("drop's upload = %q", b)
	}
	refused("drop", "get", "/incoming/old", "-")
	refused("drop", "get", "/pub.txt/../incoming/old", "-")
	refused("drop", "ls", "/incoming")
	refused("drop", "ls", "/incoming/*")
	refused("drop", "stat", "/incoming/old")
	refused("drop", "sum", "/incoming/old")
	refused("drop", "rm", "/incoming/old")
	refused("drop", "mv", "/incoming/old", "/stolen")
	if out := allowed("drop", "get", "/pub.txt", "-"); out != "pub\n" {
		t.Errorf("drop get /pub.txt = %q", out)
	}
	// A recursive remove needs delete under every sub-path with its own
	// permissions: /d/keep has none, so rm -r /d removes nothing at all.
	refused("drop", "rm", "-r", "/d")
	refused("drop", "rm", "-r", "/")
	if got := strings.Join(listFiles(t, dropDir), " "); !strings.Contains(got, "d/keep/k") || !strings.Contains(got, "d/other") {
		t.Errorf("drop's tree after the refused rm -r: %q", got)
	}
	allowed("drop", "rm", "/d/other")
}

// A symlink in alice's tree that points into bob's (made on disk by the
// test: no verb makes one) leads nowhere, whatever the verb.
func TestE2ESymlinkIntoAnotherTree(t *testing.T) {
	s := startPermsServer(t)
	aliceDir, bobDir := filepath.Join(s.root, "alice"), filepath.Join(s.root, "bob")
	tree(t, bobDir, map[string]string{"b.txt": "bob's\n", "sub/s.txt": "bob's sub\n"})
	tree(t, aliceDir, map[string]string{"a.txt": "alice's\n"})
	if err := os.Symlink("../bob", filepath.Join(aliceDir, "tobob")); err != nil {
		t.Fatal(err)
	}
	if err := os.Symlink(filepath.Join(bobDir, "b.txt"), filepath.Join(aliceDir, "bfile")); err != nil {
		t.Fatal(err)
	}
	local := t.TempDir()
	tree(t, local, map[string]string{"evil.txt": "alice was here\n"})
	for _, args := range [][]string{
		{"get", "tobob/b.txt", "-"},
		{"get", "bfile", "-"},
		{"ls", "tobob"},
		{"ls", "tobob/"},
		{"ls", "tobob/*"},
		{"stat", "tobob/b.txt"},
		{"sum", "bfile"},
		{"sum", "tobob/sub/s.txt"},
		{"cd", "tobob"},
		{"put", "evil.txt", "tobob/evil.txt"},
		{"put", "evil.txt", "bfile"},
		{"mkdir", "tobob/new"},
		{"mv", "tobob/b.txt", "stolen.txt"},
		{"rm", "tobob/b.txt"},
		{"rm", "-r", "tobob/sub"},
	} {
		r := s.as("alice", "alice-pw", local, args...)
		// ls of the link itself shows the link, a dangling one: it is
		// alice's; what it points to is not shown.
		listsLink := args[0] == "ls" && strings.TrimSpace(r.stdout) == "tobob"
		if r.code == 0 && !listsLink || strings.Contains(r.stdout, "bob's") || strings.Contains(r.stdout, "b.txt") || strings.Contains(r.stdout, "s.txt") {
			t.Errorf("alice %v: exit %d %q %q; want a refusal that shows nothing of bob's", args, r.code, r.stdout, r.stderr)
		}
	}
	if got := strings.Join(listFiles(t, bobDir), " "); got != "b.txt sub/s.txt" {
		t.Errorf("bob's tree is now %q", got)
	}
	if b, _ := os.ReadFile(filepath.Join(bobDir, "b.txt")); string(b) != "bob's\n" {
		t.Errorf("bob's b.txt is now %q", b)
	}
}
