package plugins

import (
	"bytes"
	"context"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"syscall"
	"testing"

	"github.com/hashicorp/go-hclog"
)

// nobody is a uid that is neither root nor the tests' user.
const nobody = 65534

// logBuf is a logger whose lines a test can read.
type logBuf struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (l *logBuf) Write(p []byte) (int, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.b.Write(p)
}

func (l *logBuf) String() string {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.b.String()
}

func testManager(dir string) (*Manager, *logBuf) {
	lb := &logBuf{}
	return New(Config{Dir: dir, Logger: hclog.New(&hclog.LoggerOptions{Output: lb, Level: hclog.Debug})}), lb
}

// discovered lists the names discover accepts, closing what it opened.
func discovered(t *testing.T, m *Manager) []string {
	t.Helper()
	found, err := m.discover()
	if err != nil {
		t.Fatalf("discover: %v", err)
	}
	var got []string
	for path, c := range found {
		c.f.Close()
		got = append(got, filepath.Base(path))
	}
	slices.Sort(got)
	return got
}

func writeFile(t *testing.T, path, content string, mode os.FileMode) {
	t.Helper()
	if err := os.WriteFile(path, []byte(content), 0o600); err != nil {
		t.Fatal(err)
	}
	if err := os.Chmod(path, mode); err != nil { // not subject to umask
		t.Fatal(err)
	}
}

// fakeELF is content that passes the checks (it is never run).
const fakeELF = "\x7fELF not really"

func TestDiscoverRefusesUnsafeFiles(t *testing.T) {
	dir := t.TempDir()
	write := func(name string, mode os.FileMode) { writeFile(t, filepath.Join(dir, name), fakeELF, mode) }
	write("good", 0o755)
	write("owner-only", 0o700)
	write("world-writable", 0o757)
	write("group-writable", 0o775)
	write("not-executable", 0o644)
	write(".hidden", 0o755)
	write("foreign", 0o755)
	if err := os.Chown(filepath.Join(dir, "foreign"), nobody, nobody); err != nil {
		t.Fatal(err)
	}
	writeFile(t, filepath.Join(dir, "script"), "#!/bin/sh\n", 0o755)
	os.Symlink(filepath.Join(dir, "good"), filepath.Join(dir, "link"))
	os.Mkdir(filepath.Join(dir, "folder"), 0o755)
	// A FIFO must neither block the scan nor be taken for a plugin.
	if err := syscall.Mkfifo(filepath.Join(dir, "fifo"), 0o755); err != nil {
		t.Fatal(err)
	}

	m, log := testManager(dir)
	// A script passes the checks and then fails to start (see
	// TestScriptPluginDoesNotRun).
	if got, want := discovered(t, m), []string{"good", "owner-only", "script"}; !slices.Equal(got, want) {
		t.Fatalf("discovered %v, want %v", got, want)
	}
	for _, want := range []string{"link is a symbolic link", "foreign is owned by uid 65534",
		"group-writable is writable by group"} {
		if !strings.Contains(log.String(), want) {
			t.Errorf("log does not say %q:\n%s", want, log)
		}
	}
	// Said once, not at every rescan.
	before := strings.Count(log.String(), "plugin refused")
	discovered(t, m)
	if after := strings.Count(log.String(), "plugin refused"); after != before {
		t.Errorf("a rescan repeated the refusals (%d lines, then %d)", before, after)
	}
}

func TestDiscoverMissingFolder(t *testing.T) {
	m, _ := testManager(filepath.Join(t.TempDir(), "nope"))
	found, err := m.discover()
	if len(found) != 0 || err == nil {
		t.Fatalf("discovered %v, %v in a missing folder", found, err)
	}
}

