package put

import (
	"bytes"
	"crypto/rand"
	"errors"
	"io"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"testing/iotest"

	"github.com/selectftp/selectftp/sdk"
	"github.com/selectftp/selectftp/sdk/sdktest"
)

// TestPutAppend: append keeps the current file's bytes (all, or the first
// offset) and adds the body; the old file stays whole until the new one
// is; a link or a missing prefix is refused; no digest of kept bytes is
// reported to an account that may only write.
func TestPutAppend(t *testing.T) {
	old := make([]byte, 1<<20+9) // over a MiB: copied and written in pieces
	rand.Read(old)
	body := make([]byte, 2<<20+1)
	rand.Read(body)
	cat := func(a, b []byte) []byte { return append(bytes.Clone(a), b...) }
	const off = 4097
	cases := []struct {
		name   string
		old    []byte // "f" before; nil: absent
		link   bool   // "f" is a link to "g" holding old
		params map[string]any
		endErr error
		code   sdk.Code
		msg    string
		want   []byte // "f" after
	}{
		{name: "appends to the whole file", old: old, params: map[string]any{"append": true}, want: cat(old, body)},
		{name: "keeps offset bytes, drops the rest", old: old, params: map[string]any{"append": true, "offset": off},
			want: cat(old[:off], body)},
		{name: "offset = size is APPE", old: old, params: map[string]any{"append": true, "offset": len(old)}, want: cat(old, body)},
		{name: "no file yet: the body", params: map[string]any{"append": true}, want: body},
		{name: "offset past the end", old: old, params: map[string]any{"append": true, "offset": len(old) + 1},
			code: sdk.CodeBadRequest, msg: "past the end", want: old},
		{name: "offset with no file", params: map[string]any{"append": true, "offset": 5}, code: sdk.CodeBadRequest, msg: "no file"},
		{name: "an interrupted append keeps the old file", old: old, params: map[string]any{"append": true},
			endErr: errors.New("connection reset"), code: sdk.CodeCanceled, want: old},
		{name: "a link is not appended to", old: old, link: true, params: map[string]any{"append": true},
			code: sdk.CodeBadRequest, msg: "not a regular file"},
		{name: "with resume", old: old, params: map[string]any{"append": true, "resume": true},
			code: sdk.CodeBadRequest, msg: "does not go with resume", want: old},
	}
	both(t, func(t *testing.T, cmd sdk.Command) {
		for _, tt := range cases {
			dir := t.TempDir()
			f := filepath.Join(dir, "f")
			if tt.old != nil {
				target := f
				if tt.link {
					target = filepath.Join(dir, "g")
					if err := os.Symlink("g", f); err != nil {
						t.Fatal(err)
					}
				}
				if err := os.WriteFile(target, tt.old, 0o640); err != nil {
					t.Fatal(err)
				}
			}
			params := map[string]any{"path": "f"}
			for k, v := range tt.params {
				params[k] = v
			}
			var src io.Reader = bytes.NewReader(body)
			if tt.endErr != nil {
				src = io.MultiReader(bytes.NewReader(body[:len(body)/2]), iotest.ErrReader(tt.endErr))
			}
			res := sdktest.Run(t, cmd, sdktest.Request{Root: dir, Params: params, Body: src, Size: sdktest.Declared(int64(len(body)))})
			if tt.code == "" {
				tt.code = sdk.CodeOK
			}
			if res.Code != tt.code || !strings.Contains(res.Message, tt.msg) {
				t.Errorf("%s: %s %q, want %s %q", tt.name, res.Code, res.Message, tt.code, tt.msg)
				continue
			}
			if tt.link {
				if fi, err := os.Lstat(f); err != nil || fi.Mode()&os.ModeSymlink == 0 {
					t.Errorf("%s: the link was replaced (%v)", tt.name, err)
				}
				continue
			}
			waitContent(t, tt.name+": f", f, tt.want)
			if tt.code != sdk.CodeOK {
				continue
			}
			if got := res.Meta["size"]; got != float64(len(tt.want)) {
				t.Errorf("%s: size %v, want %d", tt.name, got, len(tt.want))
			}
			kept := tt.old != nil
			for k := range res.Meta {
				if k != "path" && k != "size" && k != "usage_bytes" && k != "usage_files" && kept {
					t.Errorf("%s: meta %q reports on kept bytes a write-only account may not read", tt.name, k)
				}
			}
			if tt.old != nil {
				if fi, err := os.Stat(f); err != nil || fi.Mode().Perm() != 0o640 {
					t.Errorf("%s: mode %v (%v), want the old file's 0640", tt.name, fi.Mode(), err)
				}
			}
		}
	})
}
