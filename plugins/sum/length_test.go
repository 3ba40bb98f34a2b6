package sum

import (
	"bytes"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/selectftp/selectftp/internal/checksum"
	"github.com/selectftp/selectftp/plugins/internal/digest"
	"github.com/selectftp/selectftp/sdk"
	"github.com/selectftp/selectftp/sdk/sdktest"
)

// sum with length is the digest of the file's first length bytes, in the
// same line format, never the cached whole-file digest: get -c checks its
// local part against the remote file with it.
func TestSumLength(t *testing.T) {
	root := t.TempDir()
	data := []byte(strings.Repeat("0123456789", 300_000))
	p := filepath.Join(root, "f")
	if err := os.WriteFile(p, data, 0o644); err != nil {
		t.Fatal(err)
	}
	f, err := os.Open(p)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	fi, _ := f.Stat()
	for _, alg := range checksum.All() { // a wrong cached digest must not show
		digest.Record(alg, f, fi, bytes.Repeat([]byte{0xbd}, alg.Size()))
	}
	n := len(data)
	tests := []struct {
		name   string
		args   []string
		length any
		code   sdk.Code
		out    []byte // the bytes digested
		msg    string
	}{
		{name: "prefix", args: []string{"f"}, length: 12_345, out: data[:12_345]},
		{name: "zero", args: []string{"f"}, length: 0, out: []byte{}},
		{name: "the whole file", args: []string{"/f"}, length: n, out: data},
		{name: "past the end", args: []string{"f"}, length: n + 1, code: sdk.CodeBadRequest, msg: "f has only 3000000 bytes"},
		{name: "two paths", args: []string{"f", "f"}, length: 1, code: sdk.CodeBadRequest, msg: "length goes with exactly one path"},
		{name: "negative", args: []string{"f"}, length: -1, code: sdk.CodeBadRequest, msg: "length -1"},
		{name: "not a number", args: []string{"f"}, length: "1", code: sdk.CodeBadRequest, msg: "length"},
	}
	for _, alg := range checksum.All() {
		for _, tt := range tests {
			res := sdktest.Run(t, New(), sdktest.Request{Root: root, Args: tt.args, Checksum: alg.String(),
				Params: map[string]any{"length": tt.length}})
			if tt.code == "" {
				tt.code = sdk.CodeOK
			}
			if res.Code != tt.code || !strings.Contains(res.Message, tt.msg) {
				t.Errorf("%s %s: %s %q, want %s %q", alg, tt.name, res.Code, res.Message, tt.code, tt.msg)
			}
			if tt.out != nil {
				if exp := want(alg, tt.out) + "  /f\n"; string(res.Body) != exp {
					t.Errorf("%s %s: %q, want %q", alg, tt.name, res.Body, exp)
				}
			}
		}
	}
}
