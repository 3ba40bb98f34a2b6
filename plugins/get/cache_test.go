package get

import (
	"bytes"
	"context"
	"errors"
	"io"
	"os"
	"path/filepath"
	"sync"
	"testing"
	"time"

	"github.com/selectftp/selectftp/client"
	"github.com/selectftp/selectftp/host/hosttest"
	"github.com/selectftp/selectftp/internal/checksum"
	"github.com/selectftp/selectftp/plugins/internal/digest"
	"github.com/selectftp/selectftp/plugins/put"
	"github.com/selectftp/selectftp/sdk"
	"github.com/selectftp/selectftp/sdk/sdktest"
)

// sender is a host-like ResponseWriter that sends file ranges itself, as
// the host's does: it records the known digest each range came with.
type sender struct {
	mu    sync.Mutex
	body  bytes.Buffer
	known [][]byte
}

func (w *sender) SetMeta(string, any) error { return nil }

func (w *sender) Write(p []byte) (int, error) {
	w.mu.Lock()
	defer w.mu.Unlock()
	return w.body.Write(p)
}

func (w *sender) SendFileDigest(f *os.File, off, n int64, known []byte) error {
	w.mu.Lock()
	defer w.mu.Unlock()
	w.known = append(w.known, known)
	_, err := io.Copy(&w.body, io.NewSectionReader(f, off, n))
	return err
}

// corrupt records a wrong digest for the file at path in alg's cache.
func corrupt(t *testing.T, alg checksum.Algorithm, path string) []byte {
	t.Helper()
	f, err := os.Open(path)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	fi, err := f.Stat()
	if err != nil {
		t.Fatal(err)
	}
	bad := bytes.Repeat([]byte{0xbd}, alg.Size())
	digest.Record(alg, f, fi, bad)
	return bad
}

// After a put with sha256, a get with sha256 hands the host the digest put
// recorded, so the host sends it instead of reading the file again to hash
// it; a get with another algorithm hands none. Proved by corrupting the
// cached value: the known digest follows the cache, not the bytes.
func TestGetPassesCachedDigest(t *testing.T) {
	data := []byte("hashed once, by put")
	root := t.TempDir()
	res := sdktest.Run(t, put.New(), sdktest.Request{Root: root, Args: []string{"f"}, Body: bytes.NewReader(data),
		Size: sdktest.Declared(int64(len(data))), Checksum: "sha256"})
	if res.Err != nil {
		t.Fatal(res.Err)
	}
	r, err := os.OpenRoot(root)
	if err != nil {
		t.Fatal(err)
	}
	defer r.Close()
	for _, tc := range []struct {
		name string
		cmd  sdk.Command
	}{{"in-process", New()}, {"grpc", sdktest.ServeGRPC(t, New())}} {
		get := func(alg string) *sender {
			t.Helper()
			w := &sender{}
			ctx, cancel := context.WithTimeout(t.Context(), 10*time.Second)
			defer cancel()
			if err := tc.cmd.Run(ctx, &sdk.Request{Verb: "get", Args: []string{"f"}, Root: r, BodySize: -1, Checksum: alg}, w); err != nil {
				t.Fatalf("%s: get with %s: %v", tc.name, alg, err)
			}
			if !bytes.Equal(w.body.Bytes(), data) || len(w.known) != 1 {
				t.Fatalf("%s: get with %s sent %q in %d ranges", tc.name, alg, w.body.Bytes(), len(w.known))
			}
			return w
		}
		if w := get("sha256"); checksum.SHA256.Encode(w.known[0]) != digestOf(checksum.SHA256, data) {
			t.Errorf("%s: get with sha256 after a put with sha256: known digest %x, want put's", tc.name, w.known[0])
		}
		if w := get("blake3"); w.known[0] != nil {
			t.Errorf("%s: get with blake3, never recorded: known digest %x, want none (the host hashes)", tc.name, w.known[0])
		}
	}
	bad := corrupt(t, checksum.SHA256, filepath.Join(root, "f"))
	w := &sender{}
	if err := New().Run(t.Context(), &sdk.Request{Verb: "get", Args: []string{"f"}, Root: r, BodySize: -1, Checksum: "sha256"}, w); err != nil {
		t.Fatal(err)
	}
	if len(w.known) != 1 || !bytes.Equal(w.known[0], bad) {
		t.Errorf("after corrupting the cache: known digest %x, want the cached %x", w.known, bad)
	}
}

// Through a real server the digest in the status is the cached one: a get
// after a put with the same algorithm verifies, and once the cached value
// is corrupted on purpose, the client refuses the download (the server sent
// the cache's digest without hashing the bytes).
func TestGetStatusDigestFromCache(t *testing.T) {
	srv := hosttest.NewServer(t, put.New(), New())
	data := bytes.Repeat([]byte("cache me "), 10_000)
	for _, alg := range checksum.All() {
		ctx, cancel := context.WithTimeout(t.Context(), 20*time.Second)
		conn, err := client.Dial(ctx, srv.Addr, client.WithChecksum(alg.String()))
		if err != nil {
			t.Fatal(err)
		}
		name := "f-" + alg.String()
		if err := conn.Put(ctx, bytes.NewReader(data), int64(len(data)), name, nil); err != nil {
			t.Fatalf("%s: put: %v", alg, err)
		}
		var got bytes.Buffer
		if err := conn.Get(ctx, name, &got, nil); err != nil || !bytes.Equal(got.Bytes(), data) {
			t.Fatalf("%s: get after put: %d bytes, %v", alg, got.Len(), err)
		}
		corrupt(t, alg, srv.Path(name))
		got.Reset()
		err = conn.Get(ctx, name, &got, nil)
		if !errors.Is(err, client.ErrChecksum) {
			t.Errorf("%s: get with a corrupted cached digest: %v, want the client's checksum error", alg, err)
		}
		conn.Close()
		cancel()
	}
}

// digestOf is data's digest in alg, in hex.
func digestOf(alg checksum.Algorithm, data []byte) string {
	h := alg.New()
	h.Write(data)
	return alg.Encode(h.Sum(nil))
}
