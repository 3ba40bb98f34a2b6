package cd

import (
	"context"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/selectftp/selectftp/internal/readme"
	"github.com/selectftp/selectftp/sdk"
)

// session is a ResponseWriter that keeps the folder SetDir sets, as the
// host does for a session (sdktest's recorder keeps none).
type session struct {
	body strings.Builder
	dir  string
}

func (s *session) Write(p []byte) (int, error)    { return s.body.Write(p) }
func (s *session) SetMeta(string, any) error      { return nil }
func (s *session) SetSessionDir(dir string) error { s.dir = dir; return nil }

func run(t *testing.T, root *os.Root, dir string, args ...string) (*session, error) {
	t.Helper()
	w := &session{}
	err := New().Run(context.Background(), &sdk.Request{Verb: "cd", Args: args, Root: root, Dir: dir}, w)
	return w, err
}

func TestCd(t *testing.T) {
	base := t.TempDir()
	os.MkdirAll(filepath.Join(base, "a/b"), 0o755)
	os.WriteFile(filepath.Join(base, "a/f.txt"), nil, 0o644)
	os.Symlink("a/b", filepath.Join(base, "lb"))
	root, err := os.OpenRoot(base)
	if err != nil {
		t.Fatal(err)
	}
	defer root.Close()
	for _, tc := range []struct {
		dir  string
		args []string
		want string
	}{
		{"/", []string{"a"}, "/a"},
		{"/a", []string{"b"}, "/a/b"},
		{"/a/b", []string{".."}, "/a"},
		{"/a/b", []string{"../../../.."}, "/"},
		{"/a/b", []string{"/a"}, "/a"},
		{"/a/b", nil, "/"},
		{"", []string{"lb"}, "/lb"},
	} {
		w, err := run(t, root, tc.dir, tc.args...)
		if err != nil || w.dir != tc.want || w.body.String() != tc.want+"\n" {
			t.Errorf("in %s cd %v: %v dir %q body %q, want %q", tc.dir, tc.args, err, w.dir, w.body.String(), tc.want)
		}
	}
}

func TestCdBad(t *testing.T) {
	base := t.TempDir()
	os.MkdirAll(filepath.Join(base, "a"), 0o755)
	os.WriteFile(filepath.Join(base, "f.txt"), nil, 0o644)
	os.Symlink(t.TempDir(), filepath.Join(base, "out"))
	root, _ := os.OpenRoot(base)
	defer root.Close()
	for _, tc := range []struct {
		args []string
		code sdk.Code
		msg  string
	}{
		{[]string{"missing"}, sdk.CodeNotFound, "cd missing: no such file or folder"},
		{[]string{"../f.txt"}, sdk.CodeBadRequest, "cd ../f.txt: not a folder"},
		{[]string{"/out"}, sdk.CodePermission, "cd /out: outside the served tree"},
		{[]string{"a\nb"}, sdk.CodeBadRequest, "control character"},
		{[]string{"a", "b"}, sdk.CodeBadRequest, "cd takes one path"},
	} {
		w, err := run(t, root, "/a", tc.args...)
		if sdk.CodeOf(err) != tc.code || !strings.Contains(sdk.MessageOf(err), tc.msg) || w.dir != "" {
			t.Errorf("cd %q: %v (dir %q), want %s %q", tc.args, err, w.dir, tc.code, tc.msg)
		}
	}
}

func TestReadme(t *testing.T) { readme.Check(t, New(), false) }
