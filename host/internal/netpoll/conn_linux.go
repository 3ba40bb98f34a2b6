//go:build linux

package netpoll

import (
	"net"
	"net/netip"
	"os"
	"strconv"
	"sync"
	"sync/atomic"
	"time"

	"golang.org/x/sys/unix"
)

const (
	// readBudget bounds reads per connection per wake-up so one fast
	// sender cannot starve the loop's other connections.
	readBudget = 8
	// redeliverBudget bounds how often sync re-offers kept bytes to a
	// handler that keeps resuming without consuming them.
	redeliverBudget = 16
	// flushBudget bounds the write, writev and sendfile calls per
	// connection per flush, so one connection whose peer reads as fast
	// as it is sent cannot hold the loop for a whole queue.
	flushBudget = 16
	// wakeBytes bounds the bytes one connection moves each way per
	// wake-up. A loopback socket takes megabytes per call, which is
	// milliseconds of copying: without this bound a loop with 16 busy
	// transfers made a small command on it wait tens of milliseconds
	// (the head-of-line figure of make bench). Level-triggered epoll
	// brings a connection with more to do straight back.
	wakeBytes = 512 << 10
)

// conn is a reactor connection. Its layout is kept small on purpose: an idle
// connection costs this struct and one slot in its loop's table, nothing
// more (no buffers until there is something to buffer).
type conn struct {
	l      *loop
	fd     int // loop-owned; read elsewhere only by on-loop fast writes
	remote netip.AddrPort

	// Loop-only state.
	armed uint32 // epoll interest currently registered
	dead  bool
	gated bool      // reading is held until the output queue drains (see OutputFull)
	keep  []byte    // bytes OnData did not consume
	tls   *tlsLayer // nil: plaintext
	// tlsMore: reading stopped while tls may hold records epoll cannot
	// report; sync reads again once reading may go on.
	tlsMore bool

	queued atomic.Bool // an opSync task is pending
	ctx    ctxValue

	mu        sync.Mutex
	cond      sync.Cond // writers waiting for the queue to shrink
	q         outQueue
	last      int64 // unix nanoseconds: 16 bytes less than a time.Time, per connection
	sent      uint64
	waiters   int32
	resumes   uint32 // counts ResumeRead, to spot one racing a partial OnData
	outHold   bool   // OutputFull said yes during the running OnData
	paused    bool
	closeReq  bool
	writeShut bool
	closed    bool
}

func newConn(l *loop, fd int, sa unix.Sockaddr) *conn {
	c := &conn{l: l, fd: fd, remote: addrPort(sa)}
	c.cond.L = &c.mu
	return c
}

func addrPort(sa unix.Sockaddr) netip.AddrPort {
	switch sa := sa.(type) {
	case *unix.SockaddrInet4:
		return netip.AddrPortFrom(netip.AddrFrom4(sa.Addr), uint16(sa.Port))
	case *unix.SockaddrInet6:
		a := netip.AddrFrom16(sa.Addr)
		if sa.ZoneId != 0 {
			a = a.WithZone(strconv.FormatUint(uint64(sa.ZoneId), 10))
		}
		return netip.AddrPortFrom(a, uint16(sa.Port))
	}
	return netip.AddrPort{}
}

func (c *conn) RemoteAddr() net.Addr { return net.TCPAddrFromAddrPort(c.remote) }

func (c *conn) SetContext(v any) { c.ctx.set(v) }
func (c *conn) Context() any     { return c.ctx.get() }

// onLoop reports whether the caller may be the loop inside one of c's
// callbacks, where blocking would deadlock and the socket may be written
// directly. (Another goroutine calling in at that moment is treated the
// same; that is harmless, as both paths hold c.mu.)
func (c *conn) onLoop() bool { return c.l.cur.Load() == c }

func (c *conn) Write(b []byte) error   { return c.write(b, true) }
func (c *conn) Enqueue(b []byte) error { return c.write(b, false) }

