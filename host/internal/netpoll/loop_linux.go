//go:build linux

package netpoll

import (
	"encoding/binary"
	"sync"
	"sync/atomic"

	"golang.org/x/sys/unix"
)

// eventBatch is how many readiness events one epoll_wait returns at most.
const eventBatch = 256

// maxSpareTasks bounds the task slice a loop keeps for reuse.
const maxSpareTasks = 1024

// wakeValue is the 8-byte counter increment written to an eventfd; shared
// and never written so that waking allocates nothing.
var wakeValue = binary.NativeEndian.AppendUint64(nil, 1)

type taskOp uint8

const (
	opSync        taskOp = iota // reconcile c with what its owner asked for
	opAdd                       // adopt a freshly accepted c
	opArmListener               // accept backoff is over
	opStopAccept                // close the listener
	opShutdown                  // close everything and exit
	opRun                       // run fn for c (Conn.Post)
	opLoop                      // run fn for c, the engine's own, not a callback
)

// task is a request handed to a loop from another goroutine. It carries the
// connection pointer, never a descriptor: descriptors are reused.
type task struct {
	op taskOp
	c  *conn
	fn func() // opRun only
}

// loop is one event loop. Fields above mu belong to the loop goroutine.
type loop struct {
	r        *reactor
	epfd     int
	efd      int
	lnfd     int // listener; >= 0 on loop 0 only while accepting
	lnArmed  bool
	shutting bool
	buf      []byte // shared read buffer; never retained past OnData
	events   []unix.EpollEvent
	conns    []*conn // by descriptor; nil where none
	iov      [][]byte
	fbuf     []byte // pread fallback for file segments; made on first use
	drain    [8]byte

	// cur is the connection whose callback is running, so that Conn
	// methods called from inside it can tell they are on the loop.
	cur atomic.Pointer[conn]

	// wakePending is true while the loop is awake or an eventfd write is
	// already on its way, so posters write the eventfd at most once per
	// sleep.
	wakePending atomic.Bool

	mu    sync.Mutex
	tasks []task
	spare []task
	dead  bool // no more tasks accepted; eventfd closed
}

func newLoop(r *reactor) (*loop, error) {
	epfd, err := unix.EpollCreate1(unix.EPOLL_CLOEXEC)
	if err != nil {
		return nil, err
	}
	efd, err := unix.Eventfd(0, unix.EFD_NONBLOCK|unix.EFD_CLOEXEC)
	if err != nil {
		unix.Close(epfd)
		return nil, err
	}
	ev := unix.EpollEvent{Events: unix.EPOLLIN, Fd: int32(efd)}
	if err := unix.EpollCtl(epfd, unix.EPOLL_CTL_ADD, efd, &ev); err != nil {
		unix.Close(efd)
		unix.Close(epfd)
		return nil, err
	}
	return &loop{r: r, epfd: epfd, efd: efd, lnfd: -1}, nil
}

// release closes the loop's descriptors when it never ran.
func (l *loop) release() {
	l.mu.Lock()
	defer l.mu.Unlock()
	if l.dead {
		return
	}
	l.dead = true
	unix.Close(l.efd)
	unix.Close(l.epfd)
}

// post queues t for the loop and wakes it if it may be asleep. It reports
// false once the loop has exited.
func (l *loop) post(t task) bool {
	l.mu.Lock()
	defer l.mu.Unlock()
	if l.dead {
		return false
	}
	l.tasks = append(l.tasks, t)
	// Written under mu so the loop cannot close the eventfd in between
	// (the number could already name another file).
	if l.wakePending.CompareAndSwap(false, true) {
		_, _ = unix.Write(l.efd, wakeValue)
	}
	return true
}

func (l *loop) hasTasks() bool {
	l.mu.Lock()
	defer l.mu.Unlock()
	return len(l.tasks) > 0
}

