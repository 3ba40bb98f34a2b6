//go:build linux

package netpoll

import (
	"crypto/tls"
	"errors"
	"io"
	"net"
	"os"
	"sync"
	"sync/atomic"
	"time"

	"golang.org/x/sys/unix"
)

const (
	// tlsHandshakeInput bounds what the loop reads for a connection whose
	// handshake has not finished: a client certificate chain fits, and a
	// client that floods before the handshake ends costs no more.
	tlsHandshakeInput = 64 << 10
	// tlsReadsPerWake bounds tls.Conn.Read calls (a record each, at most
	// 16 KiB) per connection per wake-up, beside wakeBytes.
	tlsReadsPerWake = 64
)

// errWouldBlock is what the reactor's TLS transport answers when the
// socket is drained. crypto/tls keeps any error of a record read for good
// unless it is a net.Error whose Temporary() is true; this one is, so the
// next tls.Conn.Read carries on where the record stopped.
var errWouldBlock net.Error = wouldBlock{}

type wouldBlock struct{}

func (wouldBlock) Error() string   { return "netpoll: would block" }
func (wouldBlock) Timeout() bool   { return true }
func (wouldBlock) Temporary() bool { return true }

// tlsLayer is one reactor connection's TLS.
type tlsLayer struct {
	c     *conn
	tc    *tls.Conn
	tr    *tlsTransport
	reply PlainReply
	ready atomic.Bool  // the handshake is done: the loop reads through tc
	held  atomic.Int64 // plaintext stashed before ready, still to encrypt

	// wmu orders encryption: the stash first, then each Write whole, so
	// records reach the queue in the order their sequence numbers say.
	wmu   sync.Mutex
	stash []byte

	bufs recordBufs // under c.mu
}

// recordBufs queues TLS records in chunks that are used again once the
// socket has taken them. crypto/tls hands its transport one record (16
// KiB) at a time from a buffer of its own; a fresh copy of each in the
// queue was an allocation per record, and at a gigabyte a second the
// garbage collector, and its handing memory back to the kernel, cost more
// than the copies. Records appended to one chunk also reach the socket as
// one iovec. Small records (handshake, short replies) are copied as the
// queue copies anything, so an idle or chatty connection pins no chunk.
type recordBufs struct {
	pushed uint64      // bytes ever queued, as conn.sent counts them sent
	cur    []byte      // the chunk being filled
	live   []sentChunk // earlier chunks, in queue order, not all sent
}

// sentChunk is a chunk whose last byte is byte end of the connection's
// output: once conn.sent reaches it, the queue holds none of its bytes.
type sentChunk struct {
	b   []byte
	end uint64
}

const (
	// recordChunk is the size of a record chunk: four full records.
	recordChunk = 64 << 10
	// bigRecord is the smallest record put in a chunk: bulk output.
	bigRecord = 4 << 10
)

// recordChunks are the chunks of every connection's recordBufs.
var recordChunks = sync.Pool{New: func() any { b := make([]byte, 0, recordChunk); return &b }}

// push queues a copy of b on q, which under TLS holds nothing but what
// push queued; sent is conn.sent. c.mu is held.
func (rb *recordBufs) push(q *outQueue, b []byte, sent uint64) {
	if len(b) == 0 {
		return
	}
	rb.pushed += uint64(len(b))
	q.n += len(b)
	for len(rb.live) > 0 && rb.live[0].end <= sent {
		putChunk(rb.live[0].b)
		rb.live[0] = sentChunk{}
		rb.live = rb.live[1:]
	}
	if len(b) < bigRecord || len(b) > recordChunk {
		// An exact copy: its capacity ends where it does, so neither
		// the queue nor a chunk ever appends into it.
		c := make([]byte, len(b))
		copy(c, b)
		q.items = append(q.items, outItem{b: c})
		return
	}
	if cap(rb.cur)-len(rb.cur) < len(b) {
		if rb.cur != nil {
			rb.live = append(rb.live, sentChunk{b: rb.cur, end: rb.pushed - uint64(len(b))})
		}
		rb.cur = (*recordChunks.Get().(*[]byte))[:0]
	}
	start := len(rb.cur)
	rb.cur = append(rb.cur, b...)
	// Bytes below the last item's length may be in a writev right now,
	// so that item only grows over the bytes just appended after it.
	if k := len(q.items); k > 0 && q.items[k-1].seg == nil && adjacent(q.items[k-1].b, rb.cur, start) {
		last := q.items[k-1].b
		q.items[k-1].b = last[:len(last)+len(b)]
	} else {
		q.items = append(q.items, outItem{b: rb.cur[start:]})
	}
}

