package ftpfront

import (
	"context"
	"net"
	"testing"
	"time"
)

// Control connections that hold their slot by not reading, and logins
// whose check outlasts the login deadline (review session 15, findings 2
// and 9).

// smallBufListener gives each accepted connection small socket buffers,
// so that a client that reads nothing blocks the server's writes after a
// few replies, on any machine.
type smallBufListener struct{ net.Listener }

func (l smallBufListener) Accept() (net.Conn, error) {
	c, err := l.Listener.Accept()
	if tc, ok := c.(*net.TCPConn); ok {
		_ = tc.SetWriteBuffer(4096)
		_ = tc.SetReadBuffer(4096)
	}
	return c, err
}

// startFrontOver serves a front over be (with small socket buffers if
// small) and returns it with its address; the cleanup shuts it down.
func startFrontOver(t *testing.T, be backend, cfg Config, small bool) (*Front, string) {
	t.Helper()
	f, err := newFront(be, cfg)
	if err != nil {
		t.Fatal(err)
	}
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	if small {
		ln = smallBufListener{ln}
	}
	done := make(chan error, 1)
	go func() { done <- f.Serve(ln) }()
	t.Cleanup(func() {
		ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		defer cancel()
		f.Shutdown(ctx)
		<-done
	})
	return f, ln.Addr().String()
}

func newAdmitHost(t *testing.T) *admitHost {
	return &admitHost{fakeHost: &fakeHost{root: t.TempDir()}, open: map[string]int{}}
}

// stallServer connects to addr and sends FEAT (a command that is never
// scored) without reading a reply until the server's reply writes block:
// the client's own writes stop going through once the server stops
// reading. It returns the connection (closed at cleanup, which unblocks
// the server) and when the stall was seen.
func stallServer(t *testing.T, addr string) (net.Conn, time.Time) {
	t.Helper()
	c, err := net.Dial("tcp", addr)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { c.Close() })
	if tc, ok := c.(*net.TCPConn); ok {
		_ = tc.SetReadBuffer(4096) // fewer replies to fill the path
		_ = tc.SetWriteBuffer(4096)
	}
	chunk := make([]byte, 0, 600)
	for len(chunk)+6 <= cap(chunk) {
		chunk = append(chunk, "FEAT\r\n"...)
	}
	// Bounded: 16 MiB of commands is thousands of times what the socket
	// buffers hold.
	deadline := time.Now().Add(20 * time.Second)
	for i := 0; i < 16<<20/len(chunk); i++ {
		if time.Now().After(deadline) {
			break
		}
		// A second without progress while the server could take a
		// hundred commands in a millisecond: it is blocked.
		_ = c.SetWriteDeadline(time.Now().Add(time.Second))
		if _, err := c.Write(chunk); err != nil {
			if ne, ok := err.(net.Error); ok && ne.Timeout() {
				return c, time.Now()
			}
			t.Fatalf("flooding FEAT: %v", err)
		}
	}
	t.Fatal("the server kept reading a client that reads nothing")
	return nil, time.Time{}
}

// waitOpen polls h until no connection holds a slot, within limit.
func waitOpen(t *testing.T, h *admitHost, limit time.Duration, what string) {
	t.Helper()
	deadline := time.Now().Add(limit)
	for open, _ := h.counts(); open != 0; open, _ = h.counts() {
		if time.Now().After(deadline) {
			t.Fatalf("%s: %d connection(s) still hold a slot after %v", what, open, limit)
		}
		time.Sleep(10 * time.Millisecond) // polling the release, bounded
	}
}

// A client that sends commands and never reads the replies blocks the
// front's reply write; the login deadline must still close it and give
// its slot back (it used to wait behind the blocked write until the
// 15-minute idle timeout).
func TestLoginDeadlineClosesClientThatReadsNothing(t *testing.T) {
	h := newAdmitHost(t)
	const limit = 4 * time.Second
	_, addr := startFrontOver(t, h, Config{LoginTimeout: limit}, true)
	t0 := time.Now()
	_, stalled := stallServer(t, addr)
	if stalled.Sub(t0) >= limit {
		t.Skipf("the server stalled only after %v, past the %v login deadline: machine too slow to test", stalled.Sub(t0), limit)
	}
	waitOpen(t, h, limit+10*time.Second, "past the login deadline")
	if _, scored := h.counts(); scored != 1 {
		t.Fatalf("the expired login scored %d, want 1", scored)
	}
}

// Shutdown closes a client whose reply write is blocked, without waiting
// for that write.
func TestShutdownNotBlockedByClientThatReadsNothing(t *testing.T) {
	h := newAdmitHost(t)
	f, addr := startFrontOver(t, h, Config{LoginTimeout: -1}, true)
	stallServer(t, addr)
	done := make(chan struct{})
	go func() {
		ctx, cancel := context.WithTimeout(context.Background(), time.Second)
		defer cancel()
		f.Shutdown(ctx)
		close(done)
	}()
	select {
	case <-done:
	case <-time.After(10 * time.Second):
		t.Fatal("Shutdown waits behind a client that reads nothing")
	}
	waitOpen(t, h, 5*time.Second, "after Shutdown")
}

// slowLoginHost checks passwords slowly, as the host's per-address gate,
// login queue and failure delay may.
type slowLoginHost struct {
	*admitHost
	delay time.Duration
}

func (h *slowLoginHost) LoginPlain(ctx context.Context, remote net.Addr, user, pass string) (session, error) {
	select {
	case <-time.After(h.delay): // the host's delay being modelled, not a synchronisation
	case <-ctx.Done():
		return nil, ctx.Err()
	}
	return h.fakeHost.LoginPlain(ctx, remote, user, pass)
}

// A password whose check is still running when the login deadline comes
// is not cut off: the client is logged in, not closed and scored.
func TestLoginDeadlineSparesPasswordBeingChecked(t *testing.T) {
	const limit = 300 * time.Millisecond
	h := &slowLoginHost{admitHost: newAdmitHost(t), delay: 4 * limit}
	_, addr := startFrontOver(t, h, Config{LoginTimeout: limit}, false)
	fc := dialFTP(t, addr)
	fc.must(331, "USER alice")
	fc.must(230, "PASS secret")
	fc.must(200, "NOOP")
	if _, scored := h.counts(); scored != 0 {
		t.Fatalf("a login checked past the deadline scored %d", scored)
	}
}
