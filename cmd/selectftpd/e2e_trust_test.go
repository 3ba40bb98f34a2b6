package main

import (
	"bytes"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"
)

// An attacker's symlink in the plugins folder, retargeted in a loop between
// a trusted binary and a script (and the target itself swapped under it),
// never runs the script and is refused in the log; real plugins keep
// working meanwhile.
func TestSymlinkedPluginSwapNeverRuns(t *testing.T) {
	s := startServer(t, nil, "upper")
	marker := filepath.Join(t.TempDir(), "marker")
	attacker := t.TempDir()
	elf := filepath.Join(attacker, "elf")
	script := filepath.Join(attacker, "script")
	target := filepath.Join(attacker, "target")
	b, err := os.ReadFile(bins.plugins["upper"])
	if err != nil {
		t.Fatal(err)
	}
	// Both pass the old check by path: regular, executable, our owner.
	if err := os.WriteFile(elf, b, 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(script, []byte("#!/bin/sh\necho pwned >> "+marker+"\n"), 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.Link(elf, target); err != nil {
		t.Fatal(err)
	}
	evil := filepath.Join(s.plugins, "evil")
	if err := os.Symlink(target, evil); err != nil {
		t.Fatal(err)
	}
	os.Lchown(evil, 65534, 65534) // another user's link

	// The attacker: bounded in swaps and time.
	const maxSwaps = 20000
	deadline := time.Now().Add(4 * time.Second)
	swaps := 0
	for ; swaps < maxSwaps && time.Now().Before(deadline); swaps++ {
		src, link := elf, elf
		if swaps%2 == 1 {
			src, link = script, script
		}
		// Swap the file behind the link...
		tmp := target + ".tmp"
		os.Remove(tmp)
		if err := os.Link(src, tmp); err != nil {
			t.Fatal(err)
		}
		if err := os.Rename(tmp, target); err != nil {
			t.Fatal(err)
		}
		// ...and the link itself (hidden names are not scanned).
		ltmp := filepath.Join(s.plugins, ".evil.tmp")
		os.Remove(ltmp)
		if err := os.Symlink(link, ltmp); err != nil {
			t.Fatal(err)
		}
		if err := os.Rename(ltmp, evil); err != nil {
			t.Fatal(err)
		}
		if swaps%500 == 0 {
			if r := s.client("", "upper", "still"); r.stdout != "STILL\n" {
				t.Fatalf("a real plugin during the attack: %+v", r)
			}
		}
	}
	t.Logf("%d swaps in %v", swaps, 4*time.Second-time.Until(deadline))
	// Watch a few more rescans (200ms each) act on the last state.
	for end := time.Now().Add(time.Second); time.Now().Before(end); time.Sleep(50 * time.Millisecond) {
		if b, err := os.ReadFile(marker); err == nil {
			t.Fatalf("the attacker's script ran as the server's user (%d times)", bytes.Count(b, []byte("pwned")))
		}
	}
	log := s.logText()
	if !strings.Contains(log, "plugin refused") || !strings.Contains(log, "symbolic link") {
		t.Fatalf("the refusal is not logged")
	}
	for _, line := range strings.Split(log, "\n") {
		if strings.Contains(line, "plugin loaded") && strings.Contains(line, evil) {
			t.Fatalf("the symlinked plugin was loaded: %s", line)
		}
	}
}

// A SIGSTOPped put plugin no longer hangs its upload: the health check
// kills it (after three missed pings, so one missed by a busy plugin is
// forgiven), the client is told "unavailable", the stopped process does not
// linger, and the next put runs on a new process.
func TestStoppedPutPluginIsReplaced(t *testing.T) {
	s := startServer(t, nil, "put", "upper")
	dir := t.TempDir()
	writeBig(t, filepath.Join(dir, "big"), 64<<20, 6)
	cmd := s.startClient(dir, "put", "big", "big.bin")
	s.waitUploadStaged()
	pid := s.pluginPID("put")
	if err := syscall.Kill(pid, syscall.SIGSTOP); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { syscall.Kill(pid, syscall.SIGKILL) }) // never leave it behind
	start := time.Now()
	done := make(chan error, 1)
	go func() { done <- cmd.Wait() }()
	// The defaults: a ping every 5s, each answered within 3s, killed after
	// three misses in a row, the 2nd and 3rd 1s after the one before: the
	// kill comes 11 to 16s after the stop.
	select {
	case err := <-done:
		if err == nil {
			t.Fatal("the upload succeeded although its plugin was stopped")
		}
	case <-time.After(30 * time.Second):
		t.Fatal("the upload to a stopped plugin hung for 30s")
	}
	took := time.Since(start)
	if msg := cmd.Stderr.(*bytes.Buffer).String(); !strings.Contains(msg, "unavailable") {
		t.Fatalf("client error %q does not say the plugin is unavailable", msg)
	}
	t.Logf("the upload to the stopped plugin failed after %v", took)
	if took > 20*time.Second {
		t.Errorf("the stopped plugin was found after %v; the defaults promise 16s", took)
	}
	waitFor(t, "the stopped plugin process to be gone", func() bool {
		_, err := os.Stat("/proc/" + strconv.Itoa(pid))
		return err != nil || !slices.Contains(s.pluginPIDs(), pid)
	})
	if !strings.Contains(s.logText(), "stopped answering its health check") {
		t.Error("the kill is not logged")
	}
	writeRandom(t, filepath.Join(dir, "small"), 1000, 7)
	if r := s.clientIn(dir, "", "put", "small", "small.bin"); r.code != 0 {
		t.Fatalf("put after the stopped plugin was replaced: %+v", r)
	}
	if p := s.pluginPID("put"); p == pid {
		t.Fatal("the later put ran on the stopped process")
	}
}
