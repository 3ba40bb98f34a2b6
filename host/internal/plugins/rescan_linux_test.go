package plugins

import (
	"context"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"syscall"
	"testing"

	"golang.org/x/sys/unix"

	"github.com/selectftp/selectftp/sdk"
	"github.com/selectftp/selectftp/sdk/sdktest"
)

// failOpen makes openat fail with errno for names that match, as a
// connection flood (EMFILE, ENFILE) or memory pressure would, until the
// test ends or the returned func is called.
func failOpen(t *testing.T, match func(name string) bool, errno syscall.Errno) func() {
	real := openat
	openat = func(dirfd int, name string, flags int, mode uint32) (int, error) {
		if match(name) {
			return -1, errno
		}
		return real(dirfd, name, flags, mode)
	}
	restore := func() { openat = real }
	t.Cleanup(restore)
	return restore
}

// A rescan that cannot open the plugins folder or a plugin for a passing
// reason (out of descriptors, of memory) leaves the running plugins alone:
// no unregistering, no kill, requests keep being served. A file really
// removed still stops its plugin.
func TestPassingOpenErrorsKeepPluginsRunning(t *testing.T) {
	dir := buildUpper(t)
	m, log := testManager(dir)
	var mu sync.Mutex
	var cmd sdk.Command
	var unregistered []string
	m.cfg.Register = func(c sdk.Command, _ string) error { cmd = c; return nil }
	m.cfg.Unregister = func(verb, _ string) { mu.Lock(); unregistered = append(unregistered, verb); mu.Unlock() }
	if err := m.Scan(context.Background()); err != nil || cmd == nil {
		t.Fatalf("scan: %v, %v\n%s", err, cmd, log)
	}
	defer m.Close()
	p := cmd.(*proc)
	pid := func() int {
		p.mu.Lock()
		defer p.mu.Unlock()
		if p.cur == nil {
			return 0
		}
		return p.cur.cmd.Process.Pid
	}
	first := pid()

	cases := []struct {
		name    string
		match   func(string) bool
		errno   syscall.Errno
		wantErr bool // the folder itself failed: Scan says so
	}{
		{"plugin file, EMFILE", func(n string) bool { return n == "upper" }, unix.EMFILE, false},
		{"plugin file, EINTR", func(n string) bool { return n == "upper" }, unix.EINTR, false},
		{"the walk's first folder, ENFILE", func(n string) bool { return n == "/" }, unix.ENFILE, true},
		{"the plugins folder, ENOMEM", func(n string) bool { return n == filepath.Base(dir) }, unix.ENOMEM, true},
	}
	for _, c := range cases {
		restore := failOpen(t, c.match, c.errno)
		for range 3 { // several rescans while it lasts
			err := m.Scan(context.Background())
			if c.wantErr != (err != nil) {
				t.Fatalf("%s: Scan returned %v", c.name, err)
			}
		}
		restore()
		mu.Lock()
		gone := slices.Clone(unregistered)
		mu.Unlock()
		if len(gone) != 0 || !slices.Equal(m.Verbs(), []string{"upper"}) || pid() != first {
			t.Fatalf("%s: a passing open error stopped the plugin (unregistered %v, verbs %v, pid %d then %d)\n%s",
				c.name, gone, m.Verbs(), first, pid(), log)
		}
		if r := sdktest.Run(t, cmd, sdktest.Request{Args: []string{"a"}}); string(r.Body) != "A\n" {
			t.Fatalf("%s: a request after the rescans: %+v", c.name, r)
		}
		if n := strings.Count(log.String(), c.errno.Error()); n != 1 {
			t.Errorf("%s: the error is logged %d times over 3 rescans, want once:\n%s", c.name, n, log)
		}
	}
	if err := m.Scan(context.Background()); err != nil || pid() != first {
		t.Fatalf("the scan after the errors cleared: %v, pid %d then %d", err, first, pid())
	}

	// A file really gone still stops its plugin.
	if err := os.Remove(filepath.Join(dir, "upper")); err != nil {
		t.Fatal(err)
	}
	if err := m.Scan(context.Background()); err != nil {
		t.Fatal(err)
	}
	if len(m.Verbs()) != 0 || !slices.Equal(unregistered, []string{"upper"}) {
		t.Fatalf("a removed plugin kept running: verbs %v, unregistered %v", m.Verbs(), unregistered)
	}
}

// At start a folder that cannot be opened, even for a passing reason, is
// an error: the server refuses to start rather than serve no verbs.
func TestFirstScanReportsPassingFolderError(t *testing.T) {
	dir := t.TempDir()
	writeFile(t, filepath.Join(dir, "good"), fakeELF, 0o755)
	failOpen(t, func(n string) bool { return n == "/" }, unix.EMFILE)
	m, _ := testManager(dir)
	m.cfg.Register = func(sdk.Command, string) error { return nil }
	defer m.Close()
	if err := m.Scan(context.Background()); err == nil || !strings.Contains(err.Error(), "too many open files") {
		t.Fatalf("first scan with EMFILE on the folder returned %v", err)
	}
}