func (c *conn) write(b []byte, block bool) error {
	onLoop := c.onLoop()
	if c.tls != nil {
		return c.writeTLS(b, block && !onLoop)
	}
	c.mu.Lock()
	if err := c.waitRoom(block && !onLoop); err != nil {
		c.mu.Unlock()
		return err
	}
	if len(b) == 0 {
		c.mu.Unlock()
		return nil
	}
	wasEmpty := c.q.n == 0
	if wasEmpty && onLoop {
		// Replies from inside OnData usually fit the socket buffer:
		// sending now saves a copy, a task and an epoll_ctl.
		n, _ := unix.Write(c.fd, b)
		if n > 0 {
			c.last = time.Now().UnixNano()
			c.sent += uint64(n)
			b = b[n:]
		}
		if len(b) == 0 {
			c.mu.Unlock()
			return nil
		}
		// EAGAIN or an error: queue the rest; the flush meets the error
		// again and closes the connection with it.
	}
	c.q.push(b)
	if wasEmpty {
		c.last = time.Now().UnixNano()
	}
	c.mu.Unlock()
	if wasEmpty {
		// Non-empty before means a flush is already pending or EPOLLOUT
		// is armed.
		c.kick()
	}
	return nil
}

// SendFile queues the range as file segments (see sendFile) for the loop to
// send with sendfile when the socket is writable. From inside one of c's
// callbacks it does not wait for room, as Write does not.
func (c *conn) SendFile(f *os.File, off, n int64) error {
	if c.tls != nil {
		return c.sendFileTLS(f, off, n)
	}
	onLoop := c.onLoop()
	push := func(s *fileSeg) error { return c.pushFile(s, !onLoop) }
	fail := func(error) { c.Close() } // for copyFile, never reached: Linux always dups
	return sendFile(f, off, n, onLoop, c.Write, push, fail)
}

func (c *conn) pushFile(s *fileSeg, block bool) error {
	c.mu.Lock()
	if err := c.waitRoom(block); err != nil {
		c.mu.Unlock()
		return err
	}
	wasEmpty := c.q.n == 0
	c.q.pushFile(s)
	if wasEmpty {
		c.last = time.Now().UnixNano()
	}
	c.mu.Unlock()
	if wasEmpty {
		c.kick()
	}
	return nil
}

// waitRoom waits, if block, while the queue is over MaxOutput, and reports
// ErrClosed once nothing more may be queued. c.mu is held.
func (c *conn) waitRoom(block bool) error {
	if block {
		for c.q.n > c.l.r.opts.MaxOutput && !c.closed && !c.writeShut {
			c.waiters++
			c.cond.Wait()
			c.waiters--
		}
	}
	if c.closed || c.writeShut {
		return ErrClosed
	}
	return nil
}

func (c *conn) OutputFull() bool {
	c.mu.Lock()
	defer c.mu.Unlock()
	full := c.q.n > c.l.r.opts.MaxOutput
	if full {
		c.outHold = true
	}
	return full
}

func (c *conn) PauseRead() {
	c.mu.Lock()
	c.paused = true
	c.mu.Unlock()
	c.kick()
}

func (c *conn) ResumeRead() {
	c.mu.Lock()
	c.paused = false
	c.resumes++
	c.mu.Unlock()
	c.kick()
}

func (c *conn) CloseWrite() {
	c.mu.Lock()
	c.writeShut = true
	c.cond.Broadcast()
	c.mu.Unlock()
	c.kick()
}

func (c *conn) Close() {
	c.mu.Lock()
	c.closeReq = true
	c.mu.Unlock()
	c.kick()
}

func (c *conn) Sent() uint64 {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.sent
}

func (c *conn) Pending() (int, time.Time) {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.q.n, time.Unix(0, c.last)
}

