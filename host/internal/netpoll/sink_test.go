package netpoll

import (
	"net"
	"sync"
	"sync/atomic"
	"testing"
)

// sinkHandler takes every other read into its own buffer (Sinker) and the
// rest through OnData, recording the stream in the order it came.
type sinkHandler struct {
	mu      sync.Mutex
	got     []byte
	buf     []byte
	asks    int
	viaSink atomic.Int64
}

func (h *sinkHandler) OnOpen(Conn) {}
func (h *sinkHandler) OnData(_ Conn, in []byte) int {
	h.mu.Lock()
	h.got = append(h.got, in...)
	h.mu.Unlock()
	return len(in)
}
func (h *sinkHandler) OnClose(Conn, error) {}

func (h *sinkHandler) Sink(Conn) []byte {
	h.asks++
	if h.asks%2 == 0 {
		return nil
	}
	return h.buf[:1000+h.asks%5000]
}

func (h *sinkHandler) Filled(_ Conn, n int) {
	h.mu.Lock()
	h.got = append(h.got, h.buf[:n]...)
	h.mu.Unlock()
	h.viaSink.Add(int64(n))
}

func (h *sinkHandler) len() int {
	h.mu.Lock()
	defer h.mu.Unlock()
	return len(h.got)
}

// TestSinker: reads that go straight into the handler's buffer and reads
// through OnData interleave without losing, repeating or reordering a byte,
// on both backends.
func TestSinker(t *testing.T) {
	forEach(t, func(t *testing.T, b backend) {
		e, err := b.new(Options{})
		if err != nil {
			t.Skipf("%s: %v", b.name, err)
		}
		ln, err := net.Listen("tcp", "127.0.0.1:0")
		if err != nil {
			t.Fatal(err)
		}
		h := &sinkHandler{buf: make([]byte, 8<<10)}
		done := make(chan error, 1)
		go func() { done <- e.Serve(ln, h) }()
		defer func() { e.Close(); <-done }()
		c, err := net.Dial("tcp", ln.Addr().String())
		if err != nil {
			t.Fatal(err)
		}
		defer c.Close()
		const total = 4 << 20
		for off := 0; off < total; off += 64 << 10 {
			if _, err := c.Write(pattern(off, 64<<10)); err != nil {
				t.Fatal(err)
			}
		}
		waitFor(t, "the whole stream", func() bool { return h.len() >= total })
		h.mu.Lock()
		got := h.got
		h.mu.Unlock()
		if len(got) != total {
			t.Fatalf("received %d bytes, sent %d", len(got), total)
		}
		checkPattern(t, got, 0)
		if n := h.viaSink.Load(); n == 0 || n == total {
			t.Fatalf("%d of %d bytes came through the sink: the test did not mix both paths", n, total)
		}
	})
}
