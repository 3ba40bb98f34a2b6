package main

import (
	"bytes"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
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
