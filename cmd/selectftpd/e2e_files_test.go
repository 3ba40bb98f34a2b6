package main

// End-to-end tests of the file verbs (issue 9): the real selectftpd with
// the real plugin binaries, driven by the Go client's generic Do and
// Command (the CLI for these verbs is built separately).

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/selectftp/selectftp/client"
	"github.com/selectftp/selectftp/internal/checksum"
	"github.com/selectftp/selectftp/protocol"
)

// fvConn starts a server with every verb and dials it.
func fvConn(t *testing.T) (*server, *client.Conn) {
	t.Helper()
	needBinaries(t)
	s := startServer(t, nil, allVerbs...)
	return s, fvDial(t, s)
}

func fvDial(t *testing.T, s *server) *client.Conn {
	t.Helper()
	ctx, cancel := context.WithTimeout(t.Context(), 30*time.Second)
	defer cancel()
	c, err := client.Dial(ctx, s.addr)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { c.Close() })
	return c
}

// do runs verb with args (and params) and returns the body, meta and error.
func fvDo(t *testing.T, c *client.Conn, alg, verb string, params map[string]any, args ...string) (string, map[string]any, error) {
	t.Helper()
	ctx, cancel := context.WithTimeout(t.Context(), 30*time.Second)
	defer cancel()
	var b bytes.Buffer
	meta, err := c.Do(ctx, protocol.Request{Verb: verb, Args: args, Params: params, Checksum: alg}, nil, &b)
	return b.String(), meta, err
}

func fvMust(t *testing.T, c *client.Conn, verb string, args ...string) string {
	t.Helper()
	out, _, err := fvDo(t, c, "", verb, nil, args...)
	if err != nil {
		t.Fatalf("%s %v: %v", verb, args, err)
	}
	return out
}

func fvPut(t *testing.T, c *client.Conn, remote, body string) {
	t.Helper()
	if err := c.Put(t.Context(), strings.NewReader(body), int64(len(body)), remote, nil); err != nil {
		t.Fatalf("put %s: %v", remote, err)
	}
}

type fvEntry struct {
	Name, Path, Type, Mode, Mtime string
	Size                          int64
}

func fvPaths(t *testing.T, body string) string {
	t.Helper()
	var p []string
	s := bufio.NewScanner(strings.NewReader(body))
	for s.Scan() {
		var e fvEntry
		if err := json.Unmarshal(s.Bytes(), &e); err != nil {
			t.Fatalf("ls line %q: %v", s.Text(), err)
		}
		if _, err := time.Parse(time.RFC3339Nano, e.Mtime); err != nil || e.Mode == "" || e.Type == "" {
			t.Fatalf("ls line %q", s.Text())
		}
		p = append(p, e.Path)
	}
	return strings.Join(p, " ")
}

