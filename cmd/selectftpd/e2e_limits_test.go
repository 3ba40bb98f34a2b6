package main

// End-to-end tests of per-user limits (issue 10): users made with
// `selectftpd user add --quota-bytes ...`, the real server, put plugin
// and CLI.

import (
	"context"
	"errors"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/selectftp/selectftp/client"
	"github.com/selectftp/selectftp/protocol"
)

// addLimitedUser is addUser with limit flags.
func addLimitedUser(t *testing.T, usersFile, name, password string, flags ...string) {
	t.Helper()
	args := append([]string{"user", "add", "--users", usersFile, "--iterations", "4096", name}, flags...)
	cmd := exec.Command(bins.server, args...)
	cmd.Stdin = strings.NewReader(password + "\n")
	if out, err := cmd.CombinedOutput(); err != nil {
		t.Fatalf("user add %s %v: %v\n%s", name, flags, err, out)
	}
}

type zeroReader struct{}

func (zeroReader) Read(p []byte) (int, error) { clear(p); return len(p), nil }

// A quota exceeded mid-upload keeps nothing (not under the name, not as a
// hidden partial, even for a resumable put); a declared size that cannot
// fit is refused before the body with exit 4; what fits is stored; the
// largest file and the connections per user hold too.
func TestE2ELimits(t *testing.T) {
	needBinaries(t)
	usersFile := filepath.Join(t.TempDir(), "users.json")
	addLimitedUser(t, usersFile, "alice", "alice-pw", "--quota-bytes", "1M", "--quota-files", "2")
	addLimitedUser(t, usersFile, "bob", "bob-pw", "--max-file-size", "64K", "--max-conns", "1")
	s := startServer(t, []string{"--users", usersFile}, verbs...)
	aliceDir := filepath.Join(s.root, "alice")

	// A stream (no size declared) through the real put plugin, resumable:
	// the host stops it where it crosses the quota.
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()
	c, err := client.Dial(ctx, s.addr, client.WithUser("alice", "alice-pw"))
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	q := protocol.Request{Verb: "put", Params: map[string]any{"path": "big", "resume": true}}
	_, err = c.Do(ctx, q, io.LimitReader(zeroReader{}, 3<<20), nil)
	var se *protocol.StatusError
	if !errors.As(err, &se) || se.Code != protocol.CodeQuotaExceeded {
		t.Fatalf("a 3 MiB stream into a 1 MiB quota: %v, want quota_exceeded", err)
	}
	if names := listFiles(t, aliceDir); len(names) != 0 {
		t.Fatalf("after the refused stream alice's folder holds %v, want nothing", names)
	}

	// The CLI: a file whose size cannot fit is refused at once, exit 4.
	local := t.TempDir()
	os.WriteFile(filepath.Join(local, "big.bin"), make([]byte, 2<<20), 0o600)
	os.WriteFile(filepath.Join(local, "small.bin"), make([]byte, 100<<10), 0o600)
	r := s.as("alice", "alice-pw", local, "put", "big.bin")
	if r.code != 4 || !strings.Contains(r.stderr, "quota") {
		t.Fatalf("put of 2 MiB into a 1 MiB quota: exit %d, %q; want 4 and a word of the quota", r.code, r.stderr)
	}
	for _, name := range []string{"a", "b"} {
		if r := s.as("alice", "alice-pw", local, "put", "small.bin", name); r.code != 0 {
			t.Fatalf("put small.bin %s: exit %d %s", name, r.code, r.stderr)
		}
	}
	// Two files is her file quota.
	if r := s.as("alice", "alice-pw", local, "put", "small.bin", "c"); r.code != 4 || !strings.Contains(r.stderr, "files") {
		t.Fatalf("a third file over a quota of 2: exit %d, %q", r.code, r.stderr)
	}
	if names := strings.Join(listFiles(t, aliceDir), " "); names != "a b" {
		t.Fatalf("alice's folder holds %q, want a b", names)
	}

	// bob's largest file is 64 KiB.
	if r := s.as("bob", "bob-pw", local, "put", "small.bin"); r.code != 4 || !strings.Contains(r.stderr, "largest file") {
		t.Fatalf("bob's 100 KiB put over 64 KiB: exit %d, %q", r.code, r.stderr)
	}
	if names := listFiles(t, filepath.Join(s.root, "bob")); len(names) != 0 {
		t.Fatalf("bob's folder holds %v", names)
	}
	// ... and his one connection is taken while this one lives.
	b1, err := client.Dial(ctx, s.addr, client.WithUser("bob", "bob-pw"))
	if err != nil {
		t.Fatal(err)
	}
	defer b1.Close()
	if r := s.as("bob", "bob-pw", local, "ls"); r.code == 0 || !strings.Contains(r.stderr, "connections") {
		t.Fatalf("bob's second connection: exit %d, %q; want a refusal naming connections", r.code, r.stderr)
	}
}
