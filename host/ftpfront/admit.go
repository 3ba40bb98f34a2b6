package ftpfront

import (
	"errors"
	"fmt"
	"net"
	"sync"
	"sync/atomic"
	"time"

	"github.com/selectftp/selectftp/sdk"
)

// A control connection's admission and its life before the login: the
// host counts it in its connection limits and refuses banned addresses
// (Admit), a client that has not logged in within LoginTimeout is closed,
// and the errors the library answers before a login (an unknown command,
// a command that needs a login) are scored by the host's defender, as a
// native connection's protocol errors before its login are.

// DefaultLoginTimeout is how long a control connection may take from its
// accept to a successful login: long enough for a person typing at a
// telnet prompt, far shorter than the 15-minute idle timeout that
// otherwise lets a silent client hold a slot.
const DefaultLoginTimeout = 30 * time.Second

// admitter is a backend that counts connections in the host's limits and
// scores protocol errors (host.Server's Admit and ProtocolError). A
// backend without it admits every connection and scores nothing.
type admitter interface {
	Admit(remote net.Addr) (release func(), err error)
	ProtocolError(remote net.Addr) (banned bool)
}

// admit asks the host whether a connection from remote may be served.
func (f *Front) admit(remote net.Addr) (release func(), err error) {
	a, ok := f.be.(admitter)
	if !ok {
		return func() {}, nil
	}
	return a.Admit(remote)
}

// refuse answers a connection the host did not admit with 421 (RFC 959's
// "service not available, closing control connection") and closes it.
// The write cannot block: nothing was sent on the fresh socket yet, and
// the deadline covers a peer gone already.
func (f *Front) refuse(c net.Conn, err error) {
	msg := sdk.MessageOf(err)
	f.log.Info("FTP connection refused", "remote", c.RemoteAddr().String(), "code", sdk.CodeOf(err), "reason", msg)
	_ = c.SetWriteDeadline(time.Now().Add(time.Second))
	_, _ = fmt.Fprintf(c, "421 %s\r\n", oneLine(msg))
	_ = c.Close()
}

// ctlConn is an admitted control connection: it gives the host's slot
// back when closed, closes itself when no login came in time, and reads
// the library's replies before the login to score protocol errors.
type ctlConn struct {
	net.Conn
	f       *Front
	tcp     *net.TCPConn // the socket, for the end of an upload's MSG_PEEK
	release func()
	timer   *time.Timer // the login deadline
	// closed is set by Close, outside mu: closing must never wait for a
	// lock (see Write).
	closed atomic.Bool

	// mu is held only for bookkeeping, never across a socket write: a
	// client that does not read its replies blocks the write, and the
	// login deadline and Close must still get through.
	mu       sync.Mutex
	done     bool   // logged in, switched to TLS, or failed a password: stop reading replies
	loggedIn bool   // the deadline no longer applies
	checking bool   // a password is being checked: the deadline no longer applies
	tls      bool   // AUTH TLS was accepted: replies are no longer in clear
	line     []byte // the start of the reply line being written (up to 4 bytes)
	atStart  bool   // the next byte starts a reply line
}

func newCtlConn(f *Front, c net.Conn, release func()) *ctlConn {
	cc := &ctlConn{Conn: c, f: f, release: release, atStart: true}
	cc.tcp, _ = c.(*net.TCPConn)
	if d := f.cfg.LoginTimeout; d > 0 {
		cc.timer = time.AfterFunc(d, cc.loginExpired)
	}
	return cc
}

// Write passes the library's replies on, and before the login scores
// each error reply that tells a client broke the protocol.
func (c *ctlConn) Write(p []byte) (int, error) {
	// The library writes one reply at a time per connection, so scanning
	// under the lock and writing after it keeps the lines in order.
	c.mu.Lock()
	protoErr := !c.done && c.scan(p)
	c.mu.Unlock()
	// Scored before the reply leaves, so a client that reads it and
	// connects again meets its score (and its ban).
	banned := protoErr && c.f.protocolError(c.RemoteAddr())
	n, err := c.Conn.Write(p)
	if banned {
		c.f.log.Warn("FTP client banned for protocol errors before its login; closing", "remote", c.RemoteAddr().String())
		_ = c.Conn.Close()
	}
	return n, err
}