// run is the loop goroutine. Level-triggered: a connection left unread (read
// budget spent, or paused) is reported again, so no wake-up is ever lost.
func (l *loop) run() {
	l.buf = make([]byte, l.r.opts.ReadBuffer)
	l.events = make([]unix.EpollEvent, eventBatch)
	l.armListener()
	for !l.shutting {
		// Clearing the flag before looking at the queue closes the race
		// with post: a task added after the look finds the flag clear
		// and writes the eventfd.
		l.wakePending.Store(false)
		timeout := -1
		if l.hasTasks() {
			timeout = 0
		}
		n, err := unix.EpollWait(l.epfd, l.events, timeout)
		l.wakePending.Store(true)
		if err != nil && err != unix.EINTR {
			// EBADF/EINVAL: the poller itself is broken; closing every
			// connection beats spinning on it.
			break
		}
		for i := range n {
			ev := l.events[i]
			switch fd := int(ev.Fd); {
			case fd == l.efd:
				_, _ = unix.Read(l.efd, l.drain[:])
			case fd == l.lnfd:
				l.accept()
			default:
				l.handle(fd, ev.Events)
			}
		}
		l.runTasks()
	}
	l.shutdown()
}

func (l *loop) runTasks() {
	l.mu.Lock()
	ts := l.tasks
	l.tasks = l.spare[:0]
	l.mu.Unlock()
	for i, t := range ts {
		switch t.op {
		case opSync:
			t.c.queued.Store(false)
			l.sync(t.c)
		case opAdd:
			l.add(t.c)
		case opArmListener:
			l.armListener()
		case opStopAccept:
			l.closeListener()
		case opShutdown:
			l.shutting = true
		case opLoop:
			if !t.c.dead {
				t.fn()
			}
		case opRun:
			if !t.c.dead { // closed: OnClose has run, so fn must not
				l.cur.Store(t.c)
				t.fn()
				l.cur.Store(nil)
			}
		}
		ts[i] = task{}
	}
	// A burst (a timer sweep posts a task per connection) must not pin its
	// size for good: 10,000 idle connections would keep a quarter MiB per
	// loop.
	if cap(ts) > maxSpareTasks {
		ts = nil
	}
	l.spare = ts[:0]
}

// add adopts an accepted connection: OnOpen first, then polling with the
// interest the handler's OnOpen left it wanting.
func (l *loop) add(c *conn) {
	if l.shutting {
		unix.Close(c.fd)
		return
	}
	for c.fd >= len(l.conns) {
		l.conns = append(l.conns, nil)
	}
	l.conns[c.fd] = c
	l.cur.Store(c)
	l.r.h.OnOpen(c)
	l.cur.Store(nil)
	ev := unix.EpollEvent{Fd: int32(c.fd)}
	if err := unix.EpollCtl(l.epfd, unix.EPOLL_CTL_ADD, c.fd, &ev); err != nil {
		l.closeConn(c, err)
		return
	}
	if c.tls != nil {
		c.tls.start()
	}
	l.sync(c)
}

// handle dispatches one readiness event for a connection.
func (l *loop) handle(fd int, events uint32) {
	if fd < 0 || fd >= len(l.conns) {
		return
	}
	c := l.conns[fd]
	if c == nil {
		// Closed earlier in this batch.
		return
	}
	if events&unix.EPOLLERR != 0 {
		l.closeConn(c, sockError(fd))
		return
	}
	if events&unix.EPOLLOUT != 0 && !l.flush(c) {
		return
	}
	if events&(unix.EPOLLIN|unix.EPOLLHUP) == 0 {
		return
	}
	if c.armed&unix.EPOLLIN != 0 {
		l.read(c)
	} else if events&unix.EPOLLHUP != 0 {
		// Not reading (paused or closing): HUP is reported regardless of
		// interest, so ignoring it would spin the loop.
		l.closeConn(c, sockError(fd))
	}
}

// sockError reports the socket's pending error, or a reset if it has none
// left to report: a hang-up we were not reading towards is never clean.
func sockError(fd int) error {
	if n, err := unix.GetsockoptInt(fd, unix.SOL_SOCKET, unix.SO_ERROR); err == nil && n != 0 {
		return wrapErr("read", unix.Errno(n))
	}
	return wrapErr("read", unix.ECONNRESET)
}

// shutdown closes every connection and the loop's descriptors.
func (l *loop) shutdown() {
	l.closeListener()
	for _, c := range l.conns {
		if c != nil {
			l.closeConn(c, nil)
		}
	}
	l.mu.Lock()
	l.dead = true
	ts := l.tasks
	l.tasks = nil
	unix.Close(l.efd)
	l.mu.Unlock()
	for _, t := range ts {
		if t.op == opAdd {
			// Never opened, so the handler never hears of it.
			unix.Close(t.c.fd)
		}
	}
	unix.Close(l.epfd)
	l.conns = nil
	l.buf = nil
}
