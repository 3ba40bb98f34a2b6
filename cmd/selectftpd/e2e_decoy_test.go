package main

import (
	"bufio"
	"bytes"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/selectftp/selectftp/host/auth"
	"github.com/selectftp/selectftp/host/users"
)

// TestE2EDecoyKeyKept: selectftpd --users makes a 0600 decoy key beside
// the users file at its first start and reads the same one at the next,
// so unknown names keep their decoy salts across restarts as real
// accounts keep theirs (finding 5; host's TestLoginDecoyKeyKeepsSalts
// shows the salts follow the key).
func TestE2EDecoyKeyKept(t *testing.T) {
	_, usersFile := startUsersServer(t)
	keyFile := users.DecoyKeyPath(usersFile)
	first, err := os.ReadFile(keyFile)
	if err != nil {
		t.Fatalf("no decoy key beside the users file after a start: %v", err)
	}
	st, _ := os.Stat(keyFile)
	if len(first) != auth.DecoyKeySize || st.Mode().Perm() != 0o600 {
		t.Fatalf("decoy key: %d bytes, mode %#o; want %d, 0600", len(first), st.Mode().Perm(), auth.DecoyKeySize)
	}
	startServer(t, []string{"--users", usersFile}, "ls")
	if again, _ := os.ReadFile(keyFile); !bytes.Equal(again, first) {
		t.Fatal("a second start replaced the decoy key")
	}
}

// TestE2EDecoyKeyOthersMayRead: a decoy key others may read stops
// selectftpd at start with the reason, rather than serving with it.
func TestE2EDecoyKeyOthersMayRead(t *testing.T) {
	needBinaries(t)
	usersFile := filepath.Join(t.TempDir(), "users.json")
	addUser(t, usersFile, "alice", "alice-pw")
	keyFile := users.DecoyKeyPath(usersFile)
	if err := os.WriteFile(keyFile, make([]byte, auth.DecoyKeySize), 0o600); err != nil {
		t.Fatal(err)
	}
	os.Chmod(keyFile, 0o644)
	cmd := exec.Command(bins.server, "--listen", "127.0.0.1:0", "--root", t.TempDir(), "--plugins", t.TempDir(), "--users", usersFile)
	var stderr bytes.Buffer
	cmd.Stderr = &stderr
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	done := make(chan struct{})
	go func() { cmd.Wait(); close(done) }()
	select {
	case <-done:
	case <-time.After(30 * time.Second):
		cmd.Process.Kill()
		<-done
		t.Fatal("selectftpd served with a decoy key others may read")
	}
	if code := cmd.ProcessState.ExitCode(); code != 2 || !strings.Contains(stderr.String(), "chmod 600") {
		t.Fatalf("exit %d, stderr %q; want 2 and the reason", code, stderr.String())
	}
}

// TestE2EUserAddIterationsWarns: an account made with another count than
// the default is told apart from unknown names by it; user add says so.
func TestE2EUserAddIterationsWarns(t *testing.T) {
	needBinaries(t)
	cmd := exec.Command(bins.server, "user", "add", "--users", filepath.Join(t.TempDir(), "users.json"),
		"--iterations", "4096", "carol")
	cmd.Stdin = strings.NewReader("carol-pw\n")
	out, err := cmd.CombinedOutput()
	if err != nil || !strings.Contains(string(out), "warning: --iterations 4096") {
		t.Fatalf("user add --iterations 4096: %v\n%s", err, out)
	}
}

// serverExit runs selectftpd with args until it exits (30 s at most) and
// returns its exit code and what it wrote.
func serverExit(t *testing.T, args ...string) (int, string) {
	t.Helper()
	cmd := exec.Command(bins.server, append([]string{"--listen", "127.0.0.1:0", "--root", t.TempDir(), "--plugins", ""}, args...)...)
	var stderr bytes.Buffer
	cmd.Stderr = &stderr
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	done := make(chan struct{})
	go func() { cmd.Wait(); close(done) }()
	select {
	case <-done:
	case <-time.After(30 * time.Second):
		cmd.Process.Kill()
		<-done
		t.Fatalf("selectftpd %v started; want it refused:\n%s", args, stderr.String())
	}
	return cmd.ProcessState.ExitCode(), stderr.String()
}

