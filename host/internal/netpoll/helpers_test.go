package netpoll

import (
	"bytes"
	"errors"
	"fmt"
	"io"
	"net"
	"sync"
	"sync/atomic"
	"testing"
	"time"
)

// waitTimeout bounds every wait: a hang fails the test instead of blocking
// the run. Generous, because -race on two cores is slow.
const waitTimeout = 15 * time.Second

type backend struct {
	name string
	new  func(Options) (Engine, error)
}

var backends = []backend{
	{"reactor", NewReactor},
	{"goroutine", func(o Options) (Engine, error) { return NewGoroutine(o), nil }},
}

// forEach runs f once per backend, skipping the reactor where unsupported.
func forEach(t *testing.T, f func(t *testing.T, b backend)) {
	for _, b := range backends {
		t.Run(b.name, func(t *testing.T) { f(t, b) })
	}
}

func waitFor(t testing.TB, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(waitTimeout)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("timed out waiting for %s", what)
		}
		time.Sleep(2 * time.Millisecond)
	}
}

// pattern fills b with the stream's bytes starting at offset off, so any
// lost, duplicated or reordered byte shows up as a mismatch at its offset.
func pattern(off, n int) []byte {
	b := make([]byte, n)
	for i := range b {
		b[i] = byte((off + i) * 7 % 251)
	}
	return b
}

func checkPattern(t testing.TB, got []byte, off int) {
	t.Helper()
	want := pattern(off, len(got))
	if i := firstDiff(got, want); i >= 0 {
		t.Fatalf("stream differs at offset %d (len %d): got %d want %d", off+i, len(got), got[i], want[i])
	}
}

func firstDiff(a, b []byte) int {
	if bytes.Equal(a, b) {
		return -1
	}
	for i := range min(len(a), len(b)) {
		if a[i] != b[i] {
			return i
		}
	}
	return min(len(a), len(b))
}

// recorder wraps a handler and checks the contract's ordering rules for
// every connection: OnOpen first and once, no OnData outside open..close,
// OnClose exactly once, never two calls at a time.
type recorder struct {
	h Handler

	mu     sync.Mutex
	conns  map[Conn]*connRec
	order  []Conn
	errs   []string
	opened int
	closed int
}

type connRec struct {
	open, closed int
	closeErr     error
	inCall       atomic.Int32
	bytes        int
}

func (r *recorder) fail(format string, args ...any) {
	r.mu.Lock()
	r.errs = append(r.errs, fmt.Sprintf(format, args...))
	r.mu.Unlock()
}

func (r *recorder) enter(cr *connRec, what string) {
	if cr.inCall.Add(1) != 1 {
		r.fail("%s ran concurrently with another callback", what)
	}
}

func (r *recorder) OnOpen(c Conn) {
	r.mu.Lock()
	if r.conns[c] != nil {
		r.errs = append(r.errs, "OnOpen twice")
		r.mu.Unlock()
		return
	}
	cr := &connRec{open: 1}
	r.conns[c] = cr
	r.order = append(r.order, c)
	r.opened++
	r.mu.Unlock()
	r.enter(cr, "OnOpen")
	r.h.OnOpen(c)
	cr.inCall.Add(-1)
}

func (r *recorder) OnData(c Conn, in []byte) int {
	r.mu.Lock()
	cr := r.conns[c]
	switch {
	case cr == nil:
		r.errs = append(r.errs, "OnData before OnOpen")
		r.mu.Unlock()
		return len(in)
	case cr.closed > 0:
		r.errs = append(r.errs, "OnData after OnClose")
	case len(in) == 0:
		r.errs = append(r.errs, "OnData with no bytes")
	}
	r.mu.Unlock()
	r.enter(cr, "OnData")
	n := r.h.OnData(c, in)
	cr.inCall.Add(-1)
	r.mu.Lock()
	cr.bytes += clampConsumed(n, len(in))
	r.mu.Unlock()
	return n
}

func (r *recorder) OnClose(c Conn, err error) {
	r.mu.Lock()
	cr := r.conns[c]
	if cr == nil {
		r.errs = append(r.errs, "OnClose before OnOpen")
		r.mu.Unlock()
		return
	}
	cr.closed++
	cr.closeErr = err
	if cr.closed > 1 {
		r.errs = append(r.errs, "OnClose twice")
	}
	r.closed++
	r.mu.Unlock()
	r.enter(cr, "OnClose")
	r.h.OnClose(c, err)
	cr.inCall.Add(-1)
}

