package main

// End-to-end tests of the login (issue 10): the real server with --users,
// the real selectftp with --user, the real plugins.

import (
	"bytes"
	"context"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/selectftp/selectftp/client"
	"github.com/selectftp/selectftp/protocol"
)

// addUser runs `selectftpd user add` with the password on stdin, at the
// lowest iteration count (the tests pay PBKDF2 on every client run).
func addUser(t *testing.T, usersFile, name, password string) {
	t.Helper()
	cmd := exec.Command(bins.server, "user", "add", "--users", usersFile, "--iterations", "4096", name)
	cmd.Stdin = strings.NewReader(password + "\n")
	if out, err := cmd.CombinedOutput(); err != nil {
		t.Fatalf("user add %s: %v\n%s", name, err, out)
	}
}

// startUsersServer starts selectftpd with --users holding alice and bob
// (passwords alice-pw, bob-pw), each in the folder of their name.
func startUsersServer(t *testing.T) (*server, string) {
	t.Helper()
	needBinaries(t)
	usersFile := filepath.Join(t.TempDir(), "users.json")
	addUser(t, usersFile, "alice", "alice-pw")
	addUser(t, usersFile, "bob", "bob-pw")
	return startServer(t, []string{"--users", usersFile}, append(verbs, "ls")...), usersFile
}

// as runs selectftp as user with password in $SELECTFTP_PASSWORD, in dir
// ("" for a temp folder).
func (s *server) as(user, password, dir string, args ...string) result {
	s.t.Helper()
	if dir == "" {
		dir = s.t.TempDir()
	}
	argv := []string{"--addr", s.addr}
	if user != "" {
		argv = append(argv, "--user", user)
	}
	cmd := exec.Command(bins.client, append(argv, args...)...)
	cmd.Dir = dir
	cmd.Env = append(os.Environ(), "SELECTFTP_PASSWORD="+password)
	var out, errb bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, &errb
	if err := cmd.Start(); err != nil {
		s.t.Fatal(err)
	}
	done := make(chan struct{})
	go func() { cmd.Wait(); close(done) }()
	select {
	case <-done:
	case <-time.After(60 * time.Second):
		cmd.Process.Kill()
		<-done
		s.t.Fatalf("selectftp %v hung", args)
	}
	return result{out.String(), errb.String(), cmd.ProcessState.ExitCode()}
}

func TestE2ELoginOwnTree(t *testing.T) {
	s, _ := startUsersServer(t)
	dir := t.TempDir()
	os.WriteFile(filepath.Join(dir, "a.txt"), []byte("alice's\n"), 0o600)
	os.WriteFile(filepath.Join(dir, "b.txt"), []byte("bob's\n"), 0o600)
	os.WriteFile(filepath.Join(dir, "evil.txt"), []byte("alice was here\n"), 0o600)
	if r := s.as("alice", "alice-pw", dir, "put", "a.txt"); r.code != 0 {
		t.Fatalf("alice put: %d %s", r.code, r.stderr)
	}
	if r := s.as("bob", "bob-pw", dir, "put", "b.txt"); r.code != 0 {
		t.Fatalf("bob put: %d %s", r.code, r.stderr)
	}
	// Each user's / is their folder under the server's root.
	for user, file := range map[string]string{"alice": "a.txt", "bob": "b.txt"} {
		if _, err := os.Stat(filepath.Join(s.root, user, file)); err != nil {
			t.Errorf("%s's upload is not in %s's folder: %v", file, user, err)
		}
	}
	if r := s.as("alice", "alice-pw", "", "ls", "/"); r.code != 0 || strings.TrimSpace(r.stdout) != "a.txt" {
		t.Errorf("alice's ls / = %d %q %s, want a.txt alone", r.code, r.stdout, r.stderr)
	}
	// Every way out of alice's tree toward bob's: relative, absolute
	// (virtual and host paths), listing, reading, writing.
	hostPath := filepath.Join(s.root, "bob", "b.txt")
	for _, args := range [][]string{
		{"get", "../bob/b.txt", "-"},
		{"get", "/../bob/b.txt", "-"},
		{"get", "../../" + filepath.Base(s.root) + "/bob/b.txt", "-"},
		{"get", hostPath, "-"},
		{"ls", ".."},
		{"ls", "../bob"},
		{"ls", "/../bob"},
		{"put", "evil.txt", "../bob/b.txt"},
		{"put", "evil.txt", "/../bob/evil.txt"},
		{"put", "evil.txt", hostPath},
	} {
		r := s.as("alice", "alice-pw", dir, args...)
		if strings.Contains(r.stdout, "bob's") || strings.Contains(r.stdout, "b.txt") {
			t.Errorf("alice %v reached bob's tree: %q", args, r.stdout)
		}
	}
	if b, _ := os.ReadFile(hostPath); string(b) != "bob's\n" {
		t.Errorf("bob's b.txt is now %q", b)
	}
	if names := listFiles(t, filepath.Join(s.root, "bob")); len(names) != 1 {
		t.Errorf("bob's folder holds %v, want b.txt alone", names)
	}
}

