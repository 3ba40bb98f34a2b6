package client

import (
	"bytes"
	"context"
	"crypto/sha256"
	"errors"
	"io"
	"net"
	"sync"
	"testing"
	"time"

	"github.com/selectftp/selectftp/host/hosttest"
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
	run := func(f func() error) {
		f()
		seeds = append(seeds, rec.take())
	}
	run(func() error { return c.Get(ctx, "f", io.Discard, nil) })
	run(func() error { return c.Get(ctx, "empty", io.Discard, nil) })
	run(func() error { return c.Get(ctx, "missing", io.Discard, nil) })
	run(func() error { _, err := c.Verbs(ctx); return err })
	run(func() error { _, err := c.Command(ctx, "upper", []string{"fuzz"}); return err })
	run(func() error { return c.Put(ctx, bytes.NewReader([]byte("x")), 1, sumOf("y"), "p", nil) })
	return seeds
}

func sumOf(s string) string {
	_, sum, _ := HashReader(context.Background(), bytes.NewReader([]byte(s)))
	return sum
}

// FuzzReceive feeds the client's response reader any bytes. It must not
// panic, must end every response with a status or a clear error, and must
// never hand the caller more body bytes than arrived.
func FuzzReceive(f *testing.F) {
	for _, seed := range realResponses(f) {
		f.Add(seed)
	}
	f.Add(protocol.AppendFrame(nil, protocol.TypeData, []byte("data before meta")))
	f.Fuzz(func(t *testing.T, in []byte) {
		c := &Conn{r: protocol.NewReader(bytes.NewReader(in), 0)}
		var out bytes.Buffer
		v := &verifier{w: &out, h: sha256.New(), want: -1}
		res := c.receive(v, v.meta)
		if res.netErr == nil && res.status.Code == "" {
			t.Fatalf("a response without error and without a status: %+v", res)
		}
		if out.Len() > len(in) {
			t.Fatalf("%d body bytes out of %d input bytes", out.Len(), len(in))
		}
		if res.netErr == nil && res.localErr == nil && v.want >= 0 && int64(out.Len()) > v.want {
			t.Fatalf("more than the declared %d bytes accepted", v.want)
		}
		if res.netErr != nil && errors.Is(res.netErr, io.EOF) && !errors.Is(res.netErr, io.ErrUnexpectedEOF) {
			t.Fatalf("a cut response reported as a clean EOF: %v", res.netErr)
		}
	})
}
