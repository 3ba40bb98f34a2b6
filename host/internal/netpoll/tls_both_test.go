package netpoll

import (
	"bytes"
	"crypto/tls"
	"errors"
	"io"
	"math/rand/v2"
	"net"
	"sync/atomic"
	"testing"
	"time"
)

// tlsServe starts backend b with TLS on, and returns a dialer of TLS
// clients.
func tlsServe(t *testing.T, b backend, opts Options, h Handler) (*server, func(t *testing.T) *tls.Conn) {
	t.Helper()
	opts.TLS = &tls.Config{Certificates: []tls.Certificate{selfSigned(t)}, MinVersion: tls.VersionTLS13}
	s := start(t, b, opts, h)
	return s, func(t *testing.T) *tls.Conn {
		t.Helper()
		c, err := tls.DialWithDialer(&net.Dialer{Timeout: waitTimeout}, "tcp", s.addr,
			&tls.Config{InsecureSkipVerify: true})
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { c.Close() })
		return c
	}
}

// TestTLSEcho: both backends speak TLS, the reactor without giving up its
// loops: echoes of every size come back whole, and the server side knows
// the connection's TLS state (for channel binding).
func TestTLSEcho(t *testing.T) {
	forEach(t, func(t *testing.T, b backend) {
		s, dial := tlsServe(t, b, Options{}, echo{})
		c := dial(t)
		for _, n := range []int{1, 4095, 16 << 10, 16<<10 + 1, 1 << 20, 8 << 20} {
			data := pattern(n, n)
			if got := roundTrip(t, c, data); !bytes.Equal(got, data) {
				t.Fatalf("size %d: echo differs at %d", n, firstDiff(got, data))
			}
		}
		st := TLSState(s.rec.conn(t, 0))
		if st == nil || !st.HandshakeComplete || st.Version != tls.VersionTLS13 {
			t.Fatalf("server-side TLS state %+v", st)
		}
		cs := c.ConnectionState()
		a, _ := cs.ExportKeyingMaterial("EXPORTER-Channel-Binding", nil, 32)
		z, _ := st.ExportKeyingMaterial("EXPORTER-Channel-Binding", nil, 32)
		if !bytes.Equal(a, z) {
			t.Fatal("client and server export different keying material")
		}
	})
}

// TestTLSRandomPartialResume is TestRandomPartialResume over TLS: the
// plaintext a handler leaves is kept and re-delivered, and records tls
// read ahead (which epoll cannot report) are not stranded by a pause.
func TestTLSRandomPartialResume(t *testing.T) {
	forEach(t, func(t *testing.T, b backend) {
		var got sink
		s, dial := tlsServe(t, b, Options{ReadBuffer: 3000}, funcs{data: func(c Conn, in []byte) int {
			n := rand.IntN(len(in) + 1)
			got.add(in[:n])
			if n < len(in) {
				go func() {
					time.Sleep(time.Duration(rand.IntN(200)) * time.Microsecond)
					c.ResumeRead()
				}()
			}
			return n
		}})
		c := dial(t)
		const total = 2 << 20
		data := pattern(0, total)
		c.SetWriteDeadline(time.Now().Add(waitTimeout))
		for rest := data; len(rest) > 0; {
			n := min(len(rest), 1+rand.IntN(40000))
			if _, err := c.Write(rest[:n]); err != nil {
				t.Fatal(err)
			}
			rest = rest[n:]
		}
		waitFor(t, "the whole stream", func() bool { return got.len() >= total })
		c.Close()
		s.rec.closeErr(t, s.rec.conn(t, 0))
		if got.len() != total {
			t.Fatalf("handler consumed %d bytes, want %d", got.len(), total)
		}
		checkPattern(t, got.got, 0)
	})
}

