package host

import (
	"context"
	"io"
	"net"
	"testing"
	"time"

	"github.com/selectftp/selectftp/protocol"
	"github.com/selectftp/selectftp/sdk"
)

// These tests replay the attacks of the hardening review against a real
// server on both backends. Each fails without the rule it tests.

// maxHeldOutput is what one connection's unread answers may hold: the
// output bound (256 KiB) plus the answers of one batch.
const maxHeldOutput = 512 << 10

// A client that pipelines invalid requests and never reads the answers
// must not make the server queue answers without bound; it stops reading
// that client instead, and everyone else is still served.
func TestPipelinedRequestsAreBounded(t *testing.T) {
	forEachBackend(t, func(t *testing.T, backend string) {
		s, addr := startServer(t, backend, nil)
		c := dialRaw(t, addr).hello()
		c.Conn.(*net.TCPConn).SetReadBuffer(4096)
		// 11 bytes each: a request frame holding invalid JSON, then End.
		one := append(protocol.AppendFrame(nil, protocol.TypeRequest, []byte("x")), protocol.AppendHeader(nil, protocol.TypeEnd, 0)...)
		batch := make([]byte, 0, 64<<10)
		for len(batch)+len(one) <= cap(batch) {
			batch = append(batch, one...)
		}
		sent := 0
		c.SetWriteDeadline(time.Now().Add(3 * time.Second))
		for sent < 64<<20 { // 6 million requests, or until the server stops reading
			n, err := c.Write(batch)
			sent += n
			if err != nil {
				break
			}
		}
		var held int
		for _, ss := range s.sessionsNow() {
			n, _ := ss.c.Pending()
			held = max(held, n)
		}
		t.Logf("sent %d bytes of requests; the server holds %d bytes of answers", sent, held)
		if held > maxHeldOutput {
			t.Fatalf("the server holds %d bytes of answers for one client; want at most %d", held, maxHeldOutput)
		}
		if r := dialRaw(t, addr).hello().request("upper", []string{"still", "here"}, nil, nil); string(r.body) != "STILL HERE\n" {
			t.Fatalf("another client got %+v", r)
		}
		// Once the client reads, the server answers the rest.
		c.SetReadDeadline(time.Now().Add(5 * time.Second))
		if f := c.next(); f.Type != protocol.TypeStatus {
			t.Fatalf("got %v", f.Type)
		}
	})
}

// A connection that never completes its Hello is closed after HelloTimeout,
// even though the idle timeout is long.
func TestHelloDeadline(t *testing.T) {
	forEachBackend(t, func(t *testing.T, backend string) {
		_, addr := startServer(t, backend, func(s *Server) {
			s.HelloTimeout, s.IdleTimeout = 200*time.Millisecond, time.Hour
		})
		c := dialRaw(t, addr)
		c.SetReadDeadline(time.Now().Add(5 * time.Second))
		if st := c.status(); st.Code != sdk.CodeTimeout {
			t.Fatalf("got %+v", st)
		}
		// Half a hello is no better.
		c = dialRaw(t, addr)
		c.write([]byte{byte(protocol.TypeHello), 0, 0})
		c.SetReadDeadline(time.Now().Add(5 * time.Second))
		if st := c.status(); st.Code != sdk.CodeTimeout {
			t.Fatalf("got %+v", st)
		}
	})
}

func TestConnectionLimitPerIP(t *testing.T) {
	forEachBackend(t, func(t *testing.T, backend string) {
		s, addr := startServer(t, backend, func(s *Server) { s.MaxConnsPerIP = 2 })
		a := dialRaw(t, addr).hello()
		dialRaw(t, addr).hello()
		c := dialRaw(t, addr)
		c.send(protocol.TypeHello, protocol.Hello{Protocol: protocol.ProtocolName, Versions: []int{protocol.Version}})
		if st := c.status(); st.Code != "busy" {
			t.Fatalf("third connection from one address: %+v", st)
		}
		a.Close()
		waitFor(t, "a free slot", func() bool {
			d := dialRaw(t, addr)
			d.send(protocol.TypeHello, protocol.Hello{Protocol: protocol.ProtocolName, Versions: []int{protocol.Version}})
			return d.next().Type == protocol.TypeHello
		})
		s.mu.Lock()
		n := len(s.perIP)
		s.mu.Unlock()
		if n != 1 {
			t.Fatalf("perIP tracks %d addresses, want 1", n)
		}
	})
}

// A body trickled a byte at a time used to stay open for ever: each byte
// reset the idle timer and the frame timer skipped Data frames.
func TestTrickledBodyTimesOut(t *testing.T) {
	forEachBackend(t, func(t *testing.T, backend string) {
		_, addr := startServer(t, backend, func(s *Server) {
			s.FrameTimeout, s.MinBodyRate = 300*time.Millisecond, 1000
		})
		c := dialRaw(t, addr).hello()
		c.send(protocol.TypeRequest, protocol.Request{Verb: "sum"})
		c.write(protocol.AppendHeader(nil, protocol.TypeData, 1<<20))
		stop := make(chan struct{})
		defer close(stop)
		go func() {
			tick := time.NewTicker(20 * time.Millisecond)
			defer tick.Stop()
			for range 500 { // 10 s at most
				select {
				case <-stop:
					return
				case <-tick.C:
					if _, err := c.Write([]byte{'x'}); err != nil {
						return
					}
				}
			}
		}()
		c.SetReadDeadline(time.Now().Add(8 * time.Second))
		if st := c.status(); st.Code != sdk.CodeTimeout {
			t.Fatalf("got %+v", st)
		}
	})
}