// drained returns every chunk to the pool: the queue is empty, so the
// socket has taken all their bytes. c.mu is held.
func (rb *recordBufs) drained() {
	for i, ch := range rb.live {
		putChunk(ch.b)
		rb.live[i] = sentChunk{}
	}
	rb.live = nil
	if rb.cur != nil {
		putChunk(rb.cur)
		rb.cur = nil
	}
}

func putChunk(b []byte) {
	b = b[:0]
	recordChunks.Put(&b)
}

// adjacent reports whether item ends just before chunk's byte at start,
// so it can grow over the bytes appended there.
func adjacent(item, chunk []byte, start int) bool {
	if len(item) == 0 || start == 0 {
		return false
	}
	return &item[len(item)-1] == &chunk[start-1]
}

// tlsTransport is the net.Conn under tc. Before ready it blocks its one
// reader, the handshake goroutine, on what the loop feeds it; after, only
// the loop reads it, straight from the socket, and "would block" ends a
// read. Writes queue ciphertext on the connection, never blocking.
type tlsTransport struct {
	l      *tlsLayer
	mu     sync.Mutex
	cond   sync.Cond
	in     []byte // read before the socket: what the handshake left
	closed bool
}

func newTLSLayer(c *conn, cfg *tls.Config, reply PlainReply) *tlsLayer {
	t := &tlsLayer{c: c, reply: reply}
	t.tr = &tlsTransport{l: t}
	t.tr.cond.L = &t.tr.mu
	t.tc = tls.Server(t.tr, cfg)
	return t
}

func (tr *tlsTransport) Read(p []byte) (int, error) {
	tr.mu.Lock()
	for len(tr.in) == 0 && !tr.closed && !tr.l.ready.Load() {
		tr.cond.Wait()
	}
	switch {
	case tr.closed:
		tr.mu.Unlock()
		return 0, net.ErrClosed
	case len(tr.in) > 0:
		n := copy(p, tr.in)
		if tr.in = tr.in[n:]; len(tr.in) == 0 {
			tr.in = nil
		}
		tr.mu.Unlock()
		return n, nil
	}
	tr.mu.Unlock()
	// Ready: the caller is the loop, which alone closes the descriptor.
	for {
		n, err := unix.Read(tr.l.c.fd, p)
		switch {
		case n > 0:
			return n, nil
		case n == 0 && err == nil:
			return 0, io.EOF
		case err == unix.EINTR:
			continue
		case err == unix.EAGAIN:
			return 0, errWouldBlock
		}
		return 0, wrapErr("read", err)
	}
}

func (tr *tlsTransport) Write(p []byte) (int, error) {
	if err := tr.l.c.pushRaw(p); err != nil {
		return 0, err
	}
	return len(p), nil
}

// feed hands the handshake goroutine bytes the loop read.
func (tr *tlsTransport) feed(b []byte) {
	tr.mu.Lock()
	tr.in = append(tr.in, b...)
	tr.cond.Signal()
	tr.mu.Unlock()
}

func (tr *tlsTransport) buffered() int {
	tr.mu.Lock()
	defer tr.mu.Unlock()
	return len(tr.in)
}

