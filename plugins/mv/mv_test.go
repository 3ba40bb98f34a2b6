package mv

import (
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"github.com/selectftp/selectftp/internal/readme"
	"github.com/selectftp/selectftp/sdk"
	"github.com/selectftp/selectftp/sdk/sdktest"
)

func tree(t *testing.T) string {
	t.Helper()
	root := t.TempDir()
	for _, d := range []string{"d/sub", "e"} {
		os.MkdirAll(filepath.Join(root, d), 0o755)
	}
	for _, n := range []string{"a.txt", "b.txt", "d/x"} {
		os.WriteFile(filepath.Join(root, n), []byte(n), 0o644)
	}
	return root
}

func state(t *testing.T, root string) []string {
	t.Helper()
	var out []string
	filepath.Walk(root, func(p string, fi os.FileInfo, err error) error {
		rel, _ := filepath.Rel(root, p)
		if rel == "." {
			return nil
		}
		b, _ := os.ReadFile(p)
		out = append(out, rel+"="+string(b))
		return nil
	})
	slices.Sort(out)
	return out
}

func TestMove(t *testing.T) {
	for _, tc := range []struct {
		args   []string
		params map[string]any
		want   []string // present afterwards, name=content
		gone   []string
	}{
		{[]string{"a.txt", "c.txt"}, nil, []string{"c.txt=a.txt"}, []string{"a.txt"}},
		{[]string{"a.txt", "b.txt"}, nil, []string{"b.txt=a.txt"}, []string{"a.txt"}},
		{[]string{"a.txt", "d"}, nil, []string{"d/a.txt=a.txt"}, []string{"a.txt"}},
		{[]string{"/d/x", "/"}, nil, []string{"x=d/x"}, []string{"d/x"}},
		{[]string{"d", "e"}, nil, []string{"e/d/x=d/x"}, []string{"d"}},
		{[]string{"d", "f"}, nil, []string{"f/x=d/x", "f/sub="}, []string{"d"}},
		{[]string{"-n", "a.txt", "c.txt"}, nil, []string{"c.txt=a.txt"}, []string{"a.txt"}},
		{[]string{"a.txt", "c.txt"}, map[string]any{"no_clobber": true}, []string{"c.txt=a.txt"}, []string{"a.txt"}},
		{[]string{"-n", "d", "g"}, nil, []string{"g/x=d/x"}, []string{"d"}},
		{[]string{"../../a.txt", "../c.txt"}, nil, []string{"c.txt=a.txt"}, []string{"a.txt"}},
	} {
		root := tree(t)
		res := sdktest.Run(t, New(), sdktest.Request{Root: root, Args: tc.args, Params: tc.params})
		if res.Err != nil {
			t.Errorf("mv %v: %v", tc.args, res.Err)
			continue
		}
		got := state(t, root)
		for _, w := range tc.want {
			if !slices.Contains(got, w) {
				t.Errorf("mv %v: no %s in %v", tc.args, w, got)
			}
		}
		for _, g := range tc.gone {
			if _, err := os.Lstat(filepath.Join(root, g)); err == nil {
				t.Errorf("mv %v: %s still there", tc.args, g)
			}
		}
	}
}

func TestMoveBad(t *testing.T) {
	outside := t.TempDir()
	for _, tc := range []struct {
		args []string
		code sdk.Code
		msg  string
	}{
		{[]string{"a.txt", "a.txt"}, sdk.CodeBadRequest, "mv a.txt a.txt: the same path"},
		{[]string{"a.txt", "/a.txt"}, sdk.CodeBadRequest, "the same path"},
		{[]string{"a.txt", "/"}, sdk.CodeBadRequest, "the same path"},
		{[]string{"d", "d/sub"}, sdk.CodeBadRequest, "mv d /d/sub/d: a folder cannot move into itself"},
		{[]string{"d", "d/new"}, sdk.CodeBadRequest, "a folder cannot move into itself"},
		{[]string{"/", "e"}, sdk.CodePermission, "the top of the tree cannot be moved"},
		{[]string{"e/..", "e"}, sdk.CodePermission, "the top of the tree cannot be moved"},
		{[]string{"-n", "a.txt", "b.txt"}, sdk.CodeExists, "mv a.txt: b.txt exists (-n)"},
		{[]string{"d", "a.txt"}, sdk.CodeExists, "a.txt is a file; a folder cannot replace it"},
		{[]string{"missing", "z"}, sdk.CodeNotFound, "mv missing: no such file or folder"},
		{[]string{"a.txt", "nodir/z"}, sdk.CodeNotFound, "no such file or folder"},
		{[]string{"a.txt", "out/stolen"}, sdk.CodePermission, "outside the served tree"},
		{[]string{"out/secret", "mine"}, sdk.CodePermission, "outside the served tree"},
		{[]string{"a.txt", "bad\nname"}, sdk.CodeBadRequest, "control character"},
		{[]string{"a.txt", strings.Repeat("n", 300)}, sdk.CodeNameTooLong, "file name too long"},
		{[]string{"a.txt", ".selectftp-part-0"}, sdk.CodeBadRequest, "reserved"},
		{[]string{"a.txt"}, sdk.CodeBadRequest, "mv takes FROM and TO"},
	} {
		root := tree(t)
		os.WriteFile(filepath.Join(outside, "secret"), []byte("s"), 0o644)
		os.Symlink(outside, filepath.Join(root, "out"))
		before := state(t, root)
		res := sdktest.Run(t, New(), sdktest.Request{Root: root, Args: tc.args})
		if res.Code != tc.code || !strings.Contains(res.Message, tc.msg) {
			t.Errorf("mv %q: %s %q, want %s %q", tc.args, res.Code, res.Message, tc.code, tc.msg)
		}
		if got := state(t, root); !slices.Equal(got, before) {
			t.Errorf("mv %q changed the tree: %v", tc.args, got)
		}
		if ents, _ := os.ReadDir(outside); len(ents) != 1 {
			t.Fatalf("mv %q changed the folder outside", tc.args)
		}
	}
}

// A folder cannot replace a file nor a file a folder: the type check is
// before the rename, and a non-empty folder in the way stays.
func TestMoveFileOntoFolder(t *testing.T) {
	root := tree(t)
	os.Mkdir(filepath.Join(root, "e", "a.txt"), 0o755)
	res := sdktest.Run(t, New(), sdktest.Request{Root: root, Args: []string{"a.txt", "e"}})
	if res.Code != sdk.CodeExists || !strings.Contains(res.Message, "is a folder; a file cannot replace it") {
		t.Fatalf("%s %q", res.Code, res.Message)
	}
	os.Mkdir(filepath.Join(root, "full"), 0o755)
	os.WriteFile(filepath.Join(root, "full", "x"), nil, 0o644)
	os.MkdirAll(filepath.Join(root, "e", "full", "y"), 0o755)
	res = sdktest.Run(t, New(), sdktest.Request{Root: root, Args: []string{"full", "e"}})
	if res.Code != sdk.CodeExists || !strings.Contains(res.Message, "not empty") {
		t.Fatalf("%s %q", res.Code, res.Message)
	}
}

func TestReadme(t *testing.T) { readme.Check(t, New(), false) }