// A body the server itself makes wait (the command is slow) is not the
// client's fault: the minimum rate must not cut it off.
func TestSlowCommandIsNotASlowUpload(t *testing.T) {
	forEachBackend(t, func(t *testing.T, backend string) {
		slow := sdk.Func(sdk.Description{Verb: "slowread"},
			func(ctx context.Context, req *sdk.Request, w sdk.ResponseWriter) error {
				time.Sleep(2 * time.Second) // reads nothing while the body buffer fills
				n, err := io.Copy(io.Discard, req.Body)
				w.SetMeta("size", n)
				return err
			})
		_, addr := startServer(t, backend, func(s *Server) {
			// 5 KiB a window is nothing while bytes flow, but the
			// command's pause spans four windows.
			s.FrameTimeout, s.MinBodyRate = 500*time.Millisecond, 10<<10
			s.Register(slow)
		})
		c := dialRaw(t, addr).hello()
		// Request, body and End in one write: more than the body buffer
		// holds, all sent at once.
		msg, _ := protocol.Marshal(protocol.TypeRequest, protocol.Request{Verb: "slowread"})
		msg = protocol.AppendFrame(msg, protocol.TypeData, make([]byte, 4<<20))
		msg = append(msg, endFor(make([]byte, 4<<20))...)
		go c.Write(msg)
		c.SetReadDeadline(time.Now().Add(15 * time.Second))
		r := c.response()
		if !r.status.OK() || r.meta["size"] != float64(4<<20) {
			t.Fatalf("got %+v", r.status)
		}
	})
}

// A command that ignores its context used to leave the client waiting for
// ever. Now it is cancelled after RequestTimeout without progress, and
// answered for after a grace period; a command that honours the
// cancellation leaves its connection usable.
func TestRequestDeadline(t *testing.T) {
	forEachBackend(t, func(t *testing.T, backend string) {
		release := make(chan struct{})
		t.Cleanup(func() { close(release) })
		stuck := sdk.Func(sdk.Description{Verb: "stuck"},
			func(ctx context.Context, req *sdk.Request, w sdk.ResponseWriter) error {
				<-release // ignores ctx
				return nil
			})
		_, addr := startServer(t, backend, func(s *Server) {
			s.RequestTimeout = 200 * time.Millisecond
			s.VerbTimeouts = map[string]time.Duration{"upper": time.Hour}
			s.Register(stuck)
		})
		c := dialRaw(t, addr).hello()
		c.SetReadDeadline(time.Now().Add(5 * time.Second))
		if st := c.request("stuck", nil, nil, nil).status; st.Code != sdk.CodeTimeout {
			t.Fatalf("stuck: %+v", st)
		}
		if !c.closed() {
			t.Fatal("the connection of a command that ignored its deadline stayed open")
		}

		c = dialRaw(t, addr).hello()
		c.SetReadDeadline(time.Now().Add(5 * time.Second))
		if st := c.request("wait", nil, nil, nil).status; st.Code != sdk.CodeTimeout {
			t.Fatalf("wait: %+v", st)
		}
		if r := c.request("upper", []string{"next"}, nil, nil); string(r.body) != "NEXT\n" {
			t.Fatalf("the connection is not usable after a timed-out request: %+v", r)
		}
	})
}

// A download that moves, however long it takes, is not cut off by the
// request deadline.
func TestRequestDeadlineCountsProgress(t *testing.T) {
	forEachBackend(t, func(t *testing.T, backend string) {
		_, addr := startServer(t, backend, func(s *Server) { s.RequestTimeout = 500 * time.Millisecond })
		c := dialRaw(t, addr).hello()
		// Read slowly: 8 MiB over about two seconds, four timeouts' worth.
		c.r = protocol.NewReader(slowReader{c.Conn, 4 << 20}, 0)
		r := c.request("stream", nil, map[string]any{"n": 8 << 20}, nil)
		if !r.status.OK() || len(r.body) != 8<<20 {
			t.Fatalf("got %d bytes, %+v", len(r.body), r.status)
		}
	})
}

// slowReader reads at about rate bytes per second.
type slowReader struct {
	io.Reader
	rate int
}

func (r slowReader) Read(p []byte) (int, error) {
	n, err := r.Reader.Read(p[:min(len(p), 64<<10)])
	time.Sleep(time.Duration(n) * time.Second / time.Duration(r.rate))
	return n, err
}

