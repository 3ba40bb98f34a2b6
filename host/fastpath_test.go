package host

import (
	"bytes"
	"context"
	"io"
	"math/rand"
	"os"
	"path/filepath"
	"testing"

	"github.com/selectftp/selectftp/sdk"
)

// In-process commands get the same fast paths as plugins: io.Copy of a file
// into the response (sendfile), and io.Copy of the body into a file, hashed
// on the way (sdk.SaveBody).
func TestFileFastPaths(t *testing.T) {
	forEachBackend(t, func(t *testing.T, backend string) {
		dir := t.TempDir()
		hashed := make(chan bool, 1)
		_, addr := startServer(t, backend, func(s *Server) {
			s.Register(sdk.Func(sdk.Description{Verb: "store"}, func(ctx context.Context, req *sdk.Request, w sdk.ResponseWriter) error {
				var p struct{ Size int64 }
				req.Decode(&p)
				f, err := os.Create(filepath.Join(dir, "stored"))
				if err != nil {
					return err
				}
				defer f.Close()
				n, sum, err := sdk.SaveBody(req, f, p.Size+1)
				if err != nil {
					return err
				}
				hashed <- !sum.IsZero()
				w.SetMeta("size", n)
				return w.SetMeta("digest", sum.String())
			}))
			s.Register(sdk.Func(sdk.Description{Verb: "fetch"}, func(ctx context.Context, req *sdk.Request, w sdk.ResponseWriter) error {
				f, err := os.Open(filepath.Join(dir, "stored"))
				if err != nil {
					return err
				}
				defer f.Close()
				f.Seek(3, io.SeekStart) // from the current offset, as io.Copy would
				_, err = io.CopyN(w, f, 1<<40)
				if err == io.EOF {
					err = nil
				}
				return err
			}))
		})
		c := dialRaw(t, addr).hello()
		for _, n := range []int{3, 65537, 262145, 3<<20 + 5} {
			data := make([]byte, n)
			rand.New(rand.NewSource(int64(n))).Read(data)
			r := c.request("store", nil, map[string]any{"size": n}, data)
			if !r.status.OK() || r.meta["digest"] != xxh(data) || r.meta["size"] != float64(n) {
				t.Fatalf("store %d: %+v", n, r)
			}
			if !<-hashed {
				t.Fatalf("store %d: the body was not hashed on the way", n)
			}
			r = c.request("fetch", nil, nil, nil)
			if !r.status.OK() || !bytes.Equal(r.body, data[3:]) {
				t.Fatalf("fetch %d: status %+v, %d bytes", n, r.status, len(r.body))
			}
		}
		// A body longer than the limit stops at the limit.
		r := c.request("store", nil, map[string]any{"size": 4}, []byte("0123456789"))
		if r.meta["size"] != float64(5) {
			t.Fatalf("limited store: %+v", r)
		}
		<-hashed
	})
}
