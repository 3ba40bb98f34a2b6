package client

import (
	"bytes"
	"context"
	"errors"
	"io"
	"net"
	"sync"
	"testing"
	"time"

	"github.com/selectftp/selectftp/host/hosttest"
	"github.com/selectftp/selectftp/internal/checksum"
	"github.com/selectftp/selectftp/plugins/get"
	"github.com/selectftp/selectftp/plugins/helps"
	"github.com/selectftp/selectftp/plugins/put"
	"github.com/selectftp/selectftp/plugins/upper"
	"github.com/selectftp/selectftp/protocol"
)

// recorder keeps every byte a connection reads, to seed the fuzzer with
// what a real server sent.
type recorder struct {
	net.Conn
	mu  sync.Mutex
	buf bytes.Buffer
}

func (r *recorder) Read(p []byte) (int, error) {
	n, err := r.Conn.Read(p)
	r.mu.Lock()
	r.buf.Write(p[:n])
	r.mu.Unlock()
	return n, err
}

// take returns what was read since the last take.
func (r *recorder) take() []byte {
	r.mu.Lock()
	defer r.mu.Unlock()
	b := bytes.Clone(r.buf.Bytes())
	r.buf.Reset()
	return b
}

// realResponses runs requests against the real server and returns the
// bytes of each response as the client read them.
func realResponses(tb testing.TB) [][]byte {
	srv := hosttest.NewServer(tb, get.New(), put.New(), helps.New(), upper.New())
	srv.WriteFile("f", bytes.Repeat([]byte("0123456789"), 10_000))
	srv.WriteFile("empty", nil)
	var rec *recorder
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()
	c, err := Dial(ctx, srv.Addr, WithDialFunc(func(ctx context.Context, network, addr string) (net.Conn, error) {
		var d net.Dialer
		nc, err := d.DialContext(ctx, network, addr)
		rec = &recorder{Conn: nc}
		return rec, err
	}))
	if err != nil {
		tb.Fatal(err)
	}
	defer c.Close()
	rec.take() // the Hello
	var seeds [][]byte
	// Each seed is what its request really got back: a seed that failed
	// for another reason would teach the fuzzer the wrong shapes.
	run := func(wantErr bool, f func() error) {
		if err := f(); (err != nil) != wantErr {
			tb.Fatalf("seed %d: err = %v", len(seeds), err)
		}
		seeds = append(seeds, rec.take())
	}
	run(false, func() error { return c.Get(ctx, "f", io.Discard, nil) })
	run(false, func() error { return c.Get(ctx, "empty", io.Discard, nil) })
	run(true, func() error { return c.Get(ctx, "missing", io.Discard, nil) })
	run(false, func() error { _, err := c.Verbs(ctx); return err })
	run(false, func() error { _, err := c.Command(ctx, "upper", []string{"fuzz"}); return err })
	run(false, func() error { return c.Put(ctx, bytes.NewReader([]byte("x")), 1, "p", nil) })
	// From here on, streams: they ask for Continue (see FuzzReceive).
	run(false, func() error { return c.Put(ctx, bytes.NewReader([]byte("stream")), -1, "s", nil) })
	run(true, func() error { return c.Put(ctx, bytes.NewReader([]byte("x")), -1, "no/such/folder", nil) })
	return seeds
}

// FuzzReceive feeds the client's response reader any bytes, with and
// without an expect step. It must not panic, must end every response with
// a status or a clear error, must never hand the caller more body bytes
// than arrived, and must accept a response as ok only when its bytes have
// the size and digest its Status declares.
func FuzzReceive(f *testing.F) {
	for i, seed := range realResponses(f) {
		f.Add(seed, i >= 6) // the streamed puts asked for Continue
	}
	f.Add(protocol.AppendFrame(nil, protocol.TypeData, []byte("data before meta")), false)
	f.Add(protocol.AppendHeader(nil, protocol.TypeContinue, 0), false)
	// An ok Status whose digest is not the bytes': the invariant below
	// must see it refused.
	three := int64(3)
	h := checksum.XXH128.New()
	h.Write([]byte("abd"))
	lie, err := protocol.Marshal(protocol.TypeStatus, protocol.Status{Code: protocol.CodeOK, Size: &three, Digest: checksum.XXH128.Encode(h.Sum(nil))})
	if err != nil {
		f.Fatal(err)
	}
	f.Add(append(protocol.AppendFrame(nil, protocol.TypeData, []byte("abc")), lie...), false)
	f.Fuzz(func(t *testing.T, in []byte, expect bool) {
		c := &Conn{r: protocol.NewReader(bytes.NewReader(in), 0), cfg: newConfig(nil)}
		var out bytes.Buffer
		v := &verifier{w: &out, want: -1}
		x := &exchange{alg: checksum.XXH128, expect: expect, answered: make(chan struct{}), continued: make(chan struct{})}
		res := c.receive(v, v.meta, x)
		if res.netErr == nil && res.status.Code == "" {
			t.Fatalf("a response without error and without a status: %+v", res)
		}
		if out.Len() > len(in) {
			t.Fatalf("%d body bytes out of %d input bytes", out.Len(), len(in))
		}
		if closed(x.continued) && !expect {
			t.Fatal("a Continue accepted by a request that did not ask for one")
		}
		if res.netErr == nil && res.localErr == nil && v.want >= 0 && int64(out.Len()) > v.want {
			t.Fatalf("more than the declared %d bytes accepted", v.want)
		}
		if res.netErr == nil && res.localErr == nil && res.status.OK() {
			h := checksum.XXH128.New()
			h.Write(out.Bytes())
			if st := res.status; st.Size == nil || *st.Size != int64(out.Len()) || st.Digest != checksum.XXH128.Encode(h.Sum(nil)) {
				t.Fatalf("an ok response accepted whose %d bytes do not match its status %+v", out.Len(), st)
			}
		}
		if res.netErr != nil && errors.Is(res.netErr, io.EOF) && !errors.Is(res.netErr, io.ErrUnexpectedEOF) {
			t.Fatalf("a cut response reported as a clean EOF: %v", res.netErr)
		}
	})
}
