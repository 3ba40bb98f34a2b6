package plugins

import (
	"os"
	"path/filepath"
	"slices"
	"testing"
)

func TestDiscoverRefusesUnsafeFiles(t *testing.T) {
	dir := t.TempDir()
	write := func(name string, mode os.FileMode) {
		p := filepath.Join(dir, name)
		if err := os.WriteFile(p, []byte("#!/bin/sh\n"), 0o600); err != nil {
			t.Fatal(err)
		}
		if err := os.Chmod(p, mode); err != nil { // not subject to umask
			t.Fatal(err)
		}
	}
	write("good", 0o755)
	write("owner-only", 0o700)
	write("world-writable", 0o757)
	write("group-writable", 0o775)
	write("not-executable", 0o644)
	write(".hidden", 0o755)
	os.Mkdir(filepath.Join(dir, "folder"), 0o755)

	m := New(Config{Dir: dir})
	var got []string
	for path := range m.discover() {
		got = append(got, filepath.Base(path))
	}
	slices.Sort(got)
	if want := []string{"good", "owner-only"}; !slices.Equal(got, want) {
		t.Fatalf("discovered %v, want %v", got, want)
	}
}

func TestDiscoverMissingFolder(t *testing.T) {
	m := New(Config{Dir: filepath.Join(t.TempDir(), "nope")})
	if got := m.discover(); len(got) != 0 {
		t.Fatalf("discovered %v in a missing folder", got)
	}
}

func TestIdentifySeesReplacement(t *testing.T) {
	dir := t.TempDir()
	p := filepath.Join(dir, "x")
	os.WriteFile(p, []byte("one"), 0o755)
	fi, _ := os.Stat(p)
	before := identify(fi)
	tmp := filepath.Join(dir, ".x")
	os.WriteFile(tmp, []byte("two"), 0o755)
	os.Rename(tmp, p) // same size, new inode: still a new binary
	fi, _ = os.Stat(p)
	if identify(fi) == before {
		t.Fatal("an atomically replaced binary looks unchanged")
	}
}