func (r *recorder) counts() (opened, closed int) {
	r.mu.Lock()
	defer r.mu.Unlock()
	return r.opened, r.closed
}

// conn returns the i-th connection opened.
func (r *recorder) conn(t testing.TB, i int) Conn {
	t.Helper()
	waitFor(t, fmt.Sprintf("connection %d to open", i), func() bool {
		o, _ := r.counts()
		return o > i
	})
	r.mu.Lock()
	defer r.mu.Unlock()
	return r.order[i]
}

// closeErr waits for c's OnClose and returns its error.
func (r *recorder) closeErr(t testing.TB, c Conn) error {
	t.Helper()
	var err error
	waitFor(t, "OnClose", func() bool {
		r.mu.Lock()
		defer r.mu.Unlock()
		cr := r.conns[c]
		err = cr.closeErr
		return cr.closed > 0
	})
	return err
}

type server struct {
	e    Engine
	ln   net.Listener
	addr string
	rec  *recorder
	done chan error
}

// startOn serves h (wrapped in a recorder) on ln with backend b. Cleanup
// closes the engine, waits for Serve and checks the recorder.
func startOn(t testing.TB, b backend, opts Options, ln net.Listener, h Handler) *server {
	t.Helper()
	e, err := b.new(opts)
	if errors.Is(err, ErrUnsupported) {
		ln.Close()
		t.Skip("reactor unsupported here")
	}
	if err != nil {
		t.Fatal(err)
	}
	s := &server{e: e, ln: ln, addr: ln.Addr().String(), done: make(chan error, 1),
		rec: &recorder{h: h, conns: make(map[Conn]*connRec)}}
	go func() { s.done <- e.Serve(ln, s.rec) }()
	t.Cleanup(func() {
		s.close(t)
		s.rec.mu.Lock()
		defer s.rec.mu.Unlock()
		for _, e := range s.rec.errs {
			t.Errorf("contract violation: %s", e)
		}
		if s.rec.opened != s.rec.closed {
			t.Errorf("opened %d connections, closed %d", s.rec.opened, s.rec.closed)
		}
	})
	return s
}

func start(t testing.TB, b backend, opts Options, h Handler) *server {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	return startOn(t, b, opts, ln, h)
}

// close shuts the engine down and waits for Serve, idempotently.
func (s *server) close(t testing.TB) {
	t.Helper()
	s.e.Close()
	select {
	case err, ok := <-s.done:
		if ok && err != nil {
			t.Errorf("Serve returned %v", err)
		}
		if ok {
			close(s.done)
		}
	case <-time.After(waitTimeout):
		t.Fatal("Serve did not return after Close")
	}
}

func (s *server) dial(t testing.TB) *net.TCPConn {
	t.Helper()
	c, err := net.DialTimeout("tcp", s.addr, waitTimeout)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { c.Close() })
	return c.(*net.TCPConn)
}

// echo sends every byte straight back.
type echo struct{}

func (echo) OnOpen(Conn) {}
func (echo) OnData(c Conn, in []byte) int {
	c.Enqueue(in)
	return len(in)
}
func (echo) OnClose(Conn, error) {}

// funcs builds a handler from optional functions.
type funcs struct {
	open  func(Conn)
	data  func(Conn, []byte) int
	close func(Conn, error)
}

func (f funcs) OnOpen(c Conn) {
	if f.open != nil {
		f.open(c)
	}
}

func (f funcs) OnData(c Conn, in []byte) int {
	if f.data != nil {
		return f.data(c, in)
	}
	return len(in)
}

func (f funcs) OnClose(c Conn, err error) {
	if f.close != nil {
		f.close(c, err)
	}
}

// roundTrip writes data and reads the same number of bytes back.
func roundTrip(t testing.TB, c net.Conn, data []byte) []byte {
	t.Helper()
	c.SetDeadline(time.Now().Add(waitTimeout))
	werr := make(chan error, 1)
	go func() {
		_, err := c.Write(data)
		werr <- err
	}()
	got := make([]byte, len(data))
	if _, err := io.ReadFull(c, got); err != nil {
		t.Fatalf("read echo: %v", err)
	}
	if err := <-werr; err != nil {
		t.Fatalf("write: %v", err)
	}
	return got
}
