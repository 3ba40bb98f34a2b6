package mkdir

import (
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/selectftp/selectftp/internal/readme"
	"github.com/selectftp/selectftp/sdk"
	"github.com/selectftp/selectftp/sdk/sdktest"
)

func TestMkdir(t *testing.T) {
	for _, tc := range []struct {
		args   []string
		params map[string]any
		dirs   []string
	}{
		{[]string{"a"}, nil, []string{"a"}},
		{[]string{"/a", "a/b"}, nil, []string{"a/b"}},
		{[]string{"-p", "x/y/z"}, nil, []string{"x/y/z"}},
		{[]string{"x/y/z"}, map[string]any{"parents": true}, []string{"x/y/z"}},
		{[]string{"-p", "have", "have/new"}, nil, []string{"have/new"}},
		{[]string{"../../up"}, nil, []string{"up"}},
	} {
		root := t.TempDir()
		os.Mkdir(filepath.Join(root, "have"), 0o755)
		res := sdktest.Run(t, New(), sdktest.Request{Root: root, Args: tc.args, Params: tc.params})
		if res.Err != nil {
			t.Errorf("mkdir %v: %v", tc.args, res.Err)
		}
		for _, d := range tc.dirs {
			if fi, err := os.Stat(filepath.Join(root, d)); err != nil || !fi.IsDir() {
				t.Errorf("mkdir %v: %s: %v", tc.args, d, err)
			}
		}
	}
}

func TestMkdirBad(t *testing.T) {
	outside := t.TempDir()
	for _, tc := range []struct {
		args []string
		code sdk.Code
		msg  string
	}{
		{[]string{"have"}, sdk.CodeExists, "mkdir have: already exists"},
		{[]string{"file"}, sdk.CodeExists, "mkdir file: already exists"},
		{[]string{"-p", "file"}, sdk.CodeExists, "mkdir file: a file of that name exists"},
		{[]string{"/"}, sdk.CodeExists, "already exists"},
		{[]string{"no/such"}, sdk.CodeNotFound, "mkdir no/such: the folder it goes in does not exist"},
		{[]string{"bad\nname"}, sdk.CodeBadRequest, "control character"},
		{[]string{"-p", "new", "bad\x01"}, sdk.CodeBadRequest, "control character"},
		{[]string{strings.Repeat("n", 300)}, sdk.CodeNameTooLong, "file name too long"},
		{[]string{"-p", "ok/" + strings.Repeat("n", 300)}, sdk.CodeNameTooLong, "file name too long"},
		{[]string{"out/new"}, sdk.CodePermission, "outside the served tree"},
		{[]string{"-p", "out/new/deeper"}, sdk.CodePermission, "outside the served tree"},
		{[]string{".selectftp-part-1"}, sdk.CodeBadRequest, "reserved"},
		{nil, sdk.CodeBadRequest, "mkdir needs a path"},
	} {
		root := t.TempDir()
		os.Mkdir(filepath.Join(root, "have"), 0o755)
		os.WriteFile(filepath.Join(root, "file"), nil, 0o644)
		os.Symlink(outside, filepath.Join(root, "out"))
		res := sdktest.Run(t, New(), sdktest.Request{Root: root, Args: tc.args})
		if res.Code != tc.code || !strings.Contains(res.Message, tc.msg) {
			t.Errorf("mkdir %q: %s %q, want %s %q", tc.args, res.Code, res.Message, tc.code, tc.msg)
		}
		if ents, _ := os.ReadDir(root); len(ents) != 3 {
			t.Errorf("mkdir %q changed the tree: %d entries", tc.args, len(ents))
		}
		if ents, _ := os.ReadDir(outside); len(ents) != 0 {
			t.Fatalf("mkdir %q made a folder outside", tc.args)
		}
	}
}

func TestReadme(t *testing.T) { readme.Check(t, New(), false) }
