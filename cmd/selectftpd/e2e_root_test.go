package main

import (
	"os"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"
)

// The root moved away and a symlink to another folder put at its path: a
// restarted get plugin still serves the tree the server opened, and nothing
// of the folder the old path names now. Plugins get the root as the host's
// open directory, never as a path to open again.
func TestRootReplacedBySymlink(t *testing.T) {
	s := startServer(t, nil, "get")
	if err := os.WriteFile(filepath.Join(s.root, "kept.txt"), []byte("kept\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	if r := s.client("", "get", "kept.txt", "-"); r.code != 0 || r.stdout != "kept\n" {
		t.Fatalf("get before the swap: %+v", r)
	}
	outside := t.TempDir()
	if err := os.WriteFile(filepath.Join(outside, "secret.txt"), []byte("secret\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	if err := os.Rename(s.root, s.root+".moved"); err != nil {
		t.Fatal(err)
	}
	if err := os.Symlink(outside, s.root); err != nil {
		t.Fatal(err)
	}
	old := s.pluginPID("get")
	if err := syscall.Kill(old, syscall.SIGKILL); err != nil {
		t.Fatal(err)
	}
	// A request may still reach the dying process and fail unavailable;
	// the next one starts a new process. Any other answer is final.
	var r result
	deadline := time.Now().Add(20 * time.Second)
	for {
		r = s.client("", "get", "kept.txt", "-")
		if !strings.Contains(r.stderr, "unavailable") || time.Now().After(deadline) {
			break
		}
	}
	if r.code != 0 || r.stdout != "kept\n" {
		t.Fatalf("get kept.txt after the restart: %+v; want the original tree's file", r)
	}
	if pid := s.pluginPID("get"); pid == old {
		t.Fatalf("the get plugin (pid %d) was not restarted", pid)
	}
	r = s.client("", "get", "secret.txt", "-")
	if r.code == 0 || strings.Contains(r.stdout, "secret") || !strings.Contains(r.stderr, "not_found") {
		t.Fatalf("get secret.txt: %+v; want not_found, not the folder behind the old path", r)
	}
}