func (tr *tlsTransport) Close() error {
	tr.mu.Lock()
	tr.closed = true
	tr.in = nil
	tr.cond.Broadcast()
	tr.mu.Unlock()
	return nil
}

func (tr *tlsTransport) LocalAddr() net.Addr              { return nil }
func (tr *tlsTransport) RemoteAddr() net.Addr             { return tr.l.c.RemoteAddr() }
func (tr *tlsTransport) SetDeadline(time.Time) error      { return nil }
func (tr *tlsTransport) SetReadDeadline(time.Time) error  { return nil }
func (tr *tlsTransport) SetWriteDeadline(time.Time) error { return nil }

// tlsHeld is the plaintext written before the handshake ended and not yet
// encrypted: output still to send, so CloseWrite waits for it.
func (c *conn) tlsHeld() int {
	if c.tls == nil {
		return 0
	}
	return int(c.tls.held.Load())
}

// start runs the handshake on a goroutine of its own: crypto/tls keeps a
// handshake's every error, so it must never see "would block". The
// session's hello timer bounds it: closing the connection ends it.
func (t *tlsLayer) start() {
	c := t.c
	// The hello timer bounds a session's handshake too, but a refused
	// connection (busy) has no session timers and waits for its stash.
	stall := time.AfterFunc(tlsHandshakeTimeout, func() {
		if !t.ready.Load() {
			c.Close()
		}
	})
	go func() {
		err := t.tc.Handshake()
		stall.Stop()
		if err == nil {
			t.wmu.Lock()
			t.tr.mu.Lock()
			t.ready.Store(true)
			t.tr.mu.Unlock()
			stash := t.stash
			t.stash = nil
			if len(stash) > 0 {
				err = t.encrypt(stash)
			}
			t.held.Store(0)
			t.wmu.Unlock()
			if err == nil {
				// What the handshake's last read took beyond it is
				// in tc or tr.in, where epoll cannot see it.
				c.onLoopLater(func() { c.tlsMore = true; c.l.sync(c) })
				return
			}
		}
		t.held.Store(0)
		if answerPlain(err, t.reply, func(p []byte) { c.pushRaw(p) }) {
			c.CloseWrite()
			return
		}
		if !errors.Is(err, net.ErrClosed) {
			err = &tlsError{err}
		}
		c.onLoopLater(func() { c.l.closeConn(c, err) })
	}()
}

// tlsError names the TLS layer in a connection's closing error.
type tlsError struct{ err error }

func (e *tlsError) Error() string { return "tls: " + trimTLS(e.err.Error()) }
func (e *tlsError) Unwrap() error { return e.err }

func trimTLS(s string) string {
	if len(s) > 5 && s[:5] == "tls: " {
		return s[5:]
	}
	return s
}

// encrypt writes b through tc, whose transport queues the records. wmu is
// held.
func (t *tlsLayer) encrypt(b []byte) error {
	if _, err := t.tc.Write(b); err != nil {
		return ErrClosed
	}
	return nil
}

// writeTLS is Write and Enqueue under TLS: wait for room first (never
// while holding wmu, which the loop's own Enqueue may need), then encrypt
// on the caller's goroutine.
func (c *conn) writeTLS(b []byte, block bool) error {
	c.mu.Lock()
	err := c.waitRoom(block)
	c.mu.Unlock()
	if err != nil || len(b) == 0 {
		return err
	}
	t := c.tls
	t.wmu.Lock()
	defer t.wmu.Unlock()
	if !t.ready.Load() {
		t.stash = append(t.stash, b...)
		t.held.Add(int64(len(b)))
		return nil
	}
	return t.encrypt(b)
}

// pushRaw queues bytes that go to the socket as they are: TLS records, or
// the clear reply to a plaintext client. It never blocks.
func (c *conn) pushRaw(b []byte) error {
	c.mu.Lock()
	if c.closed {
		c.mu.Unlock()
		return ErrClosed
	}
	wasEmpty := c.q.n == 0
	if c.tls != nil {
		c.tls.bufs.push(&c.q, b, c.sent)
	} else {
		c.q.push(b)
	}
	if wasEmpty {
		c.last = time.Now().UnixNano()
	}
	c.mu.Unlock()
	if wasEmpty {
		c.kick()
	}
	return nil
}