// scan reads reply lines and reports whether one is a protocol error:
// 500 (unknown command, syntax), 502 (not implemented), 503 (bad
// sequence) or 530 (a command that needs a login: a failed password is
// scored by the login itself, and stops the scan first). A 234 (AUTH
// accepted) ends the scan: what follows is TLS. c.mu is held.
func (c *ctlConn) scan(p []byte) (protoErr bool) {
	for _, b := range p {
		if c.atStart {
			c.line = c.line[:0]
			c.atStart = false
		}
		if b == '\n' {
			c.atStart = true
			continue
		}
		if len(c.line) >= 4 {
			continue
		}
		c.line = append(c.line, b)
		if len(c.line) < 4 || c.line[3] != ' ' {
			continue
		}
		switch string(c.line[:3]) {
		case "500", "502", "503", "530":
			protoErr = true
		case "234":
			c.done, c.tls = true, true
			return protoErr
		}
	}
	return protoErr
}

// stopScan ends the reply scan and, with loggedIn, the login deadline
// (the login succeeded).
func (c *ctlConn) stopScan(loggedIn bool) {
	c.mu.Lock()
	c.done = true
	c.loggedIn = c.loggedIn || loggedIn
	c.mu.Unlock()
	if loggedIn && c.timer != nil {
		c.timer.Stop()
	}
}

// beginLogin ends the login deadline when a password starts being
// checked: the check has its own bound (loginTimeout), the host's
// per-address gate and failure delay may rightly outlast the deadline, and
// a failed check ends the connection anyway (the library disconnects
// after a 530 to PASS).
func (c *ctlConn) beginLogin() {
	c.mu.Lock()
	c.checking = true
	c.mu.Unlock()
	if c.timer != nil {
		c.timer.Stop()
	}
}

// loginExpired closes a connection that did not log in in time, with a
// 421 when its replies are still in clear, and scores it as a native
// connection that times out before its login is.
func (c *ctlConn) loginExpired() {
	c.mu.Lock()
	skip := c.loggedIn || c.checking || c.closed.Load()
	inClear := !c.tls
	c.mu.Unlock()
	if skip {
		return
	}
	if inClear {
		// The 421 may wait behind a reply write blocked by a client that
		// reads nothing, and the library's next read moves the socket's
		// deadline: it gets a second, then the socket is closed anyway,
		// which ends both writes.
		sent := make(chan struct{})
		go func() {
			defer close(sent)
			_ = c.Conn.SetWriteDeadline(time.Now().Add(time.Second))
			_, _ = fmt.Fprintf(c.Conn, "421 no login within %v: closing control connection\r\n", c.f.cfg.LoginTimeout)
		}()
		t := time.NewTimer(time.Second)
		select {
		case <-sent:
		case <-t.C:
		}
		t.Stop()
	}
	c.f.log.Info("FTP client closed: no login in time", "remote", c.RemoteAddr().String(), "timeout", c.f.cfg.LoginTimeout)
	c.f.protocolError(c.RemoteAddr())
	_ = c.Close()
}

// Close closes the connection and gives its slot back (once). It takes
// no lock, so it never waits behind a blocked reply write: closing the
// socket is what ends that write.
func (c *ctlConn) Close() error {
	first := c.closed.CompareAndSwap(false, true)
	err := c.Conn.Close()
	if first {
		if c.timer != nil {
			c.timer.Stop()
		}
		c.f.forget(c)
		c.release()
	}
	if errors.Is(err, net.ErrClosed) {
		return nil // closed already: at a ban, or by the login deadline
	}
	return err
}

// protocolError scores remote with the host; it reports whether remote
// is banned now.
func (f *Front) protocolError(remote net.Addr) bool {
	if a, ok := f.be.(admitter); ok {
		return a.ProtocolError(remote)
	}
	return false
}

// forget drops a closed control connection from the front's lists.
func (f *Front) forget(c *ctlConn) {
	f.mu.Lock()
	defer f.mu.Unlock()
	delete(f.conns, c)
	if k := c.RemoteAddr().String(); f.pending[k] == c {
		delete(f.pending, k)
	}
}
