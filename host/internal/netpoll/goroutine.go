package netpoll

import (
	"errors"
	"io"
	"net"
	"os"
	"sync"
	"time"
)

const (
	// idleRead is the read buffer an idle connection keeps. A burst that
	// fills it switches to a pooled Options.ReadBuffer until a short read,
	// so 10,000 idle connections do not hold 10,000 full-size buffers.
	idleRead = 512
	// writeSlice bounds one blocking write, so Pending's progress time
	// moves at least this often on a slow but live peer.
	writeSlice = 64 << 10
	// maxAcceptDelay caps the back-off between failed accepts.
	maxAcceptDelay = time.Second
)

// goEngine is the goroutine-per-connection Engine: one reader goroutine per
// connection, plus a writer goroutine while its output queue is non-empty.
type goEngine struct {
	opts Options
	bufs sync.Pool // *[]byte of opts.ReadBuffer

	mu      sync.Mutex
	h       Handler
	ln      net.Listener
	conns   map[*gconn]struct{}
	started bool
	stopped bool
	closed  bool
	stopCh  chan struct{} // closed by StopAccepting
	done    chan struct{} // closed by Close
	wg      sync.WaitGroup
}

// NewGoroutine returns the goroutine-per-connection backend. It works with
// any net.Listener, TLS included, on every OS. Options.Loops is ignored.
func NewGoroutine(opts Options) Engine {
	e := &goEngine{
		opts:   opts.withDefaults(),
		conns:  make(map[*gconn]struct{}),
		stopCh: make(chan struct{}),
		done:   make(chan struct{}),
	}
	e.bufs.New = func() any {
		b := make([]byte, e.opts.ReadBuffer)
		return &b
	}
	return e
}

// Serve accepts until StopAccepting or Close, then waits for Close and for
// every connection's OnClose. An accept error that is not temporary ends
// Serve early with that error; live connections run on until Close.
func (e *goEngine) Serve(ln net.Listener, h Handler) error {
	if h == nil {
		return errNilHandler
	}
	e.mu.Lock()
	if e.started && !e.closed {
		e.mu.Unlock()
		return errServing
	}
	if e.closed {
		e.mu.Unlock()
		ln.Close()
		return nil
	}
	e.started = true
	if e.opts.TLS != nil {
		ln = &tlsListener{Listener: ln, cfg: e.opts.TLS, reply: e.opts.TLSPlainReply}
	}
	e.ln, e.h = ln, h
	stopped := e.stopped
	e.mu.Unlock()

	if stopped {
		ln.Close()
	} else if err := e.acceptLoop(ln); err != nil {
		return err
	}
	<-e.done
	e.wg.Wait()
	return nil
}

func (e *goEngine) acceptLoop(ln net.Listener) error {
	var delay time.Duration
	for {
		nc, err := ln.Accept()
		if err != nil {
			select {
			case <-e.stopCh:
				return nil
			default:
			}
			if !retryable(err) {
				return err
			}
			if e.opts.OnAcceptError != nil {
				e.opts.OnAcceptError(err)
			}
			delay = min(max(2*delay, 5*time.Millisecond), maxAcceptDelay)
			t := time.NewTimer(delay)
			select {
			case <-t.C:
			case <-e.stopCh:
				t.Stop()
				return nil
			}
			continue
		}
		delay = 0
		c := &gconn{e: e, nc: nc}
		c.cond.L = &c.mu
		e.mu.Lock()
		if e.stopped {
			// Raced StopAccepting: refuse it rather than open a
			// connection after the caller believes accepting stopped.
			e.mu.Unlock()
			nc.Close()
			return nil
		}
		e.conns[c] = struct{}{}
		e.wg.Add(1)
		e.mu.Unlock()
		go c.run()
	}
}

// retryable reports whether accept may succeed later (EMFILE, ENFILE,
// ECONNABORTED, timeouts), as net/http judges it.
func retryable(err error) bool {
	var t interface{ Temporary() bool }
	if errors.As(err, &t) && t.Temporary() {
		return true
	}
	var to interface{ Timeout() bool }
	return errors.As(err, &to) && to.Timeout()
}

func (e *goEngine) StopAccepting() {
	e.mu.Lock()
	if e.stopped {
		e.mu.Unlock()
		return
	}
	e.stopped = true
	close(e.stopCh)
	ln := e.ln
	e.mu.Unlock()
	if ln != nil {
		ln.Close()
	}
}