// TestE2EDecoyKeyFlag: --decoy-key names a key kept elsewhere, as a
// Kubernetes Secret mounts it (a symlink to a 0400 file in a folder the
// server cannot write); it is used and nothing is made beside the users
// file. A Secret's default mode 0644 stops the start with the fix, and so
// does --decoy-key without --users.
func TestE2EDecoyKeyFlag(t *testing.T) {
	needBinaries(t)
	usersFile := filepath.Join(t.TempDir(), "users.json")
	addUser(t, usersFile, "alice", "alice-pw")
	secret := t.TempDir()
	target := filepath.Join(secret, "..data")
	if err := os.WriteFile(target, bytes.Repeat([]byte{1}, auth.DecoyKeySize), 0o400); err != nil {
		t.Fatal(err)
	}
	link := filepath.Join(secret, "decoy-key")
	if err := os.Symlink(target, link); err != nil {
		t.Fatal(err)
	}
	s := startServer(t, []string{"--users", usersFile, "--decoy-key", link}, "ls")
	if r := s.as("alice", "alice-pw", t.TempDir(), "ls"); r.code != 0 {
		t.Fatalf("alice's ls with --decoy-key: %+v", r)
	}
	if _, err := os.Lstat(users.DecoyKeyPath(usersFile)); err == nil {
		t.Fatal("a key was made beside the users file although --decoy-key named one")
	}

	os.Chmod(target, 0o644)
	if code, out := serverExit(t, "--users", usersFile, "--decoy-key", link); code != 2 ||
		!strings.Contains(out, "--decoy-key") || !strings.Contains(out, "defaultMode 0400") {
		t.Fatalf("a 0644 key: exit %d, %q; want 2 and the fix", code, out)
	}
	if code, out := serverExit(t, "--decoy-key", link); code != 2 || !strings.Contains(out, "needs --users") {
		t.Fatalf("--decoy-key without --users: exit %d, %q; want 2 and why", code, out)
	}
}

// TestE2EDecoyKeyReadOnlyFolder: a users file in a folder the server
// cannot write, with no key beside it, no longer stops the start: the
// server warns and serves with a key per process (as root, it runs as
// nobody, for whom the folder is read-only).
func TestE2EDecoyKeyReadOnlyFolder(t *testing.T) {
	needBinaries(t)
	base, err := os.MkdirTemp("", "selectftp-decoy-ro-")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { os.Chmod(base+"/etc", 0o755); os.RemoveAll(base) })
	etc, data := filepath.Join(base, "etc"), filepath.Join(base, "data")
	for _, d := range []string{etc, data} {
		if err := os.Mkdir(d, 0o755); err != nil {
			t.Fatal(err)
		}
	}
	os.Chmod(base, 0o755)
	os.Chmod(data, 0o777)
	usersFile := filepath.Join(etc, "users.json")
	addUser(t, usersFile, "alice", "alice-pw")
	os.Chmod(usersFile, 0o644)
	server := bins.server
	var cred *syscall.Credential
	if os.Geteuid() == 0 {
		// nobody must be able to run a copy of the binary.
		server = filepath.Join(base, "selectftpd")
		b, err := os.ReadFile(bins.server)
		if err == nil {
			err = os.WriteFile(server, b, 0o755)
		}
		if err != nil {
			t.Fatal(err)
		}
		cred = &syscall.Credential{Uid: 65534, Gid: 65534}
	} else {
		os.Chmod(etc, 0o555)
	}
	cmd := exec.Command(server, "--listen", "127.0.0.1:0", "--root", data, "--plugins", "",
		"--log-format", "json", "--users", usersFile)
	cmd.SysProcAttr = &syscall.SysProcAttr{Credential: cred}
	stderr, err := cmd.StderrPipe()
	if err != nil {
		t.Fatal(err)
	}
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	var log bytes.Buffer
	serving := make(chan bool, 1)
	go func() {
		sc := bufio.NewScanner(stderr)
		for sc.Scan() {
			log.WriteString(sc.Text() + "\n")
			if strings.Contains(sc.Text(), `"@message":"serving"`) {
				serving <- true
				return
			}
		}
		serving <- false
	}()
	defer func() { cmd.Process.Kill(); cmd.Wait() }()
	select {
	case ok := <-serving:
		if !ok {
			t.Fatalf("selectftpd did not start with a read-only users folder:\n%s", log.String())
		}
	case <-time.After(60 * time.Second):
		t.Fatal("selectftpd did not start in 60 s")
	}
	if !strings.Contains(log.String(), "decoy key for this process only") {
		t.Fatalf("no warning about the per-process decoy key:\n%s", log.String())
	}
	if _, err := os.Lstat(users.DecoyKeyPath(usersFile)); err == nil {
		t.Fatal("a key appeared in the read-only folder")
	}
}
