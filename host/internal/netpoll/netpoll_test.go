package netpoll

import (
	"bytes"
	"errors"
	"io"
	"math/rand/v2"
	"net"
	"path/filepath"
	"sync"
	"sync/atomic"
	"testing"
	"time"
)

func TestEchoSizes(t *testing.T) {
	forEach(t, func(t *testing.T, b backend) {
		const rb = 4096
		s := start(t, b, Options{ReadBuffer: rb, Loops: 2}, echo{})
		c := s.dial(t)
		for _, n := range []int{1, 2, 100, rb - 1, rb, rb + 1, 2*rb - 1, 2 * rb, 2*rb + 1, 64 << 10, 3<<20 + 17} {
			data := pattern(n, n)
			if got := roundTrip(t, c, data); !bytes.Equal(got, data) {
				t.Fatalf("size %d: echo differs at %d", n, firstDiff(got, data))
			}
		}
	})
}

func TestEchoDefaultBufferEdges(t *testing.T) {
	forEach(t, func(t *testing.T, b backend) {
		s := start(t, b, Options{}, echo{})
		c := s.dial(t)
		for _, n := range []int{defaultReadBuffer - 1, defaultReadBuffer, defaultReadBuffer + 1, 5 << 20} {
			data := pattern(n, n)
			if got := roundTrip(t, c, data); !bytes.Equal(got, data) {
				t.Fatalf("size %d: echo differs at %d", n, firstDiff(got, data))
			}
		}
	})
}

func TestManyConns(t *testing.T) {
	forEach(t, func(t *testing.T, b backend) {
		s := start(t, b, Options{ReadBuffer: 8 << 10}, echo{})
		const conns, size = 200, 32 << 10
		var wg sync.WaitGroup
		errs := make(chan error, conns)
		for i := range conns {
			c := s.dial(t)
			wg.Go(func() {
				c.SetDeadline(time.Now().Add(waitTimeout))
				data := pattern(i, size)
				go func() {
					// Uneven writes so reads straddle every boundary.
					for rest := data; len(rest) > 0; {
						n := min(len(rest), 1+rand.IntN(5000))
						if _, err := c.Write(rest[:n]); err != nil {
							return
						}
						rest = rest[n:]
					}
				}()
				got := make([]byte, size)
				if _, err := io.ReadFull(c, got); err != nil {
					errs <- err
					return
				}
				if !bytes.Equal(got, data) {
					errs <- errors.New("echo differs")
				}
			})
		}
		wg.Wait()
		close(errs)
		for err := range errs {
			t.Error(err)
		}
		if o, _ := s.rec.counts(); o != conns {
			t.Errorf("opened %d, want %d", o, conns)
		}
	})
}

// TestOnOpenWritesAndCloses covers replies from OnOpen (a greeting) and a
// Close requested from inside OnData.
func TestOnOpenWritesAndCloses(t *testing.T) {
	forEach(t, func(t *testing.T, b backend) {
		s := start(t, b, Options{}, funcs{
			open: func(c Conn) { c.Enqueue([]byte("220 hello\n")) },
			data: func(c Conn, in []byte) int {
				c.Enqueue([]byte("221 bye\n"))
				c.Close()
				return len(in)
			},
		})
		c := s.dial(t)
		c.SetDeadline(time.Now().Add(waitTimeout))
		got := make([]byte, 10)
		if _, err := io.ReadFull(c, got); err != nil || string(got) != "220 hello\n" {
			t.Fatalf("greeting %q, %v", got, err)
		}
		c.Write([]byte("QUIT\n"))
		// Close drops queued output, so the reply may or may not arrive;
		// the connection must end either way.
		rest, _ := io.ReadAll(c)
		if len(rest) > 0 && string(rest) != "221 bye\n" {
			t.Fatalf("after QUIT got %q", rest)
		}
		if err := s.rec.closeErr(t, s.rec.conn(t, 0)); err != nil {
			t.Fatalf("local Close reported %v", err)
		}
	})
}