func (e *goEngine) Close() error {
	e.StopAccepting()
	e.mu.Lock()
	if e.closed {
		e.mu.Unlock()
		return nil
	}
	e.closed = true
	close(e.done)
	conns := make([]*gconn, 0, len(e.conns))
	for c := range e.conns {
		conns = append(conns, c)
	}
	e.mu.Unlock()
	for _, c := range conns {
		c.closeWith(nil)
	}
	return nil
}

// gconn is a goroutine-backend connection.
type gconn struct {
	e    *goEngine
	nc   net.Conn
	keep []byte // reader goroutine only
	ctx  ctxValue

	// cb is held across every handler call and posted function, which is
	// what serializes them: the reader goroutine makes the callbacks, a
	// short-lived drainer goroutine runs what Post queued.
	cb sync.Mutex

	mu        sync.Mutex
	cond      sync.Cond // reader waiting for resume; writers for space
	q         outQueue
	last      time.Time
	sent      uint64
	closeErr  error
	resumes   uint32
	outHold   bool // OutputFull said yes during the running OnData
	gated     bool // reading waits for the output queue to drain
	paused    bool
	writeShut bool
	writing   bool // a writer goroutine is running
	closed    bool
	posted    []func() // queued by Post, run by runPosted
	draining  bool     // a runPosted goroutine is running
	postDone  bool     // OnClose has run: posted functions are dropped
}

func (c *gconn) RemoteAddr() net.Addr { return c.nc.RemoteAddr() }
func (c *gconn) SetContext(v any)     { c.ctx.set(v) }
func (c *gconn) Context() any         { return c.ctx.get() }

// run is the reader goroutine; it makes every handler call for c, which is
// what keeps them from running concurrently.
func (c *gconn) run() {
	e := c.e
	defer e.wg.Done()
	c.cb.Lock()
	e.h.OnOpen(c)
	c.cb.Unlock()
	c.readLoop()
	c.mu.Lock()
	for c.writing {
		c.cond.Wait()
	}
	err := c.closeErr
	c.mu.Unlock()
	e.mu.Lock()
	delete(e.conns, c)
	e.mu.Unlock()
	c.cb.Lock()
	e.h.OnClose(c, err)
	c.mu.Lock()
	c.postDone = true // still under cb: no posted function runs after this
	c.posted = nil
	c.mu.Unlock()
	c.cb.Unlock()
}

// Post queues fn and starts a drainer goroutine unless one is running. The
// drainer is counted in the engine's WaitGroup, so Serve's return still
// means nothing of the handler runs any more.
func (c *gconn) Post(fn func()) bool {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.closed || c.postDone {
		return false
	}
	c.posted = append(c.posted, fn)
	if !c.draining {
		c.draining = true
		c.e.wg.Add(1) // before run's Done: postDone is still false
		go c.runPosted()
	}
	return true
}

// runPosted runs queued functions, in order, each under cb.
func (c *gconn) runPosted() {
	defer c.e.wg.Done()
	for {
		c.mu.Lock()
		fns := c.posted
		c.posted = nil
		if len(fns) == 0 || c.postDone {
			c.draining = false
			c.mu.Unlock()
			return
		}
		c.mu.Unlock()
		c.cb.Lock()
		for _, fn := range fns {
			c.mu.Lock()
			done := c.postDone
			c.mu.Unlock()
			if done {
				break
			}
			fn()
		}
		c.cb.Unlock()
	}
}