// Post runs fn on c's loop as a task, after what the loop is doing now;
// runTasks drops it if c has closed by then.
func (c *conn) Post(fn func()) bool {
	c.mu.Lock()
	closed := c.closed
	c.mu.Unlock()
	return !closed && c.l.post(task{op: opRun, c: c, fn: fn})
}

// kick asks the loop to reconcile c, once however often it is called before
// the loop gets to it.
func (c *conn) kick() {
	if c.queued.CompareAndSwap(false, true) && !c.l.post(task{op: opSync, c: c}) {
		c.queued.Store(false)
	}
}

// read drains the socket into OnData until EAGAIN, a short read, a pause or
// the budget.
func (l *loop) read(c *conn) {
	if c.tls != nil {
		l.readTLS(c)
		return
	}
	sk, _ := l.r.h.(Sinker)
	for i, got := 0, 0; i < readBudget && got < wakeBytes; i++ {
		if sk != nil && len(c.keep) == 0 {
			if b := sk.Sink(c); len(b) > 0 {
				b = b[:min(len(b), wakeBytes-got)]
				got += len(b)
				if !l.readInto(c, sk, b) {
					return
				}
				continue
			}
		}
		n, err := unix.Read(c.fd, l.buf)
		got += max(n, 0) + 1 // +1: an empty or failed read counts too
		switch {
		case n > 0:
			if !l.deliver(c, l.buf[:n], false) {
				l.sync(c)
				return
			}
			if n < len(l.buf) {
				// Level-triggered: if more arrived meanwhile we hear again.
				return
			}
		case n == 0 && err == nil:
			l.closeConn(c, nil)
			return
		case err == unix.EINTR:
		case err == unix.EAGAIN:
			return
		default:
			l.closeConn(c, wrapErr("read", err))
			return
		}
	}
}

// readInto reads c straight into b, the handler's own buffer (see Sinker),
// and reports whether reading may go on this wake-up.
func (l *loop) readInto(c *conn, sk Sinker, b []byte) bool {
	n, err := unix.Read(c.fd, b)
	switch {
	case n > 0:
		c.mu.Lock()
		drop := c.closeReq || c.writeShut
		c.mu.Unlock()
		if drop {
			l.sync(c)
			return false
		}
		l.cur.Store(c)
		sk.Filled(c, n)
		l.cur.Store(nil)
		return n == len(b) // a short read: level-triggered, we hear again
	case n == 0 && err == nil:
		l.closeConn(c, nil)
	case err == unix.EINTR:
		return true
	case err == unix.EAGAIN:
	default:
		l.closeConn(c, wrapErr("read", err))
	}
	return false
}

