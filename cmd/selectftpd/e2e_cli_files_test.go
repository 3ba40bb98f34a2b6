package main

// End-to-end tests of the CLI's file verbs (issue 9): the real selectftp
// against the real server with the real ls, stat, rm, mkdir, mv, sum, cd
// and pwd plugins.

import (
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

func startFileServer(t *testing.T) *server {
	needBinaries(t)
	return startServer(t, nil, allVerbs...)
}

// cliCase is one run of the client and what it must do.
type cliCase struct {
	args    []string
	code    int
	stdout  string // exact, unless "*"
	errHave string // in stderr; "" means stderr is empty
}

func (s *server) check(t *testing.T, dir string, c cliCase) result {
	t.Helper()
	r := s.clientIn(dir, "", c.args...)
	if r.code != c.code || (c.stdout != "*" && r.stdout != c.stdout) ||
		(c.errHave == "") != (r.stderr == "") || !strings.Contains(r.stderr, c.errHave) || strings.Count(r.stderr, "\n") > 1 {
		t.Fatalf("selectftp %q: exit %d, stdout %q, stderr %q; want exit %d, stdout %q, stderr with %q",
			c.args, r.code, r.stdout, r.stderr, c.code, c.stdout, c.errHave)
	}
	return r
}

func TestCLIFilesVerbs(t *testing.T) {
	s := startFileServer(t)
	dir := t.TempDir()
	if err := os.WriteFile(filepath.Join(dir, "x"), []byte("hello"), 0o644); err != nil {
		t.Fatal(err)
	}
	for _, c := range []cliCase{
		{[]string{"mkdir", "sub"}, 0, "", ""},
		{[]string{"mkdir", "sub"}, 4, "", "exists"},
		{[]string{"mkdir", "-p", "sub/a/b"}, 0, "", ""},
		{[]string{"mkdir", "no/such"}, 3, "", "not_found"},
		// cd holds for the commands after it on the same run.
		{[]string{"-c", "cd sub; put x; pwd; ls"}, 0, "/sub\na/\nx\n", ""},
		{[]string{"put", "x", ".hidden"}, 0, "", ""},
		{[]string{"ls"}, 0, "sub/\n", ""},
		{[]string{"ls", "-a"}, 0, ".hidden\nsub/\n", ""},
		{[]string{"ls", "sub/*"}, 0, "*", ""},
		{[]string{"ls", "nothere"}, 3, "", "ls nothere: no such file or folder [not_found]"},
		{[]string{"ls", "-z"}, 2, "", "usage: ls"},
		{[]string{"stat"}, 2, "", "usage: stat PATH"},
		{[]string{"mv", "sub/x", "sub/y"}, 0, "", ""},
		{[]string{"put", "x", "sub/z"}, 0, "", ""},
		{[]string{"mv", "-n", "sub/z", "sub/y"}, 4, "", "exists"},
		{[]string{"mv", "sub/z", "sub/a"}, 0, "", ""}, // into the folder
		{[]string{"rm", "sub/a"}, 4, "", "rm -r"},
		{[]string{"rm", "/"}, 4, "", "permission"},
		{[]string{"rm", "-r", "sub/a"}, 0, "", ""},
		{[]string{"rm", "sub/a"}, 3, "", "not_found"},
	} {
		s.check(t, dir, c)
	}
	if _, err := os.Stat(filepath.Join(s.root, "sub", "y")); err != nil {
		t.Fatalf("mv sub/x sub/y: %v", err)
	}
	r := s.check(t, dir, cliCase{[]string{"ls", "-l", "sub"}, 0, "*", ""})
	f := strings.Fields(r.stdout)
	if len(f) < 4 || f[0] != "-rw-r--r--" || f[1] != "5" || f[len(f)-1] != "y" {
		t.Fatalf("ls -l sub: %q", r.stdout)
	}
	r = s.check(t, dir, cliCase{[]string{"stat", "sub/y"}, 0, "*", ""})
	if !strings.Contains(r.stdout, "type:  file\n") || !strings.Contains(r.stdout, "size:  5\n") {
		t.Fatalf("stat: %q", r.stdout)
	}
	sum := sha256.Sum256([]byte("hello"))
	s.check(t, dir, cliCase{[]string{"sum", "--checksum", "sha256", "sub/y"}, 0, hex.EncodeToString(sum[:]) + "  /sub/y\n", ""})
}

// --json: one object per result on stdout, errors too.
func TestCLIFilesJSON(t *testing.T) {
	s := startFileServer(t)
	dir := t.TempDir()
	if err := os.WriteFile(filepath.Join(dir, "x"), []byte("hello"), 0o644); err != nil {
		t.Fatal(err)
	}
	r := s.check(t, dir, cliCase{[]string{"--json", "-c", "mkdir d; put x d/x; ls -l d; stat d/x"}, 0, "*", ""})
	var objs []map[string]any
	for line := range strings.Lines(r.stdout) {
		var m map[string]any
		if err := json.Unmarshal([]byte(line), &m); err != nil {
			t.Fatalf("not JSON: %q", line)
		}
		objs = append(objs, m)
	}
	if len(objs) != 4 || objs[0]["op"] != "mkdir" ||
		objs[1]["op"] != "put" || objs[1]["remote"] != "d/x" || objs[1]["bytes"] != 5.0 || objs[1]["seconds"] == nil ||
		objs[2]["name"] != "x" || objs[2]["type"] != "file" || objs[2]["size"] != 5.0 || objs[2]["mode"] != "-rw-r--r--" ||
		objs[3]["path"] != "/d/x" {
		t.Fatalf("--json output: %s", r.stdout)
	}
	r = s.check(t, dir, cliCase{[]string{"--json", "ls", "missing"}, 3, "*", "not_found"})
	var e map[string]any
	if err := json.Unmarshal([]byte(r.stdout), &e); err != nil || e["code"] != "not_found" || !strings.Contains(e["error"].(string), "missing") {
		t.Fatalf("--json error: %q (%v)", r.stdout, err)
	}
}

// -b stops at the first failure unless the line starts with "-"; -c stops
// at the first failure; the exit status is that failure's.
func TestCLIFilesBatch(t *testing.T) {
	s := startFileServer(t)
	dir := t.TempDir()
	batch := filepath.Join(dir, "batch")
	if err := os.WriteFile(batch, []byte("mkdir a\n-rm nothere\npwd\nrm nothere\nmkdir b\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	// Two lines on stderr: the tolerated failure is reported too.
	r := s.clientIn(dir, "", "-b", batch)
	if r.code != 3 || r.stdout != "/\n" || !strings.Contains(r.stderr, "line 2: rm nothere: ") ||
		!strings.Contains(r.stderr, "line 4: rm nothere: ") || strings.Count(r.stderr, "\n") != 2 {
		t.Fatalf("-b: %+v", r)
	}
	if _, err := os.Stat(filepath.Join(s.root, "b")); err == nil {
		t.Fatal("-b went on after a failed line")
	}
	s.check(t, dir, cliCase{[]string{"-c", "mkdir a; mkdir c"}, 4, "", "command 1: mkdir a"})
	if _, err := os.Stat(filepath.Join(s.root, "c")); err == nil {
		t.Fatal("-c went on after a failed command")
	}
}