func (c *gconn) readLoop() {
	small := make([]byte, idleRead)
	var big *[]byte
	defer func() {
		if big != nil {
			c.e.bufs.Put(big)
		}
	}()
	for {
		c.mu.Lock()
		// A handler held back by its output waits for the queue to
		// drain (see OutputFull); the writer broadcasts when it does.
		for !c.closed && (c.paused || c.writeShut || (c.gated && c.q.n > c.e.opts.MaxOutput)) {
			c.cond.Wait()
		}
		c.gated = false
		closed := c.closed
		c.mu.Unlock()
		if closed {
			return
		}
		if len(c.keep) > 0 {
			c.deliver(c.keep, true)
			continue
		}
		if sk, ok := c.e.h.(Sinker); ok {
			c.cb.Lock()
			b := sk.Sink(c)
			c.cb.Unlock()
			if len(b) > 0 {
				if !c.readInto(sk, b) {
					return
				}
				continue
			}
		}
		buf := small
		if big != nil {
			buf = *big
		}
		n, err := c.nc.Read(buf)
		if n > 0 {
			c.mu.Lock()
			paused, drop := c.paused, c.writeShut || c.closed
			c.mu.Unlock()
			switch {
			case drop:
			case paused:
				// A read already under way when PauseRead came:
				// hold the bytes for ResumeRead.
				c.keep = append(c.keep[:0], buf[:n]...)
			default:
				c.deliver(buf[:n], false)
			}
			if n == len(buf) && big == nil {
				big = c.e.bufs.Get().(*[]byte)
			} else if n < len(buf) && big != nil {
				c.e.bufs.Put(big)
				big = nil
			}
		}
		if err != nil {
			if errors.Is(err, io.EOF) {
				err = nil
			}
			c.closeWith(err) // keeps the first reason if already closed
			return
		}
	}
}

// readInto reads straight into the handler's buffer b (see Sinker) and
// reports whether the connection lives on.
func (c *gconn) readInto(sk Sinker, b []byte) bool {
	n, err := c.nc.Read(b)
	if n > 0 {
		c.mu.Lock()
		drop := c.writeShut || c.closed
		c.mu.Unlock()
		if !drop {
			// Bytes read are the handler's even if a pause came
			// meanwhile: its buffer had room for them.
			c.cb.Lock()
			sk.Filled(c, n)
			c.cb.Unlock()
		}
	}
	if err != nil {
		if errors.Is(err, io.EOF) {
			err = nil
		}
		c.closeWith(err)
		return false
	}
	return true
}

// deliver mirrors the reactor's: keep what OnData left and pause, unless a
// ResumeRead raced the call.
func (c *gconn) deliver(b []byte, fromKeep bool) {
	c.mu.Lock()
	gen := c.resumes
	c.mu.Unlock()
	c.cb.Lock()
	k := clampConsumed(c.e.h.OnData(c, b), len(b))
	c.cb.Unlock()
	c.mu.Lock()
	hold := c.outHold
	c.outHold = false
	c.mu.Unlock()
	if k == len(b) {
		if fromKeep {
			c.keep = nil
		}
		return
	}
	if fromKeep {
		c.keep = c.keep[:copy(c.keep, b[k:])]
	} else {
		c.keep = append(c.keep[:0], b[k:]...)
	}
	c.mu.Lock()
	if hold {
		c.gated = true // wait for the output to drain, not for ResumeRead
	} else if c.resumes == gen {
		c.paused = true
	}
	c.mu.Unlock()
}

func (c *gconn) Write(b []byte) error   { return c.write(b, true) }
func (c *gconn) Enqueue(b []byte) error { return c.write(b, false) }

func (c *gconn) write(b []byte, block bool) error {
	c.mu.Lock()
	defer c.mu.Unlock()
	if err := c.waitRoom(block); err != nil {
		return err
	}
	if len(b) == 0 {
		return nil
	}
	c.startBurst()
	c.q.push(b)
	return nil
}

// SendFile queues the range as file segments (see sendFile); the writer
// goroutine sends them with sendfile where nc is a socket.
func (c *gconn) SendFile(f *os.File, off, n int64) error {
	return sendFile(f, off, n, false, c.Write, c.pushFile, c.closeWith)
}

func (c *gconn) pushFile(s *fileSeg) error {
	c.mu.Lock()
	defer c.mu.Unlock()
	if err := c.waitRoom(true); err != nil {
		return err
	}
	c.startBurst()
	c.q.pushFile(s)
	return nil
}

// waitRoom waits, if block, while the queue is over MaxOutput, and reports
// ErrClosed once nothing more may be queued. c.mu is held.
func (c *gconn) waitRoom(block bool) error {
	if block {
		for c.q.n > c.e.opts.MaxOutput && !c.closed && !c.writeShut {
			c.cond.Wait()
		}
	}
	if c.closed || c.writeShut {
		return ErrClosed
	}
	return nil
}

// startBurst is called, with c.mu held, just before something is queued.
func (c *gconn) startBurst() {
	if c.q.n == 0 {
		c.last = time.Now()
	}
	if !c.writing {
		// Started per burst rather than kept per connection: an idle
		// connection then costs one goroutine, not two.
		c.writing = true
		go c.writeLoop()
	}
}

