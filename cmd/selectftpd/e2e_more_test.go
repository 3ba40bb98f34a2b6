package main

import (
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"

	"github.com/selectftp/selectftp/internal/readme"
)

// Every example in a plugin's README runs against a real server, in order,
// with a fresh empty root, and prints exactly what the README shows.
func TestPluginReadmeExamples(t *testing.T) {
	readmes, _ := filepath.Glob("../../plugins/*/README.md")
	if len(readmes) != len(allVerbs) {
		t.Fatalf("found %d plugin READMEs, want %d", len(readmes), len(allVerbs))
	}
	for _, path := range readmes {
		t.Run(filepath.Base(filepath.Dir(path)), func(t *testing.T) {
			s := startServer(t, nil, allVerbs...)
			dir := t.TempDir()
			examples := readme.Examples(t, path)
			for _, ex := range examples {
				r := s.clientIn(dir, "", ex.Words...)
				if r.code != 0 || r.stdout != ex.Out {
					t.Errorf("$ selectftp %s\ngot (exit %d):\n%s%s\nwant:\n%s", strings.Join(ex.Words, " "), r.code, r.stdout, r.stderr, ex.Out)
				}
			}
		})
	}
}

// A full disk fails the upload with no_space and leaves no partial file; the
// server keeps serving. Needs root to mount a small tmpfs.
func TestFullDisk(t *testing.T) {
	needBinaries(t)
	mnt := t.TempDir()
	if out, err := exec.Command("mount", "-t", "tmpfs", "-o", "size=2m", "tmpfs", mnt).CombinedOutput(); err != nil {
		if os.Getenv("CI") != "" && os.Geteuid() == 0 {
			t.Fatalf("cannot mount a tmpfs as root in CI: %v %s", err, out)
		}
		t.Skipf("cannot mount a small tmpfs here (%v %s)", err, strings.TrimSpace(string(out)))
	}
	t.Cleanup(func() { exec.Command("umount", "-l", mnt).Run() })
	s := startServer(t, []string{"--root", mnt})
	dir := t.TempDir()
	writeRandom(t, filepath.Join(dir, "big"), 8<<20, 7)
	r := s.clientIn(dir, "", "put", "big")
	if r.code == 0 || !strings.Contains(r.stderr, "no_space") {
		t.Fatalf("put on a full disk: %+v", r)
	}
	if files := listFiles(t, mnt); len(files) != 0 {
		t.Fatalf("left behind: %v", files)
	}
	writeRandom(t, filepath.Join(dir, "small"), 1000, 8)
	if r := s.clientIn(dir, "", "put", "small"); r.code != 0 {
		t.Fatalf("small put after the failure: %+v", r)
	}
}

// --builtin serves a verb in-process with the same code as its plugin; a
// plugin binary of the same verb is then skipped with a log line.
func TestBuiltinVerbs(t *testing.T) {
	s := startServer(t, []string{"--builtin", "upper,helps"}, "get", "upper")
	if r := s.client("", "upper", "in", "process"); r.stdout != "IN PROCESS\n" {
		t.Fatalf("%+v", r)
	}
	if r := s.client("", "helps"); !strings.Contains(r.stdout, "get\t") || !strings.Contains(r.stdout, "helps\t") {
		t.Fatalf("helps: %+v", r)
	}
	waitFor(t, "the duplicate plugin to be refused", func() bool { return strings.Contains(s.logText(), "already served") })
	if n := len(s.pluginPIDs()); n != 1 {
		t.Fatalf("%d plugin processes, want only get's", n)
	}
	if r := startServerErr(t, "--builtin", "nope"); !strings.Contains(r, "no built-in verb") {
		t.Fatalf("unknown builtin: %q", r)
	}
}

// startServerErr runs selectftpd expecting it to refuse its arguments.
func startServerErr(t *testing.T, args ...string) string {
	out, err := exec.Command(bins.server, args...).CombinedOutput()
	if err == nil {
		t.Fatalf("selectftpd %v started", args)
	}
	return string(out)
}
