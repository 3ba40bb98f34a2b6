package pluginrpc_test

import (
	"bytes"
	"context"
	"crypto/sha256"
	"io"
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/selectftp/selectftp/sdk"
	"github.com/selectftp/selectftp/sdk/sdktest"
)

// hostWriter is a host-like ResponseWriter: it records whether file ranges
// reached it as descriptors (SendFile) or as bytes.
type hostWriter struct {
	bytes.Buffer
	sentFiles int
}

func (w *hostWriter) SetMeta(string, any) error { return nil }

func (w *hostWriter) SendFileDigest(f *os.File, off, n int64, _ []byte) error {
	w.sentFiles++
	_, err := io.Copy(&w.Buffer, io.NewSectionReader(f, off, n))
	return err
}

// hostBody is a host-like request body that can write itself into a file,
// hashing with SHA-256: the requests that use it ask for sha256.
type hostBody struct {
	*bytes.Reader
	intoFiles int
}

func (b *hostBody) WriteBodyTo(f *os.File, off, limit int64) (int64, []byte, bool, error) {
	b.intoFiles++
	h := sha256.New()
	n, err := io.Copy(io.MultiWriter(io.NewOffsetWriter(f, off), h), io.LimitReader(b.Reader, limit))
	over := b.Len() > 0
	return n, h.Sum(nil), over, err
}

// With the descriptor channel, a plugin's io.Copy of a file into its
// response, and of its body into a file, move descriptors, not bytes; with
// plain gRPC the same plugin code streams. Both give the same result.
func TestFilesTravelAsDescriptors(t *testing.T) {
	dir := t.TempDir()
	data := bytes.Repeat([]byte("selectftp "), 100_000)
	os.WriteFile(filepath.Join(dir, "src"), data, 0o644)
	cmd := sdk.Func(sdk.Description{Verb: "copy"}, func(ctx context.Context, req *sdk.Request, w sdk.ResponseWriter) error {
		dst, err := os.Create(filepath.Join(dir, "dst-"+req.Args[0]))
		if err != nil {
			return err
		}
		defer dst.Close()
		n, sum, err := sdk.SaveBody(req, dst, int64(len(data))+1)
		if err != nil {
			return err
		}
		if n != int64(len(data)) || sum.Algorithm != "sha256" || !bytes.Equal(sum.Sum, sha256Sum(data)) {
			t.Errorf("SaveBody = %d bytes, digest %s:%x", n, sum.Algorithm, sum.Sum)
		}
		// What is left to read is nothing, on every path (reading after
		// the host saved the body once waited for ever).
		if rest, err := io.ReadAll(req.Body); err != nil || len(rest) != 0 {
			t.Errorf("reading after SaveBody: %d bytes, %v", len(rest), err)
		}
		if n, _, err := sdk.SaveBody(req, dst, 10); n != 0 || err != nil {
			t.Errorf("a second SaveBody: %d bytes, %v", n, err)
		}
		src, err := os.Open(filepath.Join(dir, "src"))
		if err != nil {
			return err
		}
		defer src.Close()
		_, err = io.Copy(w, src)
		return err
	})
	for _, tc := range []struct {
		name      string
		serve     func(testing.TB, sdk.Command) sdk.Command
		wantFiles int
	}{
		{"descriptors", sdktest.ServeGRPC, 1},
		{"streaming", sdktest.ServeGRPCStreaming, 0},
	} {
		t.Run(tc.name, func(t *testing.T) {
			remote := tc.serve(t, cmd)
			w := &hostWriter{}
			body := &hostBody{Reader: bytes.NewReader(data)}
			ctx, cancel := context.WithTimeout(t.Context(), 20*time.Second)
			defer cancel()
			err := remote.Run(ctx, &sdk.Request{Verb: "copy", Args: []string{tc.name}, Body: body,
				BodySize: int64(len(data)), Checksum: "sha256"}, w)
			if err != nil {
				t.Fatal(err)
			}
			if w.sentFiles != tc.wantFiles || body.intoFiles != tc.wantFiles {
				t.Errorf("files passed: response %d, body %d; want %d each", w.sentFiles, body.intoFiles, tc.wantFiles)
			}
			if !bytes.Equal(w.Bytes(), data) {
				t.Error("response differs from the file")
			}
			if got, _ := os.ReadFile(filepath.Join(dir, "dst-"+tc.name)); !bytes.Equal(got, data) {
				t.Error("stored body differs")
			}
		})
	}
}

func sha256Sum(b []byte) []byte { s := sha256.Sum256(b); return s[:] }