func (c *gconn) writeLoop() {
	var iov [][]byte
	var buf *[]byte // pread fallback buffer, from the read pool
	defer func() {
		if buf != nil {
			c.e.bufs.Put(buf)
		}
	}()
	for {
		c.mu.Lock()
		if c.closed || c.q.n == 0 {
			c.writing = false
			finish := !c.closed && c.writeShut
			c.cond.Broadcast()
			c.mu.Unlock()
			if finish {
				c.closeWith(nil)
			}
			return
		}
		if s := c.q.front(); s != nil {
			// Sent without the lock, like chunks: the segment stays
			// queued (and counted) until the socket takes its bytes.
			c.mu.Unlock()
			n, err := c.sendSeg(s, &buf)
			c.progress(n)
			if err != nil {
				c.closeWith(err)
			}
			continue
		}
		// The chunks stay in the queue (counted by Pending) until sent;
		// concurrent pushes only append past the bytes peeked here.
		iov = c.q.peek(iov[:0], writeSlice)
		c.mu.Unlock()
		bufs := net.Buffers(iov)
		n, err := bufs.WriteTo(c.nc)
		clear(iov)
		c.progress(int(n))
		if err != nil {
			c.closeWith(err)
		}
	}
}

// progress drops the n bytes the socket accepted from the queue.
func (c *gconn) progress(n int) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if !c.closed && n > 0 {
		c.q.advance(n)
		c.sent += uint64(n)
		c.last = time.Now()
		if c.q.n <= c.e.opts.MaxOutput {
			c.cond.Broadcast()
		}
	}
}

// sendSeg sends the next part of the file segment at the queue's head and
// returns how many bytes the socket took. sendfile moves them where nc is a
// socket; otherwise (TLS), or when sendfile fails, they are read with pread
// into buf and written.
func (c *gconn) sendSeg(s *fileSeg, buf **[]byte) (int, error) {
	if !c.e.opts.forcePread {
		if n, fallback, err := sendfileConn(c.nc, s); !fallback {
			return n, err
		}
	}
	if *buf == nil {
		*buf = c.e.bufs.Get().(*[]byte)
	}
	b := **buf
	k, err := s.ref.f.ReadAt(b[:min(int64(len(b)), s.n)], s.off)
	if k == 0 {
		if err == nil || err == io.EOF {
			err = errFileShrank
		}
		return 0, err
	}
	// A short read's error (EOF) is met again, alone, next time round.
	return c.nc.Write(b[:k])
}

func (c *gconn) OutputFull() bool {
	c.mu.Lock()
	defer c.mu.Unlock()
	full := c.q.n > c.e.opts.MaxOutput
	if full {
		c.outHold = true
	}
	return full
}

func (c *gconn) PauseRead() {
	c.mu.Lock()
	c.paused = true
	c.mu.Unlock()
}

func (c *gconn) ResumeRead() {
	c.mu.Lock()
	c.paused = false
	c.resumes++
	c.cond.Broadcast()
	c.mu.Unlock()
}

func (c *gconn) CloseWrite() {
	c.mu.Lock()
	if c.closed || c.writeShut {
		c.mu.Unlock()
		return
	}
	c.writeShut = true
	c.cond.Broadcast()
	idle := !c.writing
	c.mu.Unlock()
	if idle {
		c.closeWith(nil)
	}
}

func (c *gconn) Close() { c.closeWith(nil) }

func (c *gconn) Sent() uint64 {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.sent
}

func (c *gconn) Pending() (int, time.Time) {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.q.n, c.last
}

// closeWith closes c once, remembering the first reason; closing the socket
// is what unblocks the reader and writer goroutines.
func (c *gconn) closeWith(err error) {
	c.mu.Lock()
	if c.closed {
		c.mu.Unlock()
		return
	}
	c.closed = true
	c.closeErr = err
	q := c.q
	c.q = outQueue{}
	c.cond.Broadcast()
	c.mu.Unlock()
	// File segments are released outside the lock, as closing a file can
	// wait. A sendfile or pread the writer has in flight on a duplicate
	// holds a reference to it (os.File counts them), so its number is
	// not freed, and reused, under that call. Released before the socket
	// is closed, so they are gone by the time OnClose runs.
	q.reset()
	c.nc.Close()
}
