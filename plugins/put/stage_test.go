package put

import (
	"bytes"
	"os"
	"path/filepath"
	"testing"

	"github.com/selectftp/selectftp/sdk"
	"github.com/selectftp/selectftp/sdk/sdktest"
)

// The hidden-name fallback (systems without O_TMPFILE) stores uploads and
// cleans up failed ones just the same.
func TestNamedStageFallback(t *testing.T) {
	preferUnnamed = false
	defer func() { preferUnnamed = true }()
	dir := t.TempDir()
	data := bytes.Repeat([]byte("x"), 100_000)

	req := uploadReq("ok.bin", data)
	req.Root, req.Body = dir, bytes.NewReader(data)
	if res := sdktest.Run(t, New(), req); res.Err != nil {
		t.Fatal(res.Err)
	}
	if got, _ := os.ReadFile(filepath.Join(dir, "ok.bin")); !bytes.Equal(got, data) {
		t.Fatal("stored file differs")
	}

	req = uploadReq("bad.bin", data)
	req.Root, req.Body = dir, bytes.NewReader(data[:500]) // shorter than declared
	if res := sdktest.Run(t, New(), req); res.Code != sdk.CodeChecksum {
		t.Fatalf("short upload: %s %q", res.Code, res.Message)
	}
	if got := files(t, dir); len(got) != 1 || got[0] != "ok.bin" {
		t.Fatalf("left behind: %q", got)
	}
}
