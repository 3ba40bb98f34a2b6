package stat

import (
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/selectftp/selectftp/internal/checksum"
	"github.com/selectftp/selectftp/internal/readme"
	"github.com/selectftp/selectftp/plugins/internal/digest"
	"github.com/selectftp/selectftp/sdk"
	"github.com/selectftp/selectftp/sdk/sdktest"
)

func TestStat(t *testing.T) {
	root := t.TempDir()
	os.Mkdir(filepath.Join(root, "sub"), 0o755)
	os.WriteFile(filepath.Join(root, "sub", "a.txt"), []byte("hello\n"), 0o640)
	os.Symlink("sub/a.txt", filepath.Join(root, "link"))
	for _, tc := range []struct {
		req  sdktest.Request
		want map[string]any
	}{
		{sdktest.Request{Args: []string{"sub/a.txt"}}, map[string]any{"path": "/sub/a.txt", "type": "file", "size": 6.0, "mode": "-rw-r-----"}},
		{sdktest.Request{Args: []string{"/sub/../sub"}}, map[string]any{"path": "/sub", "type": "dir", "mode": "drwxr-xr-x"}},
		{sdktest.Request{Params: map[string]any{"path": "link"}}, map[string]any{"path": "/link", "type": "link"}},
		{sdktest.Request{Args: []string{".."}}, map[string]any{"path": "/", "type": "dir"}},
	} {
		tc.req.Root = root
		res := sdktest.Run(t, New(), tc.req)
		if res.Err != nil || len(res.Body) != 0 {
			t.Errorf("stat %v: %v %q", tc.req.Args, res.Err, res.Body)
			continue
		}
		for k, v := range tc.want {
			if res.Meta[k] != v {
				t.Errorf("stat %v: %s = %v, want %v", tc.req.Args, k, res.Meta[k], v)
			}
		}
		if m, _ := res.Meta["mtime"].(string); !strings.HasSuffix(m, "Z") {
			t.Errorf("mtime %q", m)
		}
	}
}

// A digest the server has recorded shows, per algorithm; none is computed.
func TestStatDigest(t *testing.T) {
	root := t.TempDir()
	name := filepath.Join(root, "a.txt")
	os.WriteFile(name, []byte("hello\n"), 0o644)
	res := sdktest.Run(t, New(), sdktest.Request{Root: root, Args: []string{"a.txt"}})
	for _, alg := range checksum.All() {
		if _, ok := res.Meta[alg.String()]; ok {
			t.Fatalf("a digest before any was recorded: %v", res.Meta)
		}
	}
	f, _ := os.Open(name)
	defer f.Close()
	fi, _ := f.Stat()
	h := checksum.SHA256.New()
	h.Write([]byte("hello\n"))
	digest.Record(checksum.SHA256, f, fi, h.Sum(nil))
	res = sdktest.Run(t, New(), sdktest.Request{Root: root, Args: []string{"a.txt"}})
	if got := res.Meta["sha256"]; got != "5891b5b522d5df086d0ff0b110fbd9d21bb4fc7163af34d08286a2e846f6be03" {
		t.Fatalf("sha256 = %v (meta %v)", got, res.Meta)
	}
}

func TestStatBad(t *testing.T) {
	root := t.TempDir()
	outside := t.TempDir()
	os.Symlink(outside, filepath.Join(root, "out"))
	for _, tc := range []struct {
		args []string
		code sdk.Code
		msg  string
	}{
		{[]string{"missing"}, sdk.CodeNotFound, "stat missing: no such file or folder"},
		{nil, sdk.CodeBadRequest, "stat takes one path"},
		{[]string{"a", "b"}, sdk.CodeBadRequest, "stat takes one path"},
		{[]string{"out/x"}, sdk.CodePermission, "stat out/x: outside the served tree"},
		{[]string{"x\ty"}, sdk.CodeBadRequest, "control character"},
		{[]string{strings.Repeat("n", 300)}, sdk.CodeNameTooLong, "file name too long"},
	} {
		res := sdktest.Run(t, New(), sdktest.Request{Root: root, Args: tc.args})
		if res.Code != tc.code || !strings.Contains(res.Message, tc.msg) {
			t.Errorf("stat %q: %s %q, want %s %q", tc.args, res.Code, res.Message, tc.code, tc.msg)
		}
	}
}

func TestReadme(t *testing.T) { readme.Check(t, New(), false) }
