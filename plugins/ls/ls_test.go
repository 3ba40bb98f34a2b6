package ls

import (
	"bufio"
	"bytes"
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/selectftp/selectftp/internal/readme"
	"github.com/selectftp/selectftp/plugins/internal/fileop"
	"github.com/selectftp/selectftp/sdk"
	"github.com/selectftp/selectftp/sdk/sdktest"
)

func tree(t *testing.T) string {
	t.Helper()
	root := t.TempDir()
	for _, d := range []string{"sub/deep", "empty", ".hid"} {
		os.MkdirAll(filepath.Join(root, d), 0o755)
	}
	for name, body := range map[string]string{"b.txt": "bb", "a.txt": "a", "c.pdf": "ccc", ".dot": "", "sub/x.txt": "x",
		".selectftp-part-0123456789abcdef": "partial"} {
		if err := os.WriteFile(filepath.Join(root, name), []byte(body), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	os.Symlink("a.txt", filepath.Join(root, "link"))
	return root
}

func entries(t *testing.T, body []byte) []fileop.Entry {
	t.Helper()
	var out []fileop.Entry
	s := bufio.NewScanner(bytes.NewReader(body))
	for s.Scan() {
		var e fileop.Entry
		if err := json.Unmarshal(s.Bytes(), &e); err != nil {
			t.Fatalf("line %q: %v", s.Text(), err)
		}
		out = append(out, e)
	}
	return out
}

func paths(es []fileop.Entry) string {
	var p []string
	for _, e := range es {
		p = append(p, e.Path)
	}
	return strings.Join(p, " ")
}

func TestList(t *testing.T) {
	root := tree(t)
	for _, tc := range []struct {
		args   []string
		params map[string]any
		want   string
	}{
		{nil, nil, "/a.txt /b.txt /c.pdf /empty /link /sub"},
		{[]string{"-a"}, nil, "/.dot /.hid /a.txt /b.txt /c.pdf /empty /link /sub"},
		{nil, map[string]any{"all": true}, "/.dot /.hid /a.txt /b.txt /c.pdf /empty /link /sub"},
		{[]string{"-l", "sub"}, nil, "/sub/deep /sub/x.txt"},
		{[]string{"/sub/../sub/"}, nil, "/sub/deep /sub/x.txt"},
		{[]string{"../../a.txt"}, nil, "/a.txt"},
		{[]string{"empty"}, nil, ""},
		{[]string{"*.txt"}, nil, "/a.txt /b.txt"},
		{[]string{"sub/*"}, nil, "/sub/deep /sub/x.txt"},
		{[]string{"[bc]*", "a.txt"}, nil, "/b.txt /c.pdf /a.txt"},
		{[]string{".*"}, nil, "/.dot /.hid"},
		{[]string{"--", "a.txt"}, nil, "/a.txt"},
	} {
		res := sdktest.Run(t, New(), sdktest.Request{Root: root, Args: tc.args, Params: tc.params})
		if res.Err != nil {
			t.Errorf("ls %v: %v", tc.args, res.Err)
			continue
		}
		if got := paths(entries(t, res.Body)); got != tc.want {
			t.Errorf("ls %v = %q, want %q", tc.args, got, tc.want)
		}
	}
}

func TestEntryFields(t *testing.T) {
	root := tree(t)
	mt := time.Date(2026, 12, 2, 9, 0, 0, 123456789, time.UTC)
	os.Chtimes(filepath.Join(root, "b.txt"), mt, mt)
	res := sdktest.Run(t, New(), sdktest.Request{Root: root, Args: []string{"b.txt", "link", "sub"}})
	lines := strings.SplitN(string(res.Body), "\n", 2)
	want := `{"name":"b.txt","path":"/b.txt","type":"file","size":2,"mode":"-rw-r--r--","mtime":"2026-12-02T09:00:00.123456789Z"}`
	if lines[0] != want {
		t.Errorf("got  %s\nwant %s", lines[0], want)
	}
	es := entries(t, res.Body)
	if len(es) != 4 || es[1].Type != "link" || es[2].Type != "dir" || es[2].Name != "deep" || es[3].Type != "file" {
		t.Errorf("entries: %+v", es)
	}
}

// A symlink that leads outside lists as itself: nothing beyond it shows.
func TestLinkOutside(t *testing.T) {
	root := t.TempDir()
	outside := t.TempDir()
	os.WriteFile(filepath.Join(outside, "secret"), []byte("s"), 0o644)
	os.Symlink(outside, filepath.Join(root, "out"))
	res := sdktest.Run(t, New(), sdktest.Request{Root: root, Args: []string{"out"}})
	if es := entries(t, res.Body); res.Err != nil || len(es) != 1 || es[0].Type != "link" || es[0].Path != "/out" {
		t.Fatalf("ls out: %v %s", res.Err, res.Body)
	}
}

func TestBadInput(t *testing.T) {
	root := tree(t)
	outside := t.TempDir()
	os.WriteFile(filepath.Join(outside, "secret"), []byte("s"), 0o644)
	os.Symlink(outside, filepath.Join(root, "out"))
	for _, tc := range []struct {
		args []string
		code sdk.Code
		msg  string
	}{
		{[]string{"missing"}, sdk.CodeNotFound, "ls missing: no such file or folder"},
		{[]string{"*.zip"}, sdk.CodeNotFound, "ls: no match for *.zip"},
		{[]string{"nodir/*"}, sdk.CodeNotFound, "ls nodir/*: no such file or folder"},
		{[]string{"a.txt/x"}, sdk.CodeNotFound, "ls a.txt/x: a part of the path is not a folder"},
		{[]string{"out/*"}, sdk.CodePermission, "ls out/*: outside the served tree"},
		{[]string{"a\nb"}, sdk.CodeBadRequest, "control character"},
		{[]string{"[x"}, sdk.CodeBadRequest, "bad pattern"},
		{[]string{"-x"}, sdk.CodeBadRequest, `unknown option "-x"`},
		{[]string{strings.Repeat("n", 300)}, sdk.CodeNameTooLong, "file name too long"},
		{[]string{".selectftp-part-0123456789abcdef"}, sdk.CodeBadRequest, "reserved"},
	} {
		res := sdktest.Run(t, New(), sdktest.Request{Root: root, Args: tc.args})
		if res.Code != tc.code || !strings.Contains(res.Message, tc.msg) || strings.Contains(res.Message, "\n") {
			t.Errorf("ls %q: %s %q, want %s %q", tc.args, res.Code, res.Message, tc.code, tc.msg)
		}
	}
}

// A large folder lists whole, in byte order, holding only its names.
func TestLargeFolder(t *testing.T) {
	root := t.TempDir()
	const n = 20000
	want := make([]string, 0, n)
	for i := range n {
		name := fmt.Sprintf("f%05d", (i*7919)%n) // created out of order
		f, err := os.Create(filepath.Join(root, name))
		if err != nil {
			t.Fatal(err)
		}
		f.Close()
		want = append(want, "/"+name)
	}
	slices.Sort(want)
	res := sdktest.Run(t, New(), sdktest.Request{Root: root})
	if res.Err != nil {
		t.Fatal(res.Err)
	}
	es := entries(t, res.Body)
	got := make([]string, len(es))
	for i, e := range es {
		got[i] = e.Path
	}
	if !slices.Equal(got, want) {
		t.Fatalf("%d entries, want %d in order", len(got), len(want))
	}
}

func TestReadme(t *testing.T) {
	readme.Check(t, New(), false)
}