// A client that reads a trickle keeps the write timer happy for ever; the
// minimum read rate closes it.
func TestTrickleReaderIsClosed(t *testing.T) {
	forEachBackend(t, func(t *testing.T, backend string) {
		s, addr := startServer(t, backend, func(s *Server) {
			s.WriteTimeout, s.MinWriteRate, s.RequestTimeout = 300*time.Millisecond, 1<<20, time.Hour
		})
		c := dialRaw(t, addr).hello()
		c.Conn.(*net.TCPConn).SetReadBuffer(4096)
		c.send(protocol.TypeRequest, protocol.Request{Verb: "stream", Params: map[string]any{"n": 256 << 20}})
		c.write(protocol.AppendHeader(nil, protocol.TypeEnd, 0))
		buf := make([]byte, 1024)
		deadline := time.Now().Add(10 * time.Second)
		for len(s.sessionsNow()) > 0 {
			if time.Now().After(deadline) {
				t.Fatal("a trickling reader kept its connection")
			}
			c.SetReadDeadline(time.Now().Add(50 * time.Millisecond))
			c.Conn.Read(buf) // 1 KiB every 50 ms: progress, but 20 KiB/s
			time.Sleep(50 * time.Millisecond)
		}
	})
}

// A command that works a long time between bytes (hashing a large file)
// says so with sdk.Progress and is not taken for stuck.
func TestProgressKeepsARequestAlive(t *testing.T) {
	forEachBackend(t, func(t *testing.T, backend string) {
		think := sdk.Func(sdk.Description{Verb: "think"},
			func(ctx context.Context, req *sdk.Request, w sdk.ResponseWriter) error {
				deadline := time.Now().Add(time.Second) // five request timeouts
				for time.Now().Before(deadline) {
					if err := ctx.Err(); err != nil {
						return err
					}
					sdk.Progress(ctx)
					time.Sleep(20 * time.Millisecond)
				}
				_, err := io.WriteString(w, "thought")
				return err
			})
		_, addr := startServer(t, backend, func(s *Server) {
			s.RequestTimeout = 200 * time.Millisecond
			s.Register(think)
		})
		c := dialRaw(t, addr).hello()
		if r := c.request("think", nil, nil, nil); !r.status.OK() || string(r.body) != "thought" {
			t.Fatalf("got %q %+v", r.body, r.status)
		}
	})
}

// The per-IP limit keys IPv6 by its /64: one host commonly holds a whole
// /64 and would otherwise have 2^64 slots' worth of addresses.
func TestPeerIP(t *testing.T) {
	for _, tc := range []struct{ addr, want string }{
		{"127.0.0.1:2121", "127.0.0.1"},
		{"[::ffff:10.1.2.3]:99", "10.1.2.3"},
		{"[2001:db8:1:2:aaaa::1]:5", "2001:db8:1:2::/64"},
		{"[2001:db8:1:2:bbbb::9]:6", "2001:db8:1:2::/64"},
		{"[fe80::1%eth0]:7", "fe80::/64"},
	} {
		a, err := net.ResolveTCPAddr("tcp", tc.addr)
		if err != nil {
			t.Fatal(err)
		}
		if got := peerIP(a); got != tc.want {
			t.Errorf("peerIP(%s) = %s, want %s", tc.addr, got, tc.want)
		}
	}
}

// Output from a goroutine a command left behind is refused once the
// command returned: it would land after the Status, in the next response.
func TestOutputAfterReturnIsRefused(t *testing.T) {
	forEachBackend(t, func(t *testing.T, backend string) {
		late := make(chan error, 1)
		leaky := sdk.Func(sdk.Description{Verb: "leaky"},
			func(ctx context.Context, req *sdk.Request, w sdk.ResponseWriter) error {
				go func() {
					time.Sleep(100 * time.Millisecond)
					_, err := io.WriteString(w, "too late")
					late <- err
				}()
				return nil
			})
		_, addr := startServer(t, backend, func(s *Server) { s.Register(leaky) })
		c := dialRaw(t, addr).hello()
		if r := c.request("leaky", nil, nil, nil); !r.status.OK() || len(r.body) != 0 {
			t.Fatalf("leaky: %+v", r)
		}
		if err := <-late; err == nil {
			t.Fatal("a write after the command returned was accepted")
		}
		if r := c.request("upper", []string{"next"}, nil, nil); string(r.body) != "NEXT\n" {
			t.Fatalf("the next response: %q %+v", r.body, r.status)
		}
	})
}

// A half-sent header between requests is caught by the frame timer even
// when the idle and write timers are long (quiet sessions are swept less
// often; one with a partial frame is not quiet).
func TestHalfSentHeaderBetweenRequests(t *testing.T) {
	forEachBackend(t, func(t *testing.T, backend string) {
		_, addr := startServer(t, backend, func(s *Server) {
			s.FrameTimeout, s.IdleTimeout, s.WriteTimeout = 200*time.Millisecond, time.Hour, time.Hour
		})
		c := dialRaw(t, addr).hello()
		if r := c.request("upper", []string{"a"}, nil, nil); !r.status.OK() {
			t.Fatalf("%+v", r.status)
		}
		c.write([]byte{0, 0, 0}) // a header cut short, then silence
		c.SetReadDeadline(time.Now().Add(5 * time.Second))
		if st := c.status(); st.Code != sdk.CodeTimeout {
			t.Fatalf("got %+v", st)
		}
	})
}