// TestTLSSinker: decrypted bytes go straight into the handler's buffer
// or through OnData, interleaved, in order.
func TestTLSSinker(t *testing.T) {
	forEach(t, func(t *testing.T, b backend) {
		// Served without the recorder, which is no Sinker.
		e, err := b.new(Options{TLS: &tls.Config{Certificates: []tls.Certificate{selfSigned(t)}}})
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
		c, err := tls.Dial("tcp", ln.Addr().String(), &tls.Config{InsecureSkipVerify: true})
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

// TestTLSSendFile: under TLS a file range goes by pread and encryption on
// the caller's goroutine, between written bytes, and the file's
// descriptor is not held after.
func TestTLSSendFile(t *testing.T) {
	forEach(t, func(t *testing.T, b backend) {
		const off, n = 3, 9<<20 + 5
		path := patternFile(t, t.TempDir(), off+n)
		_, dial := tlsServe(t, b, Options{MaxOutput: 64 << 10}, funcs{open: func(c Conn) {
			go func() {
				c.Write([]byte("x"))
				sendOpen(c, path, off, n)
				c.Write([]byte("y"))
				c.CloseWrite()
			}()
		}})
		c := dial(t)
		c.SetReadDeadline(time.Now().Add(waitTimeout))
		got, err := io.ReadAll(c)
		if err != nil {
			t.Fatal(err)
		}
		want := append(append([]byte("x"), pattern(off, n)...), 'y')
		if i := firstDiff(got, want); i >= 0 {
			t.Fatalf("stream differs at %d (got %d bytes, want %d)", i, len(got), len(want))
		}
		checkNoFDs(t, path)
	})
}

// TestTLSRefusedBeforeHandshake: what a handler queues and CloseWrites in
// OnOpen (a busy server's status) waits for the handshake, then arrives
// encrypted before the close.
func TestTLSRefusedBeforeHandshake(t *testing.T) {
	forEach(t, func(t *testing.T, b backend) {
		_, dial := tlsServe(t, b, Options{}, funcs{open: func(c Conn) {
			c.Enqueue([]byte("busy"))
			c.CloseWrite()
		}})
		c := dial(t)
		c.SetReadDeadline(time.Now().Add(waitTimeout))
		got, err := io.ReadAll(c)
		if err != nil || string(got) != "busy" {
			t.Fatalf("got %q, %v; want busy, then EOF", got, err)
		}
	})
}

// TestTLSPlainClient: a client that speaks no TLS gets the engine's clear
// reply and a close; the server keeps serving TLS clients.
func TestTLSPlainClient(t *testing.T) {
	forEach(t, func(t *testing.T, b backend) {
		var head atomic.Value
		s, dial := tlsServe(t, b, Options{TLSPlainReply: func(h []byte) []byte {
			head.Store(string(h))
			return []byte("speak TLS")
		}}, echo{})
		c := s.dial(t)
		c.Write([]byte("hello, plaintext"))
		c.SetReadDeadline(time.Now().Add(waitTimeout))
		got, _ := io.ReadAll(c)
		if string(got) != "speak TLS" {
			t.Fatalf("plaintext client read %q", got)
		}
		if h, _ := head.Load().(string); h != "hello" {
			t.Fatalf("reply saw %q, want the first five bytes", h)
		}
		if got := roundTrip(t, dial(t), []byte("still")); string(got) != "still" {
			t.Fatalf("TLS client after a plaintext one got %q", got)
		}
	})
}

// TestTLSHandshakeStall: a client that connects and never finishes its
// handshake is closed after the handshake timeout, even when the handler
// set no timer of its own.
func TestTLSHandshakeStall(t *testing.T) {
	old := tlsHandshakeTimeout
	tlsHandshakeTimeout = 300 * time.Millisecond
	t.Cleanup(func() { tlsHandshakeTimeout = old })
	forEach(t, func(t *testing.T, b backend) {
		s, _ := tlsServe(t, b, Options{}, funcs{open: func(c Conn) {
			c.Enqueue([]byte("busy"))
			c.CloseWrite()
		}})
		c := s.dial(t)
		c.SetReadDeadline(time.Now().Add(waitTimeout))
		start := time.Now()
		_, err := io.ReadAll(c)
		if errors.Is(err, errTimeoutIO) || time.Since(start) > waitTimeout/2 {
			t.Fatalf("stalled handshake not closed: %v after %v", err, time.Since(start))
		}
		s.rec.closeErr(t, s.rec.conn(t, 0))
	})
}

var errTimeoutIO = errors.New("i/o timeout")