// sendFileTLS is SendFile under TLS: the range is read on the caller's
// goroutine, tlsFileChunk at a time, and written as Write does (encrypted
// there too).
func (c *conn) sendFileTLS(f *os.File, off, n int64) error {
	if f == nil || off < 0 || n < 0 || off > (1<<63-1)-n {
		return errBadRange
	}
	if n == 0 {
		return c.Write(nil)
	}
	if fi, err := f.Stat(); err != nil || !fi.Mode().IsRegular() {
		return errNotSeekable
	}
	bp := tlsFileBufs.Get().(*[]byte)
	defer tlsFileBufs.Put(bp)
	return copyFileBuf(f, off, n, *bp, c.Write, func(err error) {
		c.onLoopLater(func() { c.l.closeConn(c, err) })
	})
}

// onLoopLater runs fn on c's loop unless c has closed by then.
func (c *conn) onLoopLater(fn func()) { c.l.post(task{op: opLoop, c: c, fn: fn}) }

func (c *conn) tlsState() *tls.ConnectionState {
	if c.tls == nil || !c.tls.ready.Load() {
		return nil
	}
	st := c.tls.tc.ConnectionState()
	return &st
}

// readTLS is read for a TLS connection: during the handshake it feeds the
// handshake goroutine; after, it reads plaintext through tc into the
// handler's sink or the loop's buffer. tc may hold records it read past
// what it returned, which epoll cannot report: whenever reading stops
// with the socket maybe not drained, tlsMore says so and sync comes back.
func (l *loop) readTLS(c *conn) {
	t := c.tls
	if !t.ready.Load() {
		room := tlsHandshakeInput - t.tr.buffered()
		if room <= 0 {
			// Reading resumes (sync) once the handshake is done.
			l.setInterest(c, c.armed&^unix.EPOLLIN)
			return
		}
		n, err := unix.Read(c.fd, l.buf[:min(room, len(l.buf))])
		switch {
		case n > 0:
			t.tr.feed(l.buf[:n])
		case n == 0 && err == nil:
			l.closeConn(c, nil)
		case err == unix.EAGAIN || err == unix.EINTR:
		default:
			l.closeConn(c, wrapErr("read", err))
		}
		return
	}
	c.tlsMore = false
	sk, _ := l.r.h.(Sinker)
	for i, got := 0, 0; ; i++ {
		if i == tlsReadsPerWake || got >= wakeBytes {
			c.tlsMore = true
			l.readLater(c)
			return
		}
		b, sunk := l.buf, false
		if sk != nil && len(c.keep) == 0 {
			if s := sk.Sink(c); len(s) > 0 {
				b, sunk = s, true
			}
		}
		n, err := t.tc.Read(b)
		got += n
		if n > 0 {
			if sunk {
				c.mu.Lock()
				drop := c.closeReq || c.writeShut
				c.mu.Unlock()
				if drop {
					l.sync(c)
					return
				}
				l.cur.Store(c)
				sk.Filled(c, n)
				l.cur.Store(nil)
			} else if !l.deliver(c, b[:n], false) {
				c.tlsMore = true
				l.sync(c)
				return
			}
			continue
		}
		var nerr net.Error
		switch {
		case err == nil:
		case errors.As(err, &nerr) && nerr == errWouldBlock:
			return
		case errors.Is(err, io.EOF):
			l.closeConn(c, nil)
			return
		default:
			l.closeConn(c, &tlsError{err})
			return
		}
	}
}

// readLater reads c again after the loop has served the others, if it is
// still reading by then.
func (l *loop) readLater(c *conn) {
	c.onLoopLater(func() {
		if c.armed&unix.EPOLLIN != 0 {
			l.read(c)
		}
	})
}