func TestPeerHangup(t *testing.T) {
	forEach(t, func(t *testing.T, b backend) {
		s := start(t, b, Options{}, funcs{})
		// Clean close mid-stream: bytes so far arrive, then OnClose(nil).
		c := s.dial(t)
		c.Write(pattern(0, 1000))
		c.Close()
		sc := s.rec.conn(t, 0)
		if err := s.rec.closeErr(t, sc); err != nil {
			t.Fatalf("clean EOF reported %v", err)
		}
		s.rec.mu.Lock()
		got := s.rec.conns[sc].bytes
		s.rec.mu.Unlock()
		if got != 1000 {
			t.Fatalf("handler saw %d bytes, want 1000", got)
		}

		// Reset: an error, not a clean close.
		c = s.dial(t)
		c.Write([]byte("x"))
		sc = s.rec.conn(t, 1)
		waitFor(t, "first byte", func() bool {
			s.rec.mu.Lock()
			defer s.rec.mu.Unlock()
			return s.rec.conns[sc].bytes == 1
		})
		c.SetLinger(0)
		c.Close()
		if err := s.rec.closeErr(t, sc); err == nil {
			t.Fatal("reset reported as clean close")
		}
	})
}

func TestPausedConnSeesReset(t *testing.T) {
	forEach(t, func(t *testing.T, b backend) {
		s := start(t, b, Options{}, funcs{open: func(c Conn) { c.PauseRead() }})
		c := s.dial(t)
		sc := s.rec.conn(t, 0)
		c.SetLinger(0)
		c.Close()
		if b.name == "goroutine" {
			// A paused reader goroutine cannot notice; resuming does.
			sc.ResumeRead()
		}
		if err := s.rec.closeErr(t, sc); err == nil {
			t.Fatal("reset reported as clean close")
		}
	})
}

func TestEngineClose(t *testing.T) {
	forEach(t, func(t *testing.T, b backend) {
		s := start(t, b, Options{Loops: 3}, echo{})
		const n = 20
		var clients []net.Conn
		for range n {
			c := s.dial(t)
			roundTrip(t, c, []byte("ping"))
			clients = append(clients, c)
		}
		// One connection also has a writer blocked on a full queue.
		blocked := make(chan error, 1)
		go func() {
			sc := s.rec.conn(t, 0)
			var err error
			for err == nil {
				err = sc.Write(make([]byte, 1<<20))
			}
			blocked <- err
		}()
		waitFor(t, "queue to fill", func() bool {
			n, _ := s.rec.conn(t, 0).Pending()
			return n > defaultMaxOutput
		})
		s.close(t)
		if o, c := s.rec.counts(); o != n || c != n {
			t.Fatalf("opened %d closed %d, want %d each", o, c, n)
		}
		select {
		case err := <-blocked:
			if !errors.Is(err, ErrClosed) {
				t.Fatalf("blocked Write returned %v", err)
			}
		case <-time.After(waitTimeout):
			t.Fatal("blocked Write not released by Close")
		}
		for _, c := range clients[1:] {
			c.SetReadDeadline(time.Now().Add(waitTimeout))
			if _, err := c.Read(make([]byte, 1)); err == nil {
				t.Fatal("client still connected after Close")
			}
		}
		if _, err := net.DialTimeout("tcp", s.addr, time.Second); err == nil {
			t.Fatal("dial succeeded after Close")
		}
	})
}

func TestStopAccepting(t *testing.T) {
	forEach(t, func(t *testing.T, b backend) {
		s := start(t, b, Options{}, echo{})
		c := s.dial(t)
		roundTrip(t, c, []byte("before"))
		s.e.StopAccepting()
		s.e.StopAccepting() // idempotent
		if got := roundTrip(t, c, []byte("after")); string(got) != "after" {
			t.Fatalf("echo after StopAccepting: %q", got)
		}
		if c2, err := net.DialTimeout("tcp", s.addr, time.Second); err == nil {
			// Refused is expected; if the kernel did complete it, it
			// must not be served.
			c2.Write([]byte("x"))
			c2.SetReadDeadline(time.Now().Add(200 * time.Millisecond))
			if n, _ := c2.Read(make([]byte, 1)); n > 0 {
				t.Fatal("new connection served after StopAccepting")
			}
			c2.Close()
		}
		if o, _ := s.rec.counts(); o != 1 {
			t.Fatalf("opened %d connections, want 1", o)
		}
	})
}

