package main

import (
	"bytes"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

func TestHistoryPath(t *testing.T) {
	t.Setenv("XDG_STATE_HOME", "/st")
	t.Setenv("HOME", "/home/u")
	if p, _ := historyPath(); p != "/st/selectftp/history" {
		t.Errorf("with XDG_STATE_HOME: %q", p)
	}
	// A relative value is invalid by the XDG spec and ignored.
	t.Setenv("XDG_STATE_HOME", "rel")
	if p, _ := historyPath(); p != "/home/u/.local/state/selectftp/history" {
		t.Errorf("with a relative XDG_STATE_HOME: %q", p)
	}
	t.Setenv("XDG_STATE_HOME", "")
	if p, _ := historyPath(); p != "/home/u/.local/state/selectftp/history" {
		t.Errorf("without XDG_STATE_HOME: %q", p)
	}
}

// The file and its folder are private, lines survive to the next load,
// most recent first, and blank or repeated lines and quit are not kept.
func TestHistoryPersistsPrivately(t *testing.T) {
	path := filepath.Join(t.TempDir(), "state", "selectftp", "history")
	var warn bytes.Buffer
	h := loadHistory(path, historyMax, &warn)
	for _, l := range []string{"ls", "  ", "upper one", "upper one", "get a", "quit"} {
		h.Add(l)
	}
	if warn.Len() > 0 {
		t.Fatalf("warning: %s", warn.String())
	}
	for p, want := range map[string]os.FileMode{path: 0o600, filepath.Dir(path): 0o700} {
		fi, err := os.Stat(p)
		if err != nil || fi.Mode().Perm() != want {
			t.Errorf("%s: %v, %v; want mode %v", p, fi.Mode(), err, want)
		}
	}
	h2 := loadHistory(path, historyMax, &warn)
	if h2.Len() != 3 || h2.At(0) != "get a" || h2.At(1) != "upper one" || h2.At(2) != "ls" {
		t.Fatalf("reloaded history: %q", h2.lines)
	}
}

// The file never holds more than the bound: the oldest lines go.
func TestHistoryBounded(t *testing.T) {
	path := filepath.Join(t.TempDir(), "history")
	var warn bytes.Buffer
	h := loadHistory(path, historyMax, &warn)
	for i := range 2*historyMax + 5 {
		h.Add(fmt.Sprintf("cmd %d", i))
	}
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	lines := strings.Split(strings.TrimSuffix(string(b), "\n"), "\n")
	if len(lines) > historyMax || lines[len(lines)-1] != fmt.Sprintf("cmd %d", 2*historyMax+4) {
		t.Fatalf("%d lines on disk, last %q; want at most %d ending with the newest", len(lines), lines[len(lines)-1], historyMax)
	}
	if fi, err := os.Stat(path); err != nil || fi.Mode().Perm() != 0o600 {
		t.Fatalf("after compaction: %v %v", fi.Mode(), err)
	}
	if h.Len() != historyMax || h.At(0) != fmt.Sprintf("cmd %d", 2*historyMax+4) {
		t.Fatalf("in memory: %d lines, last %q", h.Len(), h.At(0))
	}
	// A file grown past the bound elsewhere is cut when loaded.
	var big strings.Builder
	for i := range historyMax + 10 {
		fmt.Fprintf(&big, "old %d\n", i)
	}
	if err := os.WriteFile(path, []byte(big.String()), 0o600); err != nil {
		t.Fatal(err)
	}
	h = loadHistory(path, historyMax, &warn)
	if h.Len() != historyMax || h.At(historyMax-1) != "old 10" {
		t.Fatalf("loaded %d lines, oldest %q", h.Len(), h.At(h.Len()-1))
	}
	h.Add("new")
	b, _ = os.ReadFile(path)
	if n := strings.Count(string(b), "\n"); n > historyMax {
		t.Fatalf("%d lines on disk after one more", n)
	}
	if warn.Len() > 0 {
		t.Fatalf("warning: %s", warn.String())
	}
}

// A history that cannot be written is one warning, once; the lines are
// still recalled in this session.
func TestHistoryUnwritableWarnsOnce(t *testing.T) {
	dir := t.TempDir()
	blocker := filepath.Join(dir, "file")
	if err := os.WriteFile(blocker, nil, 0o600); err != nil {
		t.Fatal(err)
	}
	var warn bytes.Buffer
	h := loadHistory(filepath.Join(blocker, "selectftp", "history"), historyMax, &warn)
	h.Add("one")
	h.Add("two")
	if strings.Count(warn.String(), "\n") != 1 || !strings.Contains(warn.String(), "warning: the history is not kept") {
		t.Fatalf("warnings: %q", warn.String())
	}
	if h.Len() != 2 || h.At(0) != "two" {
		t.Fatalf("in memory: %q", h.lines)
	}
}
