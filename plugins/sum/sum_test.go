package sum

import (
	"crypto/sha256"
	"encoding/hex"
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

func want(alg checksum.Algorithm, b []byte) string {
	h := alg.New()
	h.Write(b)
	return alg.Encode(h.Sum(nil))
}

func TestSum(t *testing.T) {
	root := t.TempDir()
	os.Mkdir(filepath.Join(root, "d"), 0o755)
	a, b := []byte("hello\n"), []byte(strings.Repeat("x", 3<<20))
	os.WriteFile(filepath.Join(root, "a.txt"), a, 0o644)
	os.WriteFile(filepath.Join(root, "d", "b.bin"), b, 0o644)
	for _, alg := range checksum.All() {
		for _, req := range []sdktest.Request{
			{Args: []string{"--checksum", alg.String(), "a.txt", "/d/../d/b.bin"}},
			{Args: []string{"-c", alg.String(), "a.txt", "d/b.bin"}},
			{Args: []string{"a.txt", "d/b.bin"}, Params: map[string]any{"checksum": alg.String()}},
			{Args: []string{"a.txt", "d/b.bin"}, Checksum: alg.String()},
		} {
			req.Root = root
			res := sdktest.Run(t, New(), req)
			exp := want(alg, a) + "  /a.txt\n" + want(alg, b) + "  /d/b.bin\n"
			if res.Err != nil || string(res.Body) != exp {
				t.Errorf("sum %v (%s): %v\n%s\nwant\n%s", req.Args, req.Checksum, res.Err, res.Body, exp)
			}
		}
	}
	// The digest was cached: get and stat see it without reading.
	f, _ := os.Open(filepath.Join(root, "a.txt"))
	defer f.Close()
	fi, _ := f.Stat()
	if s, ok := digest.Lookup(checksum.SHA256, f, fi); !ok || hex.EncodeToString(s) != want(checksum.SHA256, a) {
		t.Fatalf("not cached: %x %v", s, ok)
	}
}

// A cached digest is used as is: a wrong one recorded for the file's
// current stamp shows (which is why only verified digests are recorded).
func TestSumUsesCache(t *testing.T) {
	root := t.TempDir()
	name := filepath.Join(root, "a.txt")
	os.WriteFile(name, []byte("a"), 0o644)
	f, _ := os.Open(name)
	defer f.Close()
	fi, _ := f.Stat()
	fake := sha256.Sum256([]byte("not a"))
	digest.Record(checksum.SHA256, f, fi, fake[:])
	res := sdktest.Run(t, New(), sdktest.Request{Root: root, Args: []string{"-c", "sha256", "a.txt"}})
	if string(res.Body) != hex.EncodeToString(fake[:])+"  /a.txt\n" {
		t.Fatalf("%s", res.Body)
	}
}

func TestSumBad(t *testing.T) {
	root := t.TempDir()
	os.Mkdir(filepath.Join(root, "d"), 0o755)
	os.WriteFile(filepath.Join(root, "a.txt"), nil, 0o644)
	os.Symlink(t.TempDir(), filepath.Join(root, "out"))
	for _, tc := range []struct {
		args []string
		code sdk.Code
		msg  string
	}{
		{[]string{"missing"}, sdk.CodeNotFound, "sum missing: no such file or folder"},
		{[]string{"a.txt", "d"}, sdk.CodeBadRequest, "sum d: not a regular file"},
		{[]string{"--checksum", "md5", "a.txt"}, sdk.CodeBadRequest, `unknown checksum "md5"`},
		{[]string{"--checksum"}, sdk.CodeBadRequest, "--checksum needs a value"},
		{[]string{"out/x"}, sdk.CodePermission, "outside the served tree"},
		{[]string{"x\ny"}, sdk.CodeBadRequest, "control character"},
		{nil, sdk.CodeBadRequest, "sum needs a path"},
	} {
		res := sdktest.Run(t, New(), sdktest.Request{Root: root, Args: tc.args})
		if res.Code != tc.code || !strings.Contains(res.Message, tc.msg) {
			t.Errorf("sum %q: %s %q, want %s %q", tc.args, res.Code, res.Message, tc.code, tc.msg)
		}
	}
}

func TestReadme(t *testing.T) { readme.Check(t, New(), false) }
