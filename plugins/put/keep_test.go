package put

import (
	"os"
	"path/filepath"
	"syscall"
	"testing"
	"time"

	"github.com/selectftp/selectftp/sdk"
	"github.com/selectftp/selectftp/sdk/sdktest"
)

// TestPutKeepsTimeAndMode: the mtime and mode params (the client's -p)
// are on the file when it appears, new or replacing one, on every
// transport.
func TestPutKeepsTimeAndMode(t *testing.T) {
	old := syscall.Umask(0o022)
	defer syscall.Umask(old)
	mtime := time.Date(2021, 3, 4, 5, 6, 7, 123456789, time.UTC)
	both(t, func(t *testing.T, cmd sdk.Command) {
		dir := t.TempDir()
		for _, name := range []string{"new.txt", "new.txt"} { // the second replaces
			req := uploadReq(name, []byte("kept"))
			req.Root = dir
			req.Params["mtime"] = mtime.Format(time.RFC3339Nano)
			req.Params["mode"] = "0751"
			if res := sdktest.Run(t, cmd, req); res.Err != nil {
				t.Fatalf("put: %v", res.Err)
			}
			fi, err := os.Stat(filepath.Join(dir, name))
			if err != nil {
				t.Fatal(err)
			}
			if !fi.ModTime().Equal(mtime) || fi.Mode().Perm() != 0o751 {
				t.Fatalf("stored with mtime %v, mode %v; want %v, 0751", fi.ModTime(), fi.Mode(), mtime)
			}
		}
	})
}

// TestPutKeepBadParams: a bad mtime or mode is bad_request before the
// body is read, and nothing is stored.
func TestPutKeepBadParams(t *testing.T) {
	for _, p := range []map[string]any{
		{"mtime": "yesterday"}, {"mtime": "2021-03-04"}, {"mtime": 5},
		{"mode": "rw-r--r--"}, {"mode": "0999"}, {"mode": "4755"}, {"mode": "1777"}, {"mode": "-1"}, {"mode": "07777"}, {"mode": 420},
	} {
		both(t, func(t *testing.T, cmd sdk.Command) {
			dir := t.TempDir()
			params := map[string]any{"path": "x"}
			for k, v := range p {
				params[k] = v
			}
			res := sdktest.Run(t, cmd, sdktest.Request{Root: dir, Params: params, Body: unread(t, cmd), Size: sdktest.Declared(3)})
			if res.Code != sdk.CodeBadRequest {
				t.Errorf("%v: %s %q, want bad_request", p, res.Code, res.Message)
			}
			expectFiles(t, dir)
		})
	}
}