func TestFilesVerbs(t *testing.T) {
	s, c := fvConn(t)
	fvMust(t, c, "mkdir", "-p", "docs/old")
	fvPut(t, c, "/docs/a.txt", "alpha\n")
	fvPut(t, c, "/docs/b.md", "bravo\n")
	fvPut(t, c, "/.hidden", "h")
	fvPut(t, c, "top.txt", "top\n")

	// ls: plain, -l, -a, globs, params.
	for _, tc := range []struct {
		args   []string
		params map[string]any
		want   string
	}{
		{nil, nil, "/docs /top.txt"},
		{[]string{"-l"}, nil, "/docs /top.txt"},
		{[]string{"-a"}, nil, "/.hidden /docs /top.txt"},
		{nil, map[string]any{"all": true}, "/.hidden /docs /top.txt"},
		{[]string{"docs"}, nil, "/docs/a.txt /docs/b.md /docs/old"},
		{[]string{"/docs/*.txt", "top.txt"}, nil, "/docs/a.txt /top.txt"},
	} {
		out, _, err := fvDo(t, c, "", "ls", tc.params, tc.args...)
		if err != nil || fvPaths(t, out) != tc.want {
			t.Errorf("ls %v: %v %q, want %q", tc.args, err, fvPaths(t, out), tc.want)
		}
	}

	// stat: the digest put verified appears.
	_, meta, err := fvDo(t, c, "sha256", "stat", nil, "/docs/a.txt")
	if err != nil || meta["type"] != "file" || meta["size"] != 6.0 || meta["path"] != "/docs/a.txt" {
		t.Fatalf("stat: %v %v", err, meta)
	}
	if meta["xxh128"] != fvXXH([]byte("alpha\n")) {
		t.Errorf("stat after put: xxh128 %v, want %s", meta["xxh128"], fvXXH([]byte("alpha\n")))
	}

	// sum, in every algorithm, against a digest computed here.
	for _, alg := range checksum.All() {
		h := alg.New()
		h.Write([]byte("bravo\n"))
		want := alg.Encode(h.Sum(nil)) + "  /docs/b.md\n"
		if out := fvMust(t, c, "sum", "--checksum", alg.String(), "docs/b.md"); out != want {
			t.Errorf("sum %s: %q, want %q", alg, out, want)
		}
		if out, _, err := fvDo(t, c, alg.String(), "sum", nil, "/docs/b.md"); err != nil || out != want {
			t.Errorf("sum in request algorithm %s: %q %v", alg, out, err)
		}
	}
	if _, meta, _ := fvDo(t, c, "", "stat", nil, "docs/b.md"); meta["blake3"] == nil || meta["sha256"] == nil {
		t.Errorf("sum did not cache its digests: %v", meta)
	}

	// mv, mv -n, mv into a folder.
	fvMust(t, c, "mv", "top.txt", "docs/old")
	fvMust(t, c, "mv", "/docs/b.md", "/docs/c.md")
	if _, _, err := fvDo(t, c, "", "mv", nil, "-n", "docs/a.txt", "docs/c.md"); client.Code(err) != protocol.CodeExists {
		t.Errorf("mv -n onto a file: %v", err)
	}
	if got := listFiles(t, s.root); !slices.Equal(got, []string{".hidden", "docs/a.txt", "docs/c.md", "docs/old/top.txt"}) {
		t.Errorf("after mv: %v", got)
	}

	// rm, rm -r.
	fvMust(t, c, "rm", "docs/a.txt", "/.hidden")
	fvMust(t, c, "rm", "-r", "docs")
	if out := fvMust(t, c, "ls", "-a"); out != "" {
		t.Errorf("after rm -r: %q", out)
	}
	if ents, _ := os.ReadDir(s.root); len(ents) != 0 {
		t.Errorf("root after rm -r: %v", ents)
	}
}

func fvXXH(b []byte) string {
	h := checksum.XXH128.New()
	h.Write(b)
	return checksum.XXH128.Encode(h.Sum(nil))
}

// cd changes the folder for later requests on the same connection only;
// relative paths follow it in every verb, "/x" is the top of the tree.
func TestFilesCdPwd(t *testing.T) {
	s, c := fvConn(t)
	fvMust(t, c, "mkdir", "-p", "/a/b")
	if out := fvMust(t, c, "pwd"); out != "/\n" {
		t.Fatalf("pwd: %q", out)
	}
	if out := fvMust(t, c, "cd", "a/b"); out != "/a/b\n" {
		t.Fatalf("cd: %q", out)
	}
	if out := fvMust(t, c, "pwd"); out != "/a/b\n" {
		t.Fatalf("pwd after cd: %q", out)
	}
	fvPut(t, c, "rel.txt", "rel")
	fvPut(t, c, "/abs.txt", "abs")
	fvPut(t, c, "../up.txt", "up")
	var got bytes.Buffer
	if err := c.Get(t.Context(), "/a/b/rel.txt", &got, nil); err != nil || got.String() != "rel" {
		t.Fatalf("get /a/b/rel.txt: %v %q", err, got.String())
	}
	got.Reset()
	if err := c.Get(t.Context(), "../../abs.txt", &got, nil); err != nil || got.String() != "abs" {
		t.Fatalf("get ../../abs.txt: %v %q", err, got.String())
	}
	if out := fvMust(t, c, "ls"); fvPaths(t, out) != "/a/b/rel.txt" {
		t.Errorf("ls in /a/b: %q", out)
	}
	// A failed cd leaves the folder where it was.
	if _, _, err := fvDo(t, c, "", "cd", nil, "rel.txt"); client.Code(err) != protocol.CodeBadRequest {
		t.Errorf("cd to a file: %v", err)
	}
	if _, _, err := fvDo(t, c, "", "cd", nil, "nope"); client.Code(err) != protocol.CodeNotFound {
		t.Errorf("cd to nothing: %v", err)
	}
	if out := fvMust(t, c, "pwd"); out != "/a/b\n" {
		t.Errorf("pwd after failed cds: %q", out)
	}
	fvMust(t, c, "cd", "../../../..")
	if out := fvMust(t, c, "pwd"); out != "/\n" {
		t.Errorf("cd past the top: %q", out)
	}
	// Another connection starts at the top.
	fvMust(t, c, "cd", "a")
	if out := fvMust(t, fvDial(t, s), "pwd"); out != "/\n" {
		t.Errorf("a second connection's pwd: %q", out)
	}
	want := []string{"a/b/rel.txt", "a/up.txt", "abs.txt"}
	if got := listFiles(t, s.root); !slices.Equal(got, want) {
		t.Errorf("files: %v, want %v", got, want)
	}
}

