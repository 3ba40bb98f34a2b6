package sdk

import (
	"strings"
	"testing"
)

func TestResolve(t *testing.T) {
	for _, tc := range []struct {
		dir, in, want, err string
	}{
		{"", "a.txt", "a.txt", ""},
		{"/", "/a.txt", "a.txt", ""},
		{"/sub", "a.txt", "sub/a.txt", ""},
		{"/sub", "/a.txt", "a.txt", ""},
		{"/sub/deep", "../x", "sub/x", ""},
		{"/sub", "../../../x", "x", ""}, // ".." stops at the top
		{"/", "/../../etc/passwd", "etc/passwd", ""},
		{"/sub", "..", ".", ""},
		{"/", "/", ".", ""},
		{"/", ".", ".", ""},
		{"/a", "b//c/./d/", "a/b/c/d", ""},
		{"/", "", "", "empty path"},
		{"/", "a\nb", "", "control character"},
		{"/", "a\x00b", "", "control character"},
		{"/", "tab\there", "", "control character"},
		{"/", "bell\x7f", "", "control character"},
		{"/", "日本語/ファイル", "日本語/ファイル", ""},
	} {
		r := &Request{Dir: tc.dir}
		got, err := r.Resolve(tc.in)
		switch {
		case tc.err != "" && (err == nil || !strings.Contains(err.Error(), tc.err) || CodeOf(err) != CodeBadRequest):
			t.Errorf("Resolve(%q) in %q: %q, %v; want a bad_request saying %q", tc.in, tc.dir, got, err, tc.err)
		case tc.err == "" && (err != nil || got != tc.want):
			t.Errorf("Resolve(%q) in %q = %q, %v; want %q", tc.in, tc.dir, got, err, tc.want)
		}
	}
	if Virtual(".") != "/" || Virtual("a/b") != "/a/b" {
		t.Errorf("Virtual: %q %q", Virtual("."), Virtual("a/b"))
	}
}

// FuzzResolve: whatever a client sends, the result stays under the top.
func FuzzResolve(f *testing.F) {
	for _, s := range []string{"a", "../..", "/x/../../y", "a/./b/", "..", "/"} {
		f.Add("/sub", s)
	}
	f.Fuzz(func(t *testing.T, dir, p string) {
		r := &Request{Dir: dir}
		got, err := r.Resolve(p)
		if err != nil {
			return
		}
		if got == ".." || strings.HasPrefix(got, "../") || strings.HasPrefix(got, "/") || strings.ContainsAny(got, "\x00\n") {
			t.Fatalf("Resolve(%q) in %q = %q", p, dir, got)
		}
	})
}

type dirWriter struct {
	ResponseWriter
	dir string
}

func (d *dirWriter) SetSessionDir(dir string) error { d.dir = dir; return nil }

func TestSetDir(t *testing.T) {
	w := &dirWriter{}
	if err := SetDir(w, "/a/b"); err != nil || w.dir != "/a/b" {
		t.Fatalf("SetDir: %v, %q", err, w.dir)
	}
	for _, bad := range []string{"a", "/a/../b", "/a/", ""} {
		if err := SetDir(w, bad); err == nil {
			t.Errorf("SetDir(%q) accepted", bad)
		}
	}
	if err := SetDir(nil, "/"); err == nil {
		t.Error("SetDir on a writer that keeps no folder succeeded")
	}
}
