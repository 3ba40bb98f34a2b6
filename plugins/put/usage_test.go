package put

import (
	"bytes"
	"os"
	"path/filepath"
	"testing"

	"github.com/selectftp/selectftp/sdk"
	"github.com/selectftp/selectftp/sdk/sdktest"
)

// For a logged-in user put tells the host how their storage changed (the
// host keeps their quota with it): a new file adds its size and one file,
// a replacement the difference and no file. Anonymous sessions get no
// such metadata.
func TestPutReportsUsage(t *testing.T) {
	user := &sdk.User{Name: "alice", Perms: []sdk.Perm{"list", "read", "write", "delete", "mkdir", "rename"}}
	both(t, func(t *testing.T, cmd sdk.Command) {
		dir := t.TempDir()
		for _, tc := range []struct {
			size         int
			bytes, files float64
		}{{1000, 1000, 1}, {300, -700, 0}, {300, 0, 0}} {
			req := uploadReq("f", bytes.Repeat([]byte("x"), tc.size))
			req.Root, req.User = dir, user
			res := sdktest.Run(t, cmd, req)
			if res.Err != nil {
				t.Fatal(res.Err)
			}
			if res.Meta["usage_bytes"] != tc.bytes || res.Meta["usage_files"] != tc.files {
				t.Fatalf("put of %d bytes: usage_bytes %v, usage_files %v; want %v, %v",
					tc.size, res.Meta["usage_bytes"], res.Meta["usage_files"], tc.bytes, tc.files)
			}
		}
		os.Symlink("f", filepath.Join(dir, "link"))
		req := uploadReq("link", []byte("12345"))
		req.Root, req.User = dir, user
		// A symlink replaced is not a file freed: the tree gains one.
		if res := sdktest.Run(t, cmd, req); res.Err != nil || res.Meta["usage_bytes"] != 5.0 || res.Meta["usage_files"] != 1.0 {
			t.Fatalf("put over a symlink: %v %v", res.Err, res.Meta)
		}
		req = uploadReq("g", []byte("x"))
		req.Root = dir
		if res := sdktest.Run(t, cmd, req); res.Err != nil || res.Meta["usage_bytes"] != nil {
			t.Fatalf("an anonymous put reports usage: %v %v", res.Err, res.Meta)
		}
	})
}