// deliver hands b to OnData and keeps (a copy of) what it left. fromKeep
// says b is c.keep itself. It reports whether plain reading may go on;
// false means sync has work to do (pause, close, kept bytes).
func (l *loop) deliver(c *conn, b []byte, fromKeep bool) bool {
	c.mu.Lock()
	gen, hold, drop := c.resumes, c.paused, c.closeReq || c.writeShut
	c.mu.Unlock()
	switch {
	case drop:
		c.keep = nil
		return false
	case hold:
		// Paused from another goroutine after this read began: the
		// handler asked for no more OnData, so hold the bytes.
		if !fromKeep {
			c.keep = append(c.keep[:0], b...)
		}
		return false
	}
	l.cur.Store(c)
	k := clampConsumed(l.r.h.OnData(c, b), len(b))
	l.cur.Store(nil)
	switch {
	case k == len(b) && fromKeep:
		c.keep = nil // release, so an idle connection holds no buffer
	case k < len(b) && fromKeep:
		c.keep = c.keep[:copy(c.keep, b[k:])]
	case k < len(b):
		c.keep = append(c.keep[:0], b[k:]...)
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	// A ResumeRead that arrived while OnData ran answers this very
	// partial consumption; pausing now would lose it for good. A handler
	// that stopped because the output is full is not paused either: the
	// output gate in sync holds the kept bytes until the queue drains.
	outHeld := c.outHold
	c.outHold = false
	switch {
	case k == len(b):
	case outHeld:
		c.gated = true
	case c.resumes == gen:
		c.paused = true
	}
	return !c.paused && !c.closeReq && !c.writeShut && len(c.keep) == 0
}

// sync brings the loop's view of c in line with what its owner asked for:
// close, flush, pause or resume (re-delivering kept bytes first).
func (l *loop) sync(c *conn) {
	for i := 0; !c.dead; i++ {
		c.mu.Lock()
		closeReq, shut, pending := c.closeReq, c.writeShut, c.q.n
		c.mu.Unlock()
		pending += c.tlsHeld()
		if closeReq {
			l.closeConn(c, nil)
			return
		}
		if pending > 0 {
			// flush arms EPOLLOUT if the socket fills, and finishes a
			// CloseWrite when the queue empties.
			if !l.flush(c) {
				return
			}
		}
		if shut {
			c.keep = nil
			if !c.dead {
				want := c.armed &^ unix.EPOLLIN
				if c.tls != nil && !c.tls.ready.Load() {
					want |= unix.EPOLLIN // the stash waits for the handshake
				}
				l.setInterest(c, want)
				if pending == 0 {
					l.closeConn(c, nil)
				}
			}
			return
		}
		// Read the pause and the output gate after flushing: the
		// flush may just have opened the gate.
		c.mu.Lock()
		paused, over := c.paused, c.q.n > l.r.opts.MaxOutput
		c.mu.Unlock()
		c.gated = c.gated && over
		readable := !paused && !c.gated
		if readable && len(c.keep) > 0 {
			if i == redeliverBudget {
				c.kick() // let the loop serve others first
				return
			}
			l.deliver(c, c.keep, true)
			continue
		}
		want := c.armed &^ unix.EPOLLIN
		if readable {
			want |= unix.EPOLLIN
		}
		if l.setInterest(c, want) && readable && c.tlsMore {
			c.tlsMore = false
			l.readLater(c)
		}
		return
	}
}

// flush writes as much of c's queue as the socket takes, up to flushBudget
// system calls. It reports false if c is closed.
func (l *loop) flush(c *conn) bool {
	c.mu.Lock()
	for i, sent := 0, 0; i < flushBudget && sent < wakeBytes; i++ {
		if c.q.n == 0 {
			break
		}
		var n int
		var full bool
		var err error
		if s := c.q.front(); s != nil {
			n, full, err = l.sendSeg(c, s)
		} else {
			iov := c.q.peek(l.iov[:0], wakeBytes-sent)
			want := 0
			for _, b := range iov {
				want += len(b)
			}
			if len(iov) == 1 {
				n, err = unix.Write(c.fd, iov[0])
			} else {
				n, err = unix.Writev(c.fd, iov)
			}
			clear(iov) // the scratch vector must not pin sent chunks
			l.iov = iov[:0]
			full = n == want
			if err != nil && err != unix.EAGAIN && err != unix.EINTR {
				err = wrapErr("writev", err)
			}
		}
		if n > 0 {
			c.q.advance(n)
			c.sent += uint64(n)
			c.last = time.Now().UnixNano()
			sent += n
		}
		if err == unix.EINTR {
			continue
		}
		if err != nil && err != unix.EAGAIN {
			c.mu.Unlock()
			l.closeConn(c, err)
			return false
		}
		if err == unix.EAGAIN || !full {
			break // socket full; EPOLLOUT tells us when it drains
		}
	}
	if c.waiters > 0 && c.q.n <= l.r.opts.MaxOutput {
		c.cond.Broadcast()
	}
	if c.q.n == 0 && c.tls != nil {
		c.tls.bufs.drained() // tls_linux.go: chunks back to the pool
	}
	pending, shut := c.q.n, c.writeShut
	c.mu.Unlock()
	if shut && pending == 0 && c.tlsHeld() == 0 {
		l.closeConn(c, nil)
		return false
	}
	if c.gated && pending <= l.r.opts.MaxOutput {
		// The output gate opens: sync re-arms reading and hands back
		// the bytes the handler left.
		c.gated = false
		c.kick()
	}
	want := c.armed &^ unix.EPOLLOUT
	if pending > 0 {
		// Also when the budget ran out with the socket still writable:
		// level-triggered, EPOLLOUT brings us straight back.
		want |= unix.EPOLLOUT
	}
	return l.setInterest(c, want)
}

// sendSeg sends the next part of the file segment at the head of c's queue
// (c.mu held) and returns the bytes the socket took and whether it took all
// it was offered. EAGAIN and EINTR come back bare; other errors close c.
//
// sendfile is tried first. If it fails for any reason but a full socket
// (EINVAL or ENOSYS: the file system cannot splice; or a socket error), or
// returns 0 because the file ended early, the segment falls back to pread
// and write for good; pread then tells a short file (errFileShrank) from a
// readable one, and write reports the socket's own error. pread runs on the
// loop: it is for files that cannot do sendfile, which are rare.
func (l *loop) sendSeg(c *conn, s *fileSeg) (int, bool, error) {
	want := int(min(s.n, sendChunk, wakeBytes))
	if !s.pread && !l.r.opts.forcePread {
		off := s.off
		n, err := unix.Sendfile(c.fd, s.ref.fd, &off, want)
		switch {
		case n > 0:
			return n, n == want, nil
		case err == unix.EAGAIN || err == unix.EINTR:
			return 0, false, err
		}
		s.pread = true
	}
	if l.fbuf == nil {
		l.fbuf = make([]byte, preadChunk)
	}
	want = min(want, len(l.fbuf))
	var k int
	var err error
	for {
		k, err = unix.Pread(s.ref.fd, l.fbuf[:want], s.off)
		if err != unix.EINTR {
			break
		}
	}
	switch {
	case err != nil:
		return 0, false, wrapErr("pread", err)
	case k == 0:
		return 0, false, errFileShrank
	}
	// Bytes read but not taken are read again next time: simpler than
	// keeping them, and they are in the page cache.
	n, err := unix.Write(c.fd, l.fbuf[:k])
	if n < 0 {
		n = 0
	}
	if err != nil && err != unix.EAGAIN && err != unix.EINTR {
		err = wrapErr("write", err)
	}
	return n, n == want, err
}

// setInterest changes c's epoll interest; only EPOLLIN and EPOLLOUT ever
// vary (HUP and ERR are always reported). It reports false if c is closed.
func (l *loop) setInterest(c *conn, want uint32) bool {
	if c.dead {
		return false
	}
	if want == c.armed {
		return true
	}
	ev := unix.EpollEvent{Events: want, Fd: int32(c.fd)}
	if err := unix.EpollCtl(l.epfd, unix.EPOLL_CTL_MOD, c.fd, &ev); err != nil {
		l.closeConn(c, wrapErr("epoll_ctl", err))
		return false
	}
	c.armed = want
	return true
}

// closeConn is the only place a reactor socket is closed.
func (l *loop) closeConn(c *conn, err error) {
	if c.dead {
		return
	}
	c.dead = true
	c.keep = nil
	c.mu.Lock()
	c.closed = true
	c.q.reset()
	c.cond.Broadcast()
	c.mu.Unlock()
	if c.tls != nil {
		c.tls.tr.Close() // ends a handshake waiting for input
	}
	// Deregister before close: once closed, the number may be handed to
	// a new connection while this one is still in the interest list.
	_ = unix.EpollCtl(l.epfd, unix.EPOLL_CTL_DEL, c.fd, nil)
	unix.Close(c.fd)
	l.conns[c.fd] = nil
	l.cur.Store(c)
	l.r.h.OnClose(c, err)
	l.cur.Store(nil)
}

func wrapErr(op string, err error) error { return os.NewSyscallError(op, err) }