// Every bad input from the issue: a clear one-line error with the right
// code, and nothing changed.
func TestFilesBadInput(t *testing.T) {
	s, c := fvConn(t)
	fvMust(t, c, "mkdir", "-p", "d/sub")
	fvPut(t, c, "d/f.txt", "f")
	outside := t.TempDir()
	os.WriteFile(filepath.Join(outside, "secret"), []byte("s"), 0o644)
	if err := os.Symlink(outside, filepath.Join(s.root, "out")); err != nil {
		t.Fatal(err)
	}
	long := strings.Repeat("n", 300)
	snapshot := func() string {
		var b strings.Builder
		filepath.Walk(s.root, func(p string, fi os.FileInfo, err error) error {
			if err == nil {
				fmt.Fprintf(&b, "%s %v %d\n", p, fi.Mode(), fi.Size())
			}
			return nil
		})
		filepath.Walk(outside, func(p string, fi os.FileInfo, err error) error {
			fmt.Fprintf(&b, "%s\n", p)
			return nil
		})
		return b.String()
	}
	before := snapshot()
	for _, tc := range []struct {
		verb string
		args []string
		code protocol.Code
		msg  string
	}{
		{"rm", []string{"-r", "/"}, protocol.CodePermission, "rm /: the top of the tree cannot be removed"},
		{"rm", []string{"-r", "d/.."}, protocol.CodePermission, "the top of the tree"},
		{"rm", []string{"d"}, protocol.CodeBadRequest, "rm d: is a folder; use rm -r"},
		{"mv", []string{"d", "d"}, protocol.CodeBadRequest, "the same path"},
		{"mv", []string{"d", "d/sub"}, protocol.CodeBadRequest, "a folder cannot move into itself"},
		{"mv", []string{"d/f.txt", "out/stolen"}, protocol.CodePermission, "outside the served tree"},
		{"mv", []string{"out/secret", "mine"}, protocol.CodePermission, "outside the served tree"},
		{"mkdir", []string{"d/f.txt"}, protocol.CodeExists, "mkdir d/f.txt: already exists"},
		{"mkdir", []string{"-p", "d/f.txt"}, protocol.CodeExists, "a file of that name exists"},
		{"ls", []string{"missing"}, protocol.CodeNotFound, "ls missing: no such file or folder"},
		{"ls", []string{"d/*.zip"}, protocol.CodeNotFound, "ls: no match for d/*.zip"},
		{"mkdir", []string{"new\nline"}, protocol.CodeBadRequest, "control character"},
		{"mv", []string{"d/f.txt", "tab\there"}, protocol.CodeBadRequest, "control character"},
		{"mkdir", []string{long}, protocol.CodeNameTooLong, "file name too long"},
		{"mv", []string{"d/f.txt", long}, protocol.CodeNameTooLong, "file name too long"},
		{"stat", []string{"d/" + long}, protocol.CodeNameTooLong, "file name too long"},
		{"cd", []string{"out"}, protocol.CodePermission, "outside the served tree"},
		{"get", []string{"out/secret"}, protocol.CodePermission, "escapes the root"},
	} {
		_, _, err := fvDo(t, c, "", tc.verb, nil, tc.args...)
		var se *protocol.StatusError
		if client.Code(err) != tc.code || !strings.Contains(fmt.Sprint(err), tc.msg) || strings.Contains(fmt.Sprint(err), "\n") {
			t.Errorf("%s %q: %v, want %s %q", tc.verb, tc.args, err, tc.code, tc.msg)
		} else if fvAs(err, &se) && strings.Contains(se.Message, "syscall") {
			t.Errorf("%s %q: a syscall in %q", tc.verb, tc.args, se.Message)
		}
	}
	for _, name := range []string{"new\nline.txt", "bell\a", long} {
		err := c.Put(t.Context(), strings.NewReader("x"), 1, name, nil)
		if code := client.Code(err); code != protocol.CodeBadRequest && code != protocol.CodeNameTooLong {
			t.Errorf("put %q: %v", name, err)
		}
	}
	if after := snapshot(); after != before {
		t.Errorf("the bad inputs changed the tree:\n%s\nwas\n%s", after, before)
	}
}

func fvAs(err error, target **protocol.StatusError) bool { return errors.As(err, target) }
