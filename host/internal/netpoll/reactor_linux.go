//go:build linux

package netpoll

import (
	"net"
	"sync"
	"sync/atomic"
	"time"

	"golang.org/x/sys/unix"
)

const (
	// acceptBudget bounds the connections taken per listener wake-up so a
	// connection storm cannot starve the connections loop 0 already serves.
	acceptBudget = 128
	// acceptBackoff is how long the listener stays unpolled after accept
	// failed for want of descriptors or memory: retrying at once would spin.
	acceptBackoff = 100 * time.Millisecond
)

// reactor is the epoll Engine: N loops, each with its own epoll instance;
// loop 0 also polls the listener and deals connections out round-robin.
type reactor struct {
	opts  Options
	loops []*loop
	h     Handler // set once by Serve before any loop starts

	mu      sync.Mutex
	ln      net.Listener
	started bool
	stopped bool
	closed  bool

	// stopping mirrors stopped for loop 0, which must not take mu on the
	// accept path.
	stopping atomic.Bool

	// Accept state, touched only by loop 0.
	next    int
	backoff *time.Timer
}

// NewReactor returns the epoll backend. It allocates its epoll and eventfd
// descriptors now, so resource errors surface here rather than in Serve.
func NewReactor(opts Options) (Engine, error) {
	r := &reactor{opts: opts.withDefaults()}
	for range r.opts.Loops {
		l, err := newLoop(r)
		if err != nil {
			for _, l := range r.loops {
				l.release()
			}
			return nil, err
		}
		r.loops = append(r.loops, l)
	}
	return r, nil
}

// Serve polls ln's descriptor (a duplicate, so the net package's own copy is
// never touched) until Close.
func (r *reactor) Serve(ln net.Listener, h Handler) error {
	tl, ok := ln.(*net.TCPListener)
	if !ok {
		return ErrUnsupported
	}
	if h == nil {
		return errNilHandler
	}
	lnfd, err := dupListener(tl)
	if err != nil {
		return err
	}
	r.mu.Lock()
	if r.closed || r.started {
		err := errServing
		if r.closed {
			err = nil
		}
		r.mu.Unlock()
		unix.Close(lnfd)
		if err == nil {
			ln.Close()
		}
		return err
	}
	r.started = true
	r.ln = ln
	stopped := r.stopped
	r.mu.Unlock()

	if stopped {
		unix.Close(lnfd)
		ln.Close()
		lnfd = -1
	}
	r.h = h
	r.loops[0].lnfd = lnfd
	var wg sync.WaitGroup
	for _, l := range r.loops {
		wg.Go(l.run)
	}
	wg.Wait()
	return nil
}

func (r *reactor) StopAccepting() {
	r.mu.Lock()
	if r.stopped {
		r.mu.Unlock()
		return
	}
	r.stopped = true
	r.stopping.Store(true)
	ln, started := r.ln, r.started
	r.mu.Unlock()
	if started {
		// If loop 0 has already exited it closed the listener itself.
		r.loops[0].post(task{op: opStopAccept})
	}
	if ln != nil {
		// The duplicate alone keeps the socket listening; closing the
		// original too is what makes new dials fail fast.
		ln.Close()
	}
}

func (r *reactor) Close() error {
	r.StopAccepting()
	r.mu.Lock()
	if r.closed {
		r.mu.Unlock()
		return nil
	}
	r.closed = true
	started := r.started
	r.mu.Unlock()
	for _, l := range r.loops {
		if started {
			l.post(task{op: opShutdown})
		} else {
			l.release()
		}
	}
	return nil
}

// dupListener returns a nonblocking, close-on-exec duplicate of tl's socket.
func dupListener(tl *net.TCPListener) (int, error) {
	rc, err := tl.SyscallConn()
	if err != nil {
		return -1, err
	}
	nfd := -1
	var derr error
	if err := rc.Control(func(fd uintptr) {
		nfd, derr = unix.FcntlInt(fd, unix.F_DUPFD_CLOEXEC, 0)
	}); err != nil {
		return -1, err
	}
	if derr != nil {
		return -1, derr
	}
	if err := unix.SetNonblock(nfd, true); err != nil {
		unix.Close(nfd)
		return -1, err
	}
	return nfd, nil
}

// accept runs on loop 0 when the listener is readable.
func (l *loop) accept() {
	r := l.r
	for range acceptBudget {
		fd, sa, err := unix.Accept4(l.lnfd, unix.SOCK_NONBLOCK|unix.SOCK_CLOEXEC)
		if err != nil {
			switch err {
			case unix.EAGAIN:
				return
			case unix.EINTR, unix.ECONNABORTED:
				// The peer gave up before we got to it; try the next one.
				continue
			}
			if r.opts.OnAcceptError != nil {
				r.opts.OnAcceptError(err)
			}
			l.pauseAccept()
			return
		}
		if r.stopping.Load() {
			// Accepted after StopAccepting returned: refuse it, so that
			// nothing is opened once the caller believes accepting
			// has stopped.
			unix.Close(fd)
			l.closeListener()
			return
		}
		// Match the net package's default: replies are small and latency
		// matters more than packet count.
		_ = unix.SetsockoptInt(fd, unix.IPPROTO_TCP, unix.TCP_NODELAY, 1)
		target := r.loops[r.next%len(r.loops)]
		r.next++
		c := newConn(target, fd, sa)
		if r.opts.TLS != nil {
			c.tls = newTLSLayer(c, r.opts.TLS, r.opts.TLSPlainReply)
		}
		if !target.post(task{op: opAdd, c: c}) {
			unix.Close(fd)
		}
	}
}

// pauseAccept stops polling the listener for acceptBackoff; a timer hands
// the re-arm back to the loop, which alone may touch the poller.
func (l *loop) pauseAccept() {
	if !l.lnArmed {
		return
	}
	_ = unix.EpollCtl(l.epfd, unix.EPOLL_CTL_DEL, l.lnfd, nil)
	l.lnArmed = false
	l.scheduleRearm()
}

func (l *loop) scheduleRearm() {
	r := l.r
	if r.backoff != nil {
		r.backoff.Stop()
	}
	r.backoff = time.AfterFunc(acceptBackoff, func() {
		l.post(task{op: opArmListener})
	})
}

// armListener (re)starts polling the listener, if it is still open.
func (l *loop) armListener() {
	if l.lnfd < 0 || l.lnArmed {
		return
	}
	ev := unix.EpollEvent{Events: unix.EPOLLIN, Fd: int32(l.lnfd)}
	if err := unix.EpollCtl(l.epfd, unix.EPOLL_CTL_ADD, l.lnfd, &ev); err != nil {
		if l.r.opts.OnAcceptError != nil {
			l.r.opts.OnAcceptError(err)
		}
		l.scheduleRearm()
		return
	}
	l.lnArmed = true
}

// closeListener stops accepting for good.
func (l *loop) closeListener() {
	if l.lnfd < 0 {
		return
	}
	if l.r.backoff != nil {
		l.r.backoff.Stop()
	}
	if l.lnArmed {
		_ = unix.EpollCtl(l.epfd, unix.EPOLL_CTL_DEL, l.lnfd, nil)
		l.lnArmed = false
	}
	unix.Close(l.lnfd)
	// A later connection may reuse the number; -1 keeps run from
	// mistaking it for the listener.
	l.lnfd = -1
}