// TestFolderChain checks the folders from / down to the plugins folder, as
// OpenSSH's StrictModes does.
func TestFolderChain(t *testing.T) {
	cases := []struct {
		name string
		// set up base/a/plugins: modes and owners of a and plugins
		aMode, pMode   os.FileMode
		aUID, pUID     int
		wantErr        string // "" means accepted
		wantErrMention string
	}{
		{"plain", 0o755, 0o755, 0, 0, "", ""},
		{"group-writable plugins folder", 0o755, 0o775, 0, 0, "writable by group or others", "plugins"},
		{"other-writable folder on the way", 0o757, 0o755, 0, 0, "writable by group or others", "/a"},
		{"foreign-owned folder on the way", 0o755, 0o755, nobody, 0, "owned by uid 65534", "/a"},
		{"foreign-owned plugins folder", 0o755, 0o755, 0, nobody, "owned by uid 65534", "plugins"},
		{"sticky world-writable folder on the way (like /tmp)", 0o777 | os.ModeSticky, 0o755, 0, 0, "", ""},
		{"sticky folder, foreign entry below it", 0o777 | os.ModeSticky, 0o755, 0, nobody, "owned by uid 65534", "plugins"},
		{"sticky plugins folder itself", 0o755, 0o777 | os.ModeSticky, 0, 0, "writable by group or others", "plugins"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			a := filepath.Join(t.TempDir(), "a")
			plugins := filepath.Join(a, "plugins")
			if err := os.MkdirAll(plugins, 0o700); err != nil {
				t.Fatal(err)
			}
			writeFile(t, filepath.Join(plugins, "good"), fakeELF, 0o755)
			for _, d := range []struct {
				path string
				mode os.FileMode
				uid  int
			}{{a, c.aMode, c.aUID}, {plugins, c.pMode, c.pUID}} {
				if err := os.Chmod(d.path, d.mode); err != nil {
					t.Fatal(err)
				}
				if err := os.Chown(d.path, d.uid, d.uid); err != nil {
					t.Fatal(err)
				}
			}
			m, log := testManager(plugins)
			found, err := m.discover()
			for _, f := range found {
				f.f.Close()
			}
			if c.wantErr == "" {
				if err != nil || len(found) != 1 {
					t.Fatalf("refused a safe chain: %v (found %d)", err, len(found))
				}
				return
			}
			if err == nil || !strings.Contains(err.Error(), c.wantErr) || !strings.Contains(err.Error(), c.wantErrMention) {
				t.Fatalf("error %v, want one saying %q about %q", err, c.wantErr, c.wantErrMention)
			}
			if len(found) != 0 {
				t.Fatalf("loaded %d plugins from a refused folder", len(found))
			}
			if !strings.Contains(log.String(), "plugins folder refused") {
				t.Fatalf("refusal not logged:\n%s", log)
			}
			if err := m.Scan(context.Background()); err == nil {
				t.Fatal("Scan of a refused folder returned no error")
			}
		})
	}
}

// A symlink to a trusted folder is resolved, and the real chain checked.
func TestFolderThroughSymlinkChecksTarget(t *testing.T) {
	base := t.TempDir()
	real := filepath.Join(base, "real")
	os.Mkdir(real, 0o777)
	os.Chmod(real, 0o777)
	os.Symlink(real, filepath.Join(base, "link"))
	m, _ := testManager(filepath.Join(base, "link"))
	if _, err := m.discover(); err == nil || !strings.Contains(err.Error(), "writable") {
		t.Fatalf("a link to a world-writable folder gave %v", err)
	}
}

func TestIdentifySeesReplacement(t *testing.T) {
	dir := t.TempDir()
	p := filepath.Join(dir, "x")
	writeFile(t, p, fakeELF+"1", 0o755)
	m, _ := testManager(dir)
	open := func() fileID {
		f, id, err := m.reopen(p)
		if err != nil {
			t.Fatal(err)
		}
		f.Close()
		return id
	}
	before := open()
	tmp := filepath.Join(dir, ".x")
	writeFile(t, tmp, fakeELF+"2", 0o755)
	os.Rename(tmp, p) // same size, new inode: still a new binary
	if open() == before {
		t.Fatal("an atomically replaced binary looks unchanged")
	}
	before = open()
	os.Chmod(p, 0o700)
	if open() == before {
		t.Fatal("a re-permissioned binary looks unchanged")
	}
}