func TestCloseBeforeServe(t *testing.T) {
	forEach(t, func(t *testing.T, b backend) {
		e, err := b.new(Options{})
		if errors.Is(err, ErrUnsupported) {
			t.Skip("reactor unsupported here")
		}
		if err != nil {
			t.Fatal(err)
		}
		if err := e.Close(); err != nil {
			t.Fatal(err)
		}
		ln, err := net.Listen("tcp", "127.0.0.1:0")
		if err != nil {
			t.Fatal(err)
		}
		done := make(chan error, 1)
		go func() { done <- e.Serve(ln, echo{}) }()
		select {
		case err := <-done:
			if err != nil {
				t.Fatalf("Serve after Close: %v", err)
			}
		case <-time.After(waitTimeout):
			t.Fatal("Serve after Close did not return")
		}
		if e.Close() != nil {
			t.Fatal("second Close failed")
		}
	})
}

func TestUnixListener(t *testing.T) {
	forEach(t, func(t *testing.T, b backend) {
		path := filepath.Join(t.TempDir(), "s")
		ln, err := net.Listen("unix", path)
		if err != nil {
			t.Skip(err)
		}
		if b.name == "reactor" {
			e, err := b.new(Options{})
			if errors.Is(err, ErrUnsupported) {
				t.Skip("reactor unsupported here")
			}
			defer e.Close()
			defer ln.Close()
			if err := e.Serve(ln, echo{}); !errors.Is(err, ErrUnsupported) {
				t.Fatalf("Serve(unix listener) = %v, want ErrUnsupported", err)
			}
			return
		}
		s := startOn(t, b, Options{}, ln, echo{})
		c, err := net.Dial("unix", path)
		if err != nil {
			t.Fatal(err)
		}
		defer c.Close()
		if got := roundTrip(t, c, []byte("unix")); string(got) != "unix" {
			t.Fatalf("got %q", got)
		}
		_ = s
	})
}

// TestContext covers SetContext/Context and RemoteAddr.
func TestContext(t *testing.T) {
	forEach(t, func(t *testing.T, b backend) {
		var mu sync.Mutex
		var seen []any
		s := start(t, b, Options{}, funcs{
			open: func(c Conn) {
				if c.Context() != nil {
					t.Error("fresh Context not nil")
				}
				c.SetContext(c.RemoteAddr().String())
			},
			data: func(c Conn, in []byte) int {
				mu.Lock()
				seen = append(seen, c.Context())
				mu.Unlock()
				c.SetContext(nil)
				return len(in)
			},
		})
		c := s.dial(t)
		c.Write([]byte("x"))
		waitFor(t, "OnData", func() bool {
			mu.Lock()
			defer mu.Unlock()
			return len(seen) == 1
		})
		if seen[0] != c.LocalAddr().String() {
			t.Fatalf("Context %v, want the client's address %v", seen[0], c.LocalAddr())
		}
	})
}

// TestAcceptErrorBackoff runs out of descriptors: accept must report the
// error, back off and serve the connection once descriptors are free.
func TestAcceptErrorBackoff(t *testing.T) {
	forEach(t, func(t *testing.T, b backend) {
		var reported atomic.Int32
		s := start(t, b, Options{OnAcceptError: func(error) { reported.Add(1) }}, echo{})
		c := s.dial(t)
		roundTrip(t, c, []byte("warm"))

		restore, err := connectWithoutFDs(t, s.addr)
		if err != nil {
			t.Skipf("cannot exhaust descriptors here: %v", err)
		}
		waitFor(t, "OnAcceptError", func() bool { return reported.Load() > 0 })
		if o, _ := s.rec.counts(); o != 1 {
			t.Fatalf("%d connections opened without descriptors", o)
		}
		c2 := restore()
		defer c2.Close()
		if got := roundTrip(t, c2, []byte("late")); string(got) != "late" {
			t.Fatalf("got %q after backoff", got)
		}
		if got := roundTrip(t, c, []byte("still")); string(got) != "still" {
			t.Fatalf("old conn got %q", got)
		}
	})
}
