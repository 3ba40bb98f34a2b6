package plugins

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/selectftp/selectftp/sdk"
	"github.com/selectftp/selectftp/sdk/sdktest"
)

// buildUpper returns a new plugins folder holding the real "upper" plugin,
// copied from the build the test binary makes once (upperBuilds).
func buildUpper(t *testing.T) string {
	t.Helper()
	plain, _ := upperBuilds(t)
	dir := t.TempDir()
	install(t, plain, filepath.Join(dir, "upper"), 0o755)
	return dir
}

// watchedUpper starts a manager on a folder holding upper, pinging it every
// interval with the given timeout, and returns its process; the manager
// stops with the test.
func watchedUpper(t *testing.T, interval, timeout time.Duration) (*proc, sdk.Command, *logBuf) {
	t.Helper()
	m, log := testManager(buildUpper(t))
	m.cfg.HealthInterval, m.cfg.HealthTimeout = interval, timeout
	var cmd sdk.Command
	m.cfg.Register = func(c sdk.Command, _ string) error { cmd = c; return nil }
	m.cfg.Unregister = func(string, string) {}
	if err := m.Scan(context.Background()); err != nil || cmd == nil {
		t.Fatalf("scan: %v, %v\n%s", err, cmd, log)
	}
	t.Cleanup(m.Close)
	return cmd.(*proc), cmd, log
}

// gone tells whether pid has exited and been reaped (or is a zombie).
func gone(pid int) bool {
	st, err := os.ReadFile(fmt.Sprintf("/proc/%d/stat", pid))
	if err != nil {
		return true
	}
	f := strings.Fields(string(st))
	return len(f) > 2 && f[2] == "Z"
}

func poll(t *testing.T, what string, d time.Duration, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(d)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("timed out after %v waiting for %s", d, what)
		}
		time.Sleep(10 * time.Millisecond)
	}
}

// A stopped plugin process (SIGSTOP) is found by its health check, killed,
// and its request fails with "unavailable" instead of hanging; the next
// request runs on a new process.
func TestStoppedPluginIsKilledAndReplaced(t *testing.T) {
	// A timeout a healthy ping meets even under -race on a loaded machine:
	// at 200 ms, CI once killed the healthy plugin before the SIGSTOP, and
	// the request ran on its replacement.
	p, cmd, log := watchedUpper(t, 100*time.Millisecond, time.Second)
	if r := sdktest.Run(t, cmd, sdktest.Request{Args: []string{"a"}}); string(r.Body) != "A\n" {
		t.Fatalf("before: %+v", r)
	}
	p.mu.Lock()
	pid := p.cur.cmd.Process.Pid
	p.mu.Unlock()
	if err := syscall.Kill(pid, syscall.SIGSTOP); err != nil {
		t.Fatal(err)
	}
	defer syscall.Kill(pid, syscall.SIGKILL) // never leave it behind

	start := time.Now()
	res := make(chan sdktest.Result, 1)
	go func() { res <- sdktest.Run(t, cmd, sdktest.Request{Args: []string{"b"}}) }()
	select {
	case r := <-res:
		if r.Code != sdk.CodeUnavailable {
			t.Fatalf("request to the stopped plugin: %+v, want unavailable", r)
		}
		t.Logf("the request to the stopped plugin failed after %v: %s", time.Since(start), r.Message)
	case <-time.After(10 * time.Second):
		t.Fatal("the request to a stopped plugin hung for 10s")
	}
	poll(t, "the stopped process to be gone", 10*time.Second, func() bool { return gone(pid) })
	if !strings.Contains(log.String(), "stopped answering its health check") {
		t.Errorf("the kill is not logged:\n%s", log)
	}
	if r := sdktest.Run(t, cmd, sdktest.Request{Args: []string{"c"}}); string(r.Body) != "C\n" {
		t.Fatalf("after: %+v", r)
	}
	p.mu.Lock()
	if p.cur == nil || p.cur.cmd.Process.Pid == pid {
		t.Error("the later request did not run on a new process")
	}
	p.mu.Unlock()
}

// A plugin that misses one health ping (stopped for a moment, as a GC
// pause or an fsync on a loaded machine would) is not killed; one that
// keeps not answering is, after HealthFailures misses in a row.
func TestOneMissedPingIsForgiven(t *testing.T) {
	// A long timeout: a healthy ping under -race on a busy machine must
	// not miss by itself.
	p, cmd, log := watchedUpper(t, 100*time.Millisecond, time.Second)
	p.mu.Lock()
	pid := p.cur.cmd.Process.Pid
	p.mu.Unlock()
	defer syscall.Kill(pid, syscall.SIGKILL) // never leave it behind

	// Stopped just long enough to miss one ping.
	if err := syscall.Kill(pid, syscall.SIGSTOP); err != nil {
		t.Fatal(err)
	}
	poll(t, "a missed ping", 10*time.Second, func() bool {
		return strings.Contains(log.String(), "missed a health check") || gone(pid)
	})
	if err := syscall.Kill(pid, syscall.SIGCONT); err != nil {
		t.Fatal(err)
	}
	if gone(pid) {
		t.Fatalf("the plugin was killed for one missed ping:\n%s", log)
	}
	poll(t, "a ping answered after the miss", 10*time.Second, func() bool {
		return strings.Contains(log.String(), "answers its health check again") || gone(pid)
	})
	p.mu.Lock()
	same := p.cur != nil && p.cur.cmd.Process.Pid == pid
	p.mu.Unlock()
	if gone(pid) || !same || strings.Contains(log.String(), "stopped answering") {
		t.Fatalf("the plugin was killed for one missed ping:\n%s", log)
	}
	if r := sdktest.Run(t, cmd, sdktest.Request{Args: []string{"a"}}); string(r.Body) != "A\n" {
		t.Fatalf("after one missed ping: %+v", r)
	}

	// Stopped for good: killed after HealthFailures misses.
	before := strings.Count(log.String(), "missed a health check")
	if err := syscall.Kill(pid, syscall.SIGSTOP); err != nil {
		t.Fatal(err)
	}
	poll(t, "the stopped process to be gone", 15*time.Second, func() bool { return gone(pid) })
	if n := strings.Count(log.String(), "missed a health check") - before; n != p.m.cfg.HealthFailures-1 {
		t.Errorf("killed after %d logged misses, want %d before the kill:\n%s", n, p.m.cfg.HealthFailures-1, log)
	}
	if !strings.Contains(log.String(), "stopped answering its health check") {
		t.Errorf("the kill is not logged:\n%s", log)
	}
}
