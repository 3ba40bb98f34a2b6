package put

import (
	"bytes"
	"io"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/selectftp/selectftp/sdk"
	"github.com/selectftp/selectftp/sdk/sdktest"
)

// appendReq is an append to f of a body (size declared; nil: a stream).
func appendReq(dir string, body io.Reader, size *int64, offset int64) sdktest.Request {
	params := map[string]any{"path": "f", "append": true}
	if offset > 0 {
		params["offset"] = offset
	}
	return sdktest.Request{Root: dir, Params: params, Body: body, Size: size}
}

// An append stages a copy of the bytes it keeps, so admission counts them
// with its body (review s15 finding 4): N appends of the user's largest
// file with stalled bodies staged N copies that neither max_staged nor
// the space check saw. Here one append of an 800-byte file is refused by
// a max_staged of 1000 when it declares 300 more bytes, and a stalled one
// keeps a second upload out, before either body is read.
func TestAppendAdmitsItsCopy(t *testing.T) {
	p := New().(*put)
	sdktest.Each(t, p, func(t *testing.T, cmd sdk.Command) {
		c := cmd.(sdk.Configurer)
		defer c.Configure(t.Context(), nil)
		if err := c.Configure(t.Context(), map[string]any{"max_staged": 1000}); err != nil {
			t.Fatal(err)
		}
		dir := t.TempDir()
		old := bytes.Repeat([]byte("o"), 800)
		if err := os.WriteFile(filepath.Join(dir, "f"), old, 0o644); err != nil {
			t.Fatal(err)
		}
		res := sdktest.Run(t, cmd, appendReq(dir, unread(t, cmd), sdktest.Declared(300), 0))
		if res.Code != sdk.CodeTooLarge || !strings.Contains(res.Message, "1100 bytes is over the server's limit of 1000") {
			t.Errorf("an append of 300 bytes to 800 under max_staged 1000: %s %q", res.Code, res.Message)
		}

		pr, pw := io.Pipe()
		done := make(chan sdktest.Result, 1)
		go func() { done <- sdktest.Run(t, cmd, appendReq(dir, pr, nil, 0)) }()
		waitStaged(t, p, 1, 800)
		req := uploadReq("g", bytes.Repeat([]byte("y"), 300))
		req.Root, req.Body = dir, unread(t, cmd)
		if res := sdktest.Run(t, cmd, req); res.Code != sdk.CodeNoSpace {
			t.Errorf("an upload of 300 bytes beside a stalled append of 800: %s %q", res.Code, res.Message)
		}
		pw.Write([]byte("tail"))
		pw.Close()
		if res := <-done; res.Err != nil {
			t.Errorf("the stalled append, once its body came: %v", res.Err)
		}
		waitContent(t, "f", filepath.Join(dir, "f"), append(old, "tail"...))
		waitStaged(t, p, 0, 0)
	})
}

// max_size counts the bytes an append keeps (review s15 finding 10): an
// append that would make the file larger is refused before its body is
// read, a stream too (the limit past 100 kept bytes of a 50-byte max_size
// went negative, which reads as none), and one that keeps few enough
// bytes passes.
func TestAppendMaxSizeCountsKept(t *testing.T) {
	both(t, func(t *testing.T, cmd sdk.Command) {
		c := cmd.(sdk.Configurer)
		defer c.Configure(t.Context(), nil)
		if err := c.Configure(t.Context(), map[string]any{"max_size": 50}); err != nil {
			t.Fatal(err)
		}
		dir := t.TempDir()
		old := bytes.Repeat([]byte("o"), 100)
		if err := os.WriteFile(filepath.Join(dir, "f"), old, 0o644); err != nil {
			t.Fatal(err)
		}
		for _, size := range []*int64{sdktest.Declared(10), nil} {
			res := sdktest.Run(t, cmd, appendReq(dir, unread(t, cmd), size, 0))
			if res.Code != sdk.CodeTooLarge || !strings.Contains(res.Message, "100 bytes kept") {
				t.Errorf("an append to 100 bytes under max_size 50 (size %v): %s %q", size, res.Code, res.Message)
			}
		}
		waitContent(t, "f", filepath.Join(dir, "f"), old)
		body := bytes.Repeat([]byte("b"), 10)
		if res := sdktest.Run(t, cmd, appendReq(dir, bytes.NewReader(body), sdktest.Declared(10), 40)); res.Err != nil {
			t.Errorf("keeping 40 bytes and adding 10 under max_size 50: %v", res.Err)
		}
		waitContent(t, "f", filepath.Join(dir, "f"), append(old[:40:40], body...))
	})
}
