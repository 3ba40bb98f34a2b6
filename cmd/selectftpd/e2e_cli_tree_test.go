package main

// End-to-end tests of the CLI's many-file transfers (issue 9): get -r and
// put -r, mget and mput, -P, -p and --limit-rate, the real selectftp
// against the real server.

import (
	"bytes"
	"crypto/rand"
	"fmt"
	"os"
	"path/filepath"
	"sort"
	"strings"
	"testing"
	"time"
)

// writeTree makes files (relative path -> content) under dir.
func writeTree(t *testing.T, dir string, files map[string]string) {
	t.Helper()
	for name, data := range files {
		p := filepath.Join(dir, filepath.FromSlash(name))
		if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(p, []byte(data), 0o644); err != nil {
			t.Fatal(err)
		}
	}
}

// readTree returns every regular file under dir, by slash path, and
// fails on anything else but folders (a symlink copied, say).
func readTree(t *testing.T, dir string) map[string]string {
	t.Helper()
	out := map[string]string{}
	err := filepath.WalkDir(dir, func(p string, d os.DirEntry, err error) error {
		if err != nil {
			return err
		}
		rel, _ := filepath.Rel(dir, p)
		switch {
		case d.IsDir():
		case d.Type().IsRegular():
			b, err := os.ReadFile(p)
			if err != nil {
				return err
			}
			out[filepath.ToSlash(rel)] = string(b)
		default:
			t.Errorf("%s: not a file or folder (%v)", rel, d.Type())
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	return out
}

func sameTree(t *testing.T, what string, got, want map[string]string) {
	t.Helper()
	if len(got) != len(want) {
		t.Fatalf("%s: %d files %v, want %d %v", what, len(got), keys(got), len(want), keys(want))
	}
	for k, v := range want {
		if got[k] != v {
			t.Fatalf("%s: %s differs (%d bytes, want %d)", what, k, len(got[k]), len(v))
		}
	}
}

func keys(m map[string]string) []string {
	var k []string
	for n := range m {
		k = append(k, n)
	}
	sort.Strings(k)
	return k
}

func randomText(n int) string {
	b := make([]byte, n)
	rand.Read(b)
	return string(b)
}

// TestCLITreeRecursive: put -r then get -r of nested folders bring back
// the same bytes, hidden files too; a symlink is skipped (never followed
// out of the tree); one bad file is reported, the others still arrive,
// and the exit status says something failed.
func TestCLITreeRecursive(t *testing.T) {
	s := startFileServer(t)
	work := t.TempDir()
	tree := map[string]string{
		"a.txt": "alpha", "sub/b.bin": randomText(300 << 10), "sub/deeper/c.txt": "gamma",
		"sub/deeper/.hidden": "h", "empty": "",
	}
	writeTree(t, filepath.Join(work, "src"), tree)
	os.MkdirAll(filepath.Join(work, "src", "void"), 0o755)
	secret := filepath.Join(t.TempDir(), "secret")
	os.WriteFile(secret, []byte("outside"), 0o644)
	if err := os.Symlink(secret, filepath.Join(work, "src", "sub", "link")); err != nil {
		t.Fatal(err)
	}
	s.check(t, work, cliCase{[]string{"-q", "put", "-r", "src"}, 0, "", "skipping"})
	sameTree(t, "put -r", readTree(t, filepath.Join(s.root, "src")), tree)
	if fi, err := os.Stat(filepath.Join(s.root, "src", "void")); err != nil || !fi.IsDir() {
		t.Fatalf("put -r: empty folder not made: %v", err)
	}
	// Into an existing remote folder, as cp -r: dest/src.
	s.check(t, work, cliCase{[]string{"mkdir", "dest"}, 0, "", ""})
	s.check(t, work, cliCase{[]string{"-q", "put", "-r", "src", "dest"}, 0, "", "skipping"})
	sameTree(t, "put -r into a folder", readTree(t, filepath.Join(s.root, "dest", "src")), tree)

	s.check(t, work, cliCase{[]string{"-q", "get", "-r", "src", "back"}, 0, "", ""})
	sameTree(t, "get -r", readTree(t, filepath.Join(work, "back")), tree)
	// A remote symlink is skipped with a note, not followed.
	if err := os.Symlink("../a.txt", filepath.Join(s.root, "src", "sub", "rlink")); err != nil {
		t.Fatal(err)
	}
	s.check(t, work, cliCase{[]string{"-q", "get", "-r", "/src", "again"}, 0, "", "skipping /src/sub/rlink"})
	sameTree(t, "get -r again", readTree(t, filepath.Join(work, "again")), tree)

	// A file the server refuses (a newline in its name) fails alone.
	bad := filepath.Join(work, "src", "sub", "bad\nname")
	os.WriteFile(bad, []byte("x"), 0o644)
	os.Remove(filepath.Join(work, "src", "sub", "link"))
	r := s.clientIn(work, "", "-q", "put", "-r", "src", "other")
	if r.code == 0 || !strings.Contains(r.stderr, "1 of 6 failed") {
		t.Fatalf("put -r with a bad name: exit %d, stderr %q", r.code, r.stderr)
	}
	sameTree(t, "put -r past a failure", readTree(t, filepath.Join(s.root, "other")), tree)
	s.check(t, work, cliCase{[]string{"get", "-r", "nothere"}, 3, "", "not_found"})
	s.check(t, work, cliCase{[]string{"put", "src"}, 2, "", "put -r"})
	s.check(t, work, cliCase{[]string{"get", "-x", "src"}, 2, "", "usage: get [-c] [-r] [-p]"})
}

// TestCLITreeGlobs: mput expands local globs, mget remote ones (on the
// server); a glob matching nothing is a clear error and a non-zero exit,
// while the other globs still transfer.
func TestCLITreeGlobs(t *testing.T) {
	s := startFileServer(t)
	work := t.TempDir()
	writeTree(t, work, map[string]string{"a.txt": "A", "b.txt": "B", "c.log": "C", "d.log": "D"})
	s.check(t, work, cliCase{[]string{"-q", "mput", "*.txt", "c.*"}, 0, "", ""})
	sameTree(t, "mput", readTree(t, s.root), map[string]string{"a.txt": "A", "b.txt": "B", "c.log": "C"})
	s.check(t, work, cliCase{[]string{"-q", "mput", "*.none"}, 1, "", "mput *.none: no local file matches"})
	r := s.clientIn(work, "", "-q", "mput", "*.none", "d.log")
	if r.code == 0 || !strings.Contains(r.stderr, "no local file matches") {
		t.Fatalf("mput with a glob matching nothing: exit %d, stderr %q", r.code, r.stderr)
	}
	if _, err := os.Stat(filepath.Join(s.root, "d.log")); err != nil {
		t.Fatalf("mput: the glob that matched was not sent: %v", err)
	}

	down := t.TempDir()
	s.check(t, down, cliCase{[]string{"-q", "mget", "*.txt"}, 0, "", ""})
	sameTree(t, "mget", readTree(t, down), map[string]string{"a.txt": "A", "b.txt": "B"})
	s.check(t, down, cliCase{[]string{"-q", "mget", "*.none"}, 3, "", "no match for *.none"})
	s.check(t, down, cliCase{[]string{"mget"}, 2, "", "usage: mget GLOB..."})
}

// TestCLITreeParallel: -P 8 over 100 small files, both ways, by -r and by
// mput/mget: every file arrives whole. (It does not check that the
// transfers overlapped in time.)
func TestCLITreeParallel(t *testing.T) {
	s := startFileServer(t)
	work := t.TempDir()
	tree := map[string]string{}
	for i := range 100 {
		tree[fmt.Sprintf("d%d/f%03d", i%4, i)] = randomText(1000 + i*37)
	}
	writeTree(t, filepath.Join(work, "many"), tree)
	s.check(t, work, cliCase{[]string{"-q", "-P", "8", "put", "-r", "many"}, 0, "", ""})
	sameTree(t, "put -r -P 8", readTree(t, filepath.Join(s.root, "many")), tree)
	s.check(t, work, cliCase{[]string{"-q", "-P", "8", "get", "-r", "many", "back"}, 0, "", ""})
	sameTree(t, "get -r -P 8", readTree(t, filepath.Join(work, "back")), tree)

	flat := t.TempDir()
	flatTree := map[string]string{}
	for i := range 100 {
		flatTree[fmt.Sprintf("g%03d.dat", i)] = randomText(500 + i)
	}
	writeTree(t, flat, flatTree)
	s.check(t, flat, cliCase{[]string{"-q", "-P", "8", "mkdir", "flat"}, 0, "", ""})
	s.check(t, flat, cliCase{[]string{"-q", "-P", "8", "-c", "cd flat; mput *.dat"}, 0, "", ""})
	sameTree(t, "mput -P 8", readTree(t, filepath.Join(s.root, "flat")), flatTree)
	down := t.TempDir()
	s.check(t, down, cliCase{[]string{"-q", "-P", "8", "mget", "flat/*.dat"}, 0, "", ""})
	sameTree(t, "mget -P 8", readTree(t, down), flatTree)
	s.check(t, down, cliCase{[]string{"-P", "0", "ls"}, 2, "", "-P 0"})
}

// TestCLITreePreserve: -p keeps modification time and permission bits on
// put (the server applies them) and on get; without -p neither is kept.
func TestCLITreePreserve(t *testing.T) {
	s := startFileServer(t)
	work := t.TempDir()
	mtime := time.Date(2020, 2, 3, 4, 5, 6, 789000000, time.UTC)
	writeTree(t, work, map[string]string{"keep.txt": "k", "tree/in.txt": "i"})
	for _, p := range []string{"keep.txt", "tree/in.txt"} {
		f := filepath.Join(work, p)
		os.Chmod(f, 0o751)
		os.Chtimes(f, mtime, mtime)
	}
	same := func(what, p string, mode os.FileMode, when time.Time) {
		t.Helper()
		fi, err := os.Stat(p)
		if err != nil {
			t.Fatal(err)
		}
		if fi.Mode().Perm() != mode || !fi.ModTime().Equal(when) {
			t.Fatalf("%s: mode %v mtime %v, want %v %v", what, fi.Mode().Perm(), fi.ModTime(), mode, when)
		}
	}
	s.check(t, work, cliCase{[]string{"-q", "put", "-p", "keep.txt"}, 0, "", ""})
	same("put -p", filepath.Join(s.root, "keep.txt"), 0o751, mtime)
	s.check(t, work, cliCase{[]string{"-q", "put", "-r", "-p", "tree"}, 0, "", ""})
	same("put -r -p", filepath.Join(s.root, "tree", "in.txt"), 0o751, mtime)
	s.check(t, work, cliCase{[]string{"-q", "put", "keep.txt", "plain.txt"}, 0, "", ""})
	if fi, _ := os.Stat(filepath.Join(s.root, "plain.txt")); fi.ModTime().Equal(mtime) {
		t.Fatal("put without -p kept the time")
	}

	remoteTime := time.Date(2019, 7, 8, 9, 10, 11, 0, time.UTC)
	for _, p := range []string{"keep.txt", "tree/in.txt"} {
		f := filepath.Join(s.root, p)
		os.Chmod(f, 0o604)
		os.Chtimes(f, remoteTime, remoteTime)
	}
	down := t.TempDir()
	s.check(t, down, cliCase{[]string{"-q", "get", "-p", "keep.txt"}, 0, "", ""})
	same("get -p", filepath.Join(down, "keep.txt"), 0o604, remoteTime)
	s.check(t, down, cliCase{[]string{"-q", "-P", "2", "get", "-rp", "tree"}, 0, "", ""})
	same("get -r -p", filepath.Join(down, "tree", "in.txt"), 0o604, remoteTime)
	s.check(t, down, cliCase{[]string{"-q", "get", "keep.txt", "plain"}, 0, "", ""})
	if fi, _ := os.Stat(filepath.Join(down, "plain")); fi.ModTime().Equal(remoteTime) {
		t.Fatal("get without -p kept the time")
	}
}

// TestCLITreeLimitRate: --limit-rate 2M makes a 4 MiB transfer take about
// 2 s each way (at least 1.5 s: the first burst is free). No upper bound:
// a loaded machine may be slower.
func TestCLITreeLimitRate(t *testing.T) {
	s := startFileServer(t)
	work := t.TempDir()
	data := randomText(4 << 20)
	writeTree(t, s.root, map[string]string{"big": data})
	writeTree(t, work, map[string]string{"up": data})
	for _, c := range [][]string{
		{"-q", "--limit-rate", "2M", "get", "big"},
		{"-q", "--limit-rate", "2M", "put", "up"},
	} {
		start := time.Now()
		s.check(t, work, cliCase{c, 0, "", ""})
		if el := time.Since(start); el < 1500*time.Millisecond {
			t.Fatalf("%v: 4 MiB in %v, want at least 1.5 s at 2 MiB/s", c, el)
		}
	}
	if got, _ := os.ReadFile(filepath.Join(work, "big")); !bytes.Equal(got, []byte(data)) {
		t.Fatal("get --limit-rate: bytes differ")
	}
	if got, _ := os.ReadFile(filepath.Join(s.root, "up")); !bytes.Equal(got, []byte(data)) {
		t.Fatal("put --limit-rate: bytes differ")
	}
	s.check(t, work, cliCase{[]string{"--limit-rate", "fast", "ls"}, 2, "", "--limit-rate"})
}