// A wrong password, an unknown user and an empty password look the same
// from outside: one message, one status.
func TestE2ELoginFailures(t *testing.T) {
	s, _ := startUsersServer(t)
	var first result
	for i, try := range []struct{ user, password string }{{"alice", "wrong"}, {"mallory", "alice-pw"}, {"alice", ""}} {
		r := s.as(try.user, try.password, "", "ls")
		if r.code != 4 || strings.TrimSpace(r.stderr) != "selectftp: authentication failed" || r.stdout != "" {
			t.Errorf("%s/%q: exit %d, stderr %q, stdout %q; want 4 and 'authentication failed'", try.user, try.password, r.code, r.stderr, r.stdout)
		}
		if i == 0 {
			first = r
		} else if r != first {
			t.Errorf("%s/%q answered %+v, unlike a wrong password's %+v", try.user, try.password, r, first)
		}
	}
	// No --user: the server says a login is needed, and nothing runs.
	if r := s.as("", "", "", "ls"); r.code != 4 || !strings.Contains(r.stderr, "requires a login") {
		t.Errorf("no --user: exit %d, stderr %q", r.code, r.stderr)
	}
	// No password source at all: a usage error, before any connection.
	cmd := exec.Command(bins.client, "--addr", s.addr, "--user", "alice", "ls")
	cmd.Env = []string{"PATH=" + os.Getenv("PATH")}
	cmd.Stdin = strings.NewReader("")
	if out, _ := cmd.CombinedOutput(); cmd.ProcessState.ExitCode() != 2 || !strings.Contains(string(out), "SELECTFTP_PASSWORD") {
		t.Errorf("--user without a password: exit %d, %q", cmd.ProcessState.ExitCode(), out)
	}
}

// SIGHUP reloads the users file: a user added later logs in, and a
// session opened before keeps working.
func TestE2ELoginReloadOnHUP(t *testing.T) {
	s, usersFile := startUsersServer(t)
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	c, err := client.Dial(ctx, s.addr, client.WithUser("alice", "alice-pw"))
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	if r := s.as("carol", "carol-pw", "", "ls"); r.code != 4 {
		t.Fatalf("carol before she exists: exit %d %s", r.code, r.stderr)
	}
	addUser(t, usersFile, "carol", "carol-pw")
	s.signal(syscall.SIGHUP)
	waitFor(t, "the reload", func() bool { return strings.Contains(s.logText(), "users file reloaded") })
	if r := s.as("carol", "carol-pw", "", "ls"); r.code != 0 {
		t.Errorf("carol after the reload: exit %d %s", r.code, r.stderr)
	}
	var out bytes.Buffer
	if _, err := c.Do(ctx, protocol.Request{Verb: "upper", Args: []string{"still", "here"}}, nil, &out); err != nil || out.String() != "STILL HERE\n" {
		t.Errorf("alice's session after the reload: %q %v", out.String(), err)
	}
}

// Without users on loopback the server serves anonymously and says so;
// on an address other hosts can reach it refuses to start without
// --insecure.
func TestE2EAnonymousAndInsecure(t *testing.T) {
	s := startServer(t, nil)
	if r := s.client("", "upper", "hi"); r.code != 0 || r.stdout != "HI\n" {
		t.Fatalf("anonymous upper: %d %q %s", r.code, r.stdout, r.stderr)
	}
	if !strings.Contains(s.logText(), "serving anonymously") {
		t.Errorf("the log does not say the server serves anonymously:\n%s", s.logText())
	}
	cmd := exec.Command(bins.server, "--listen", "0.0.0.0:0", "--root", t.TempDir(), "--plugins", "")
	done := make(chan struct{})
	var out []byte
	go func() { out, _ = cmd.CombinedOutput(); close(done) }()
	select {
	case <-done:
	case <-time.After(20 * time.Second):
		cmd.Process.Kill()
		<-done
		t.Fatal("selectftpd on 0.0.0.0 without --insecure started serving")
	}
	if cmd.ProcessState.ExitCode() == 0 || !strings.Contains(string(out), "refusing to listen on 0.0.0.0:0") ||
		!strings.Contains(string(out), "--insecure") {
		t.Errorf("0.0.0.0 without --insecure: exit %d, %q", cmd.ProcessState.ExitCode(), out)
	}
}
