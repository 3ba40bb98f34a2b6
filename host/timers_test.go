package host

import (
	"context"
	"net"
	"os"
	"strings"
	"sync"
	"testing"
	"testing/synctest"
	"time"

	"github.com/hashicorp/go-hclog"

	"github.com/selectftp/selectftp/protocol"
)

// fakeConn is a netpoll.Conn that records what a session queues, so the
// timers can run on a fake clock without sockets.
type fakeConn struct {
	mu       sync.Mutex
	out      []protocol.Status
	pending  int
	last     time.Time
	sent     uint64
	closed   bool
	shutting bool
}

func (c *fakeConn) Write(b []byte) error { return c.Enqueue(b) }
func (c *fakeConn) Enqueue(b []byte) error {
	c.mu.Lock()
	defer c.mu.Unlock()
	if f, err := protocol.NewReader(strings.NewReader(string(b)), 0).Next(); err == nil && f.Type == protocol.TypeStatus {
		var st protocol.Status
		if protocol.Unmarshal(protocol.TypeStatus, f.Payload, &st) == nil {
			c.out = append(c.out, st)
		}
	}
	return nil
}
func (c *fakeConn) SendFile(*os.File, int64, int64) error { return nil }
func (c *fakeConn) OutputFull() bool                      { return false }
func (c *fakeConn) PauseRead()                            {}
func (c *fakeConn) ResumeRead()                           {}
func (c *fakeConn) CloseWrite()                           { c.mu.Lock(); c.shutting = true; c.mu.Unlock() }
func (c *fakeConn) Close()                                { c.mu.Lock(); c.closed = true; c.mu.Unlock() }
func (c *fakeConn) Pending() (int, time.Time) {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.pending, c.last
}
func (c *fakeConn) Sent() uint64         { c.mu.Lock(); defer c.mu.Unlock(); return c.sent }
func (c *fakeConn) RemoteAddr() net.Addr { return &net.TCPAddr{IP: net.IPv4(127, 0, 0, 1), Port: 1} }
func (c *fakeConn) SetContext(any)       {}
func (c *fakeConn) Context() any         { return nil }
func (c *fakeConn) Post(fn func()) bool  { fn(); return true } // the test is the loop

func (c *fakeConn) statuses() []protocol.Status {
	c.mu.Lock()
	defer c.mu.Unlock()
	return append([]protocol.Status(nil), c.out...)
}

func fakeSession(s *Server) (*session, *fakeConn) {
	c := &fakeConn{}
	if s.Logger == nil {
		s.Logger = hclog.NewNullLogger()
	}
	ss := &session{srv: s, c: c, opened: time.Now().UnixNano()}
	ss.touch()
	return ss, c
}

// TestHelloTimerFakeClock: the handshake deadline, on synctest's clock.
func TestHelloTimerFakeClock(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		ss, c := fakeSession(&Server{HelloTimeout: 10 * time.Second})
		time.Sleep(9 * time.Second)
		ss.check(time.Now())
		if len(c.statuses()) != 0 || ss.st.phase != phaseHello {
			t.Fatal("closed before the hello deadline")
		}
		time.Sleep(2 * time.Second)
		ss.check(time.Now())
		if got := c.statuses(); len(got) != 1 || got[0].Code != "timeout" || !strings.Contains(got[0].Message, "no hello within 10s") {
			t.Fatalf("after the deadline: %+v", got)
		}
		if ss.st.phase != phaseClosed || !c.shutting {
			t.Fatal("the session did not close after its final status")
		}
	})
}

// TestRequestDeadlineFakeClock: a request that moves no byte is cancelled
// after its timeout, progress postpones that, and a command that ignores
// the cancellation is answered for after the grace.
func TestRequestDeadlineFakeClock(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		ss, c := fakeSession(&Server{RequestTimeout: 20 * time.Second, IdleTimeout: time.Hour})
		ctx, cancel := context.WithCancel(context.Background())
		defer cancel()
		ss.st = sessState{phase: phaseRunning}
		ss.seq, ss.verb, ss.cancel = 1, "wait", cancel
		ss.body = newBodyBuf(16, func() {})
		ss.markProgress()
		for range 3 { // progress every 15 s keeps it alive
			time.Sleep(15 * time.Second)
			ss.markProgress()
			ss.check(time.Now())
		}
		if ctx.Err() != nil {
			t.Fatal("a request making progress was cancelled")
		}
		time.Sleep(21 * time.Second)
		ss.check(time.Now())
		if ctx.Err() == nil || ss.timedOut != 1 {
			t.Fatal("a request with no progress for its timeout was not cancelled")
		}
		if len(c.statuses()) != 0 {
			t.Fatal("answered for the command before the grace")
		}
		time.Sleep(cancelGrace + time.Second)
		ss.check(time.Now())
		if got := c.statuses(); len(got) != 1 || got[0].Code != "timeout" || !strings.Contains(got[0].Message, "did not stop") {
			t.Fatalf("after the grace: %+v", got)
		}
	})
}

// TestWriteRulesFakeClock: write stall and write rate.
func TestWriteRulesFakeClock(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		ss, c := fakeSession(&Server{WriteTimeout: 10 * time.Second, MinWriteRate: 100, IdleTimeout: time.Hour})
		ss.st = sessState{phase: phaseIdle}
		c.pending, c.last = 1<<20, time.Now()
		for range 4 { // 50 bytes/s accepted: live, but under the rate
			time.Sleep(4 * time.Second)
			c.mu.Lock()
			c.sent += 200
			c.last = time.Now()
			c.mu.Unlock()
			ss.check(time.Now())
		}
		if !c.closed {
			t.Fatal("a reader under the minimum rate was not closed")
		}
		ss, c = fakeSession(&Server{WriteTimeout: 10 * time.Second, IdleTimeout: time.Hour})
		ss.st = sessState{phase: phaseIdle}
		c.pending, c.last = 10, time.Now()
		time.Sleep(11 * time.Second)
		ss.check(time.Now())
		if !c.closed {
			t.Fatal("a stalled reader was not closed")
		}
	})
}
