package rm

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
	os.MkdirAll(filepath.Join(root, "full/deep"), 0o755)
	os.Mkdir(filepath.Join(root, "empty"), 0o755)
	for _, n := range []string{"a.txt", "b.txt", "full/x", "full/deep/y"} {
		os.WriteFile(filepath.Join(root, n), []byte(n), 0o644)
	}
	return root
}

func names(t *testing.T, root string) []string {
	t.Helper()
	var out []string
	filepath.Walk(root, func(p string, fi os.FileInfo, err error) error {
		if rel, _ := filepath.Rel(root, p); rel != "." {
			out = append(out, rel)
		}
		return nil
	})
	slices.Sort(out)
	return out
}

func TestRemove(t *testing.T) {
	for _, tc := range []struct {
		args   []string
		params map[string]any
		gone   []string
	}{
		{[]string{"a.txt"}, nil, []string{"a.txt"}},
		{[]string{"/a.txt", "b.txt"}, nil, []string{"a.txt", "b.txt"}},
		{[]string{"empty"}, nil, []string{"empty"}},
		{[]string{"-r", "full"}, nil, []string{"full", "full/x", "full/deep", "full/deep/y"}},
		{[]string{"full"}, map[string]any{"recursive": true}, []string{"full", "full/x", "full/deep", "full/deep/y"}},
		{[]string{"-r", "../../full/deep"}, nil, []string{"full/deep", "full/deep/y"}},
	} {
		root := tree(t)
		before := names(t, root)
		res := sdktest.Run(t, New(), sdktest.Request{Root: root, Args: tc.args, Params: tc.params})
		if res.Err != nil {
			t.Errorf("rm %v: %v", tc.args, res.Err)
			continue
		}
		want := slices.DeleteFunc(before, func(n string) bool { return slices.Contains(tc.gone, n) })
		if got := names(t, root); !slices.Equal(got, want) {
			t.Errorf("rm %v left %v, want %v", tc.args, got, want)
		}
	}
}

// A symlink is removed, not what it points to, even with -r and even when
// it leads outside the tree.
func TestRemoveLinkOnly(t *testing.T) {
	root := tree(t)
	outside := t.TempDir()
	os.WriteFile(filepath.Join(outside, "keep"), []byte("k"), 0o644)
	os.Symlink(outside, filepath.Join(root, "out"))
	os.Symlink(outside, filepath.Join(root, "full", "out"))
	for _, args := range [][]string{{"out"}, {"-r", "full"}} {
		if res := sdktest.Run(t, New(), sdktest.Request{Root: root, Args: args}); res.Err != nil {
			t.Fatalf("rm %v: %v", args, res.Err)
		}
	}
	if _, err := os.Stat(filepath.Join(outside, "keep")); err != nil {
		t.Fatalf("a file outside the tree went: %v", err)
	}
	if res := sdktest.Run(t, New(), sdktest.Request{Root: root, Args: []string{"-r", "out/keep"}}); res.Code != sdk.CodeNotFound {
		t.Fatalf("rm through a removed link: %v", res.Err)
	}
}

func TestRemoveBad(t *testing.T) {
	outside := t.TempDir()
	os.WriteFile(filepath.Join(outside, "keep"), []byte("k"), 0o644)
	for _, tc := range []struct {
		args []string
		code sdk.Code
		msg  string
	}{
		{[]string{"-r", "/"}, sdk.CodePermission, "rm /: the top of the tree cannot be removed"},
		{[]string{"-r", "full/.."}, sdk.CodePermission, "the top of the tree"},
		{[]string{"-r", "../.."}, sdk.CodePermission, "the top of the tree"},
		{[]string{"full"}, sdk.CodeBadRequest, "rm full: is a folder; use rm -r"},
		{[]string{"missing"}, sdk.CodeNotFound, "rm missing: no such file or folder"},
		{[]string{"a.txt", "missing"}, sdk.CodeNotFound, "rm missing"},
		{[]string{"a.txt", "bad\nname"}, sdk.CodeBadRequest, "control character"},
		{[]string{"out/keep"}, sdk.CodePermission, "rm out/keep: outside the served tree"},
		{[]string{strings.Repeat("n", 300)}, sdk.CodeNameTooLong, "file name too long"},
		{nil, sdk.CodeBadRequest, "rm needs a path"},
		{[]string{".selectftp-part-00"}, sdk.CodeBadRequest, "reserved"},
	} {
		root := tree(t)
		os.Symlink(outside, filepath.Join(root, "out"))
		os.WriteFile(filepath.Join(root, ".selectftp-part-00"), nil, 0o644)
		before := names(t, root)
		res := sdktest.Run(t, New(), sdktest.Request{Root: root, Args: tc.args})
		if res.Code != tc.code || !strings.Contains(res.Message, tc.msg) {
			t.Errorf("rm %q: %s %q, want %s %q", tc.args, res.Code, res.Message, tc.code, tc.msg)
		}
		// The missing path is checked by its own Lstat: a.txt before it
		// goes, as in rm(1); every other refusal changes nothing.
		if got := names(t, root); tc.msg != "rm missing" && !slices.Equal(got, before) {
			t.Errorf("rm %q changed the tree: %v", tc.args, got)
		}
	}
	if _, err := os.Stat(filepath.Join(outside, "keep")); err != nil {
		t.Fatal(err)
	}
}

func TestReadme(t *testing.T) { readme.Check(t, New(), false) }
