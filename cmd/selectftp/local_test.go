package main

import (
	"bytes"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// chdir moves the test process into dir and back at the end; tests using
// it must not run in parallel.
func chdir(t *testing.T, dir string) {
	t.Helper()
	old, err := os.Getwd()
	if err != nil {
		t.Fatal(err)
	}
	if err := os.Chdir(dir); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { os.Chdir(old) })
}

func TestLocalCommands(t *testing.T) {
	dir := t.TempDir()
	chdir(t, dir)
	must := func(err error) {
		t.Helper()
		if err != nil {
			t.Fatal(err)
		}
	}
	must(os.Mkdir(filepath.Join(dir, "sub"), 0o755))
	must(os.WriteFile(filepath.Join(dir, "b.txt"), nil, 0o644))
	must(os.WriteFile(filepath.Join(dir, ".hid"), nil, 0o644))
	must(os.WriteFile(filepath.Join(dir, "sub", "in"), nil, 0o644))
	must(os.Symlink("sub", filepath.Join(dir, "link")))

	var out, errb bytes.Buffer
	s := &session{stdout: &out, stderr: &errb}
	run := func(line string) (string, error) {
		t.Helper()
		out.Reset()
		words, err := splitWords(line)
		must(err)
		ok, err := s.localCommand(words)
		if !ok {
			t.Fatalf("%q not handled locally", line)
		}
		return out.String(), err
	}

	if got, err := run("lls"); err != nil || got != "b.txt\nlink/\nsub/\n" {
		t.Errorf("lls: %q, %v", got, err)
	}
	if got, err := run("lls -a sub b.txt"); err != nil || got != "sub:\nin\nb.txt\n" {
		t.Errorf("lls -a sub b.txt: %q, %v", got, err)
	}
	if _, err := run("lls nothere"); err == nil || err.Error() != "lls nothere: no such file or folder" {
		t.Errorf("lls nothere: %v", err)
	}
	if _, err := run("lls -z"); err == nil || !strings.Contains(err.Error(), "usage: lls") {
		t.Errorf("lls -z: %v", err)
	}
	if got, err := run("lpwd"); err != nil || got != dir+"\n" {
		t.Errorf("lpwd: %q, %v; want %q", got, err, dir)
	}
	if _, err := run("lcd sub"); err != nil {
		t.Fatalf("lcd sub: %v", err)
	}
	if got, _ := run("lpwd"); got != filepath.Join(dir, "sub")+"\n" {
		t.Errorf("lpwd after lcd sub: %q", got)
	}
	if got, _ := run("lls"); got != "in\n" {
		t.Errorf("lls after lcd sub: %q", got)
	}
	if _, err := run("lcd in"); err == nil || !strings.Contains(err.Error(), "lcd in: not a directory") {
		t.Errorf("lcd to a file: %v", err)
	}
	if _, err := run("lcd ../nothere"); err == nil || err.Error() != "lcd ../nothere: no such file or folder" {
		t.Errorf("lcd nothere: %v", err)
	}
	t.Setenv("HOME", dir)
	if _, err := run("lcd"); err != nil {
		t.Fatalf("lcd: %v", err)
	}
	if got, _ := run("lpwd"); got != dir+"\n" {
		t.Errorf("lcd with no argument goes home: %q", got)
	}
	if ok, _ := s.localCommand([]string{"ls"}); ok {
		t.Error("ls was taken as a local command")
	}
}

func TestBang(t *testing.T) {
	var out, errb bytes.Buffer
	s := &session{stdout: &out, stderr: &errb}
	if err := s.bang("echo hi; echo err >&2"); err != nil || out.String() != "hi\n" || errb.String() != "err\n" {
		t.Fatalf("!echo: %v, stdout %q, stderr %q", err, out.String(), errb.String())
	}
	if err := s.bang("exit 3"); err == nil || err.Error() != "!: exit status 3" {
		t.Fatalf("!exit 3: %v", err)
	}
}
