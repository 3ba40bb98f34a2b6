// Package netpoll hides the server's connection multiplexing behind one small
// interface with two backends: an epoll reactor (Linux) and a
// goroutine-per-connection backend (every OS, TLS, and the reference the
// reactor is tested against).
//
// The contract, shared by both backends:
//
//   - Handler methods for one connection are never called concurrently with
//     each other. OnOpen comes first, OnClose exactly once and last.
//   - OnData receives bytes read from the socket. The slice is only valid
//     during the call: a handler must copy what it keeps. OnData returns how
//     many bytes it consumed. If it consumed fewer than len(in), the backend
//     keeps the rest (copied), stops reading that socket, and delivers the kept
//     bytes again, first, once the handler calls ResumeRead. This is the
//     upload backpressure: a stalled consumer stops the socket being read.
//   - Conn methods are safe from any goroutine. Write blocks its caller while
//     the connection's output queue holds more than Options.MaxOutput bytes
//     (the download backpressure: a slow reader makes the producer wait), and
//     fails with ErrClosed once the connection is closed.
//   - Output can hold input back: a handler that stops consuming because
//     OutputFull said so returns short, and the backend reads nothing more
//     from that socket until the output queue has drained to MaxOutput,
//     then delivers the kept bytes again by itself (no ResumeRead). A
//     server that answers from inside OnData (Enqueue) uses this so that a
//     peer sending requests and never reading the answers cannot make it
//     hold more than about MaxOutput of answers. It is opt-in: a
//     full-duplex exchange (a body read while output is produced) must
//     keep reading.
//   - Post runs a function serialized with the connection's callbacks: it
//     never runs while OnOpen, OnData, OnClose or another posted function
//     for the same connection runs, so a handler can keep per-connection
//     state that only its callbacks and posted functions touch, without a
//     lock. Post never blocks and never runs fn inline, even from inside a
//     callback. Posted functions run in the order posted, after OnOpen; any
//     still pending when the connection closes are dropped, never run after
//     OnClose (Post itself reports false once the connection is closed).
//     On the reactor they run on the connection's event loop, so they must
//     not block either.
//   - Only the backend closes sockets. A peer's EOF, even a half-close,
//     ends the connection: output still queued is dropped.
//
// Differences between the backends are confined to what the reactor cannot
// afford: on the reactor, a Write made from inside one of the connection's
// own callbacks does not block (the loop it would wait for is the caller),
// so handlers use Enqueue there and Write from their own goroutines. The
// goroutine backend notices a peer's reset of a paused connection only once
// it resumes reading; the reactor notices at once.
package netpoll

import (
	"crypto/tls"
	"errors"
	"net"
	"os"
	"time"
)

// ErrClosed is returned by Conn.Write, Enqueue and SendFile after the
// connection has been closed.
var ErrClosed = errors.New("netpoll: connection closed")

// ErrUnsupported is returned by NewReactor on systems without epoll, and by
// a reactor's Serve for listeners it cannot poll (not a *net.TCPListener).
var ErrUnsupported = errors.New("netpoll: reactor not supported here")

// Handler receives connection events.
type Handler interface {
	// OnOpen is called once for each accepted connection, before any OnData.
	OnOpen(c Conn)
	// OnData is called with bytes read from c and returns how many it consumed.
	OnData(c Conn, in []byte) int
	// OnClose is called once after c is closed; err says why (nil: EOF or a
	// local Close).
	OnClose(c Conn, err error)
}

// Sinker is an optional extension of Handler for bulk input: a handler that
// can take the next bytes of a connection straight into memory of its own
// (an upload's buffer) saves the copy out of the engine's read buffer. Both
// methods run where OnData does, never concurrently with it for the same
// connection.
type Sinker interface {
	// Sink returns the buffer the next read of c may fill, or nil to read
	// into the engine's buffer and call OnData as usual. The engine asks
	// only when it holds none of c's bytes back.
	Sink(c Conn) []byte
	// Filled says that a read put n > 0 bytes at the start of the buffer
	// Sink returned; they count as consumed.
	Filled(c Conn, n int)
}

// Conn is one accepted connection as the handler sees it.
type Conn interface {
	// Write queues a copy of b for sending, blocking while the output queue
	// is over its limit. It fails with ErrClosed after Close or CloseWrite,
	// and releases a blocked caller with ErrClosed when the connection
	// closes.
	Write(b []byte) error
	// Enqueue queues a copy of b without ever blocking, even over the limit.
	// Handlers use it for small replies from inside OnData, where blocking
	// would stall the loop.
	Enqueue(b []byte) error
	// SendFile queues n bytes of f from offset off for sending after what is
	// already queued, moved by sendfile(2) where the platform allows. It
	// duplicates f's descriptor, so the caller may close f once SendFile
	// returns; the range is read with explicit offsets, never moving f's
	// position. Like Write it blocks while the queue is over MaxOutput (file
	// bytes count), and fails with ErrClosed once the connection is closed.
	//
	// A large range is queued in windows of a few MiB, each preceded by a
	// read-ahead hint, so the disk reads ahead of the socket instead of
	// stalling the sender (on the reactor, the event loop: sendfile on a
	// cold file blocks). SendFile returns once the last window is queued;
	// bytes queued meanwhile by other goroutines may land between windows.
	// Like Write, on the reactor it does not block when called from one of
	// the connection's own callbacks, and then queues every window at once,
	// so handlers call it from their own goroutines for large files. If
	// the file turns out shorter than the range once sending reaches its
	// end (it was truncated), the connection is closed with an error: the
	// peer cannot be sent bytes that no longer exist.
	SendFile(f *os.File, off, n int64) error
	// OutputFull reports whether the output queue holds more than
	// MaxOutput bytes. When it says so from inside OnData, the handler may
	// return short: the unconsumed bytes are kept, the connection is not
	// paused, and they are delivered again once the queue has drained.
	OutputFull() bool
	// PauseRead stops reading the socket until ResumeRead. Bytes already
	// read when it takes effect are kept and delivered after ResumeRead.
	PauseRead()
	// ResumeRead re-delivers kept bytes, then resumes reading. A ResumeRead
	// made while the OnData call that left bytes unconsumed is still
	// running counts too, so a consumer that frees space concurrently
	// never strands the connection paused.
	ResumeRead()
	// CloseWrite stops reading, sends what is queued, then closes. Writes
	// after it fail.
	CloseWrite()
	// Close closes the connection now, dropping queued output.
	Close()
	// Pending reports the bytes queued for sending, file segments' unsent
	// bytes included, and the last time the socket accepted bytes (or the
	// time the queue became non-empty).
	Pending() (n int, lastProgress time.Time)
	// Sent reports how many bytes the socket has accepted in all, so a
	// caller can hold a slow reader to a minimum rate.
	Sent() uint64
	// RemoteAddr is the peer's address.
	RemoteAddr() net.Addr
	// Post runs fn serialized with the connection's handler callbacks
	// (see the package contract). It never blocks and never runs fn before
	// returning. It reports false if the connection is already closed; a
	// true result does not promise fn runs, as the connection may close
	// first, in which case fn is dropped.
	Post(fn func()) bool
	// SetContext attaches a handler value; Context returns it.
	SetContext(v any)
	// Context returns the value set by SetContext.
	Context() any
}

// Options tune a backend. Zero values take the defaults.
type Options struct {
	// ReadBuffer is the size of each read (default 64 KiB).
	ReadBuffer int
	// MaxOutput bounds each connection's output queue (default 256 KiB).
	MaxOutput int
	// Loops is the reactor's number of event loops (default GOMAXPROCS).
	Loops int
	// OnAcceptError is called when accept fails with an error the backend
	// retries (EMFILE, ENFILE, ...) after a pause. May be nil. It runs on
	// the accepting goroutine (an event loop, for the reactor), so it must
	// not block.
	OnAcceptError func(error)
	// TLS, when set, makes every connection speak TLS from its first
	// byte; handlers see plaintext (see tls.go). TLSPlainReply answers a
	// client that sends no TLS at all.
	TLS           *tls.Config
	TLSPlainReply PlainReply

	// forcePread makes file segments go by pread and write as if sendfile
	// were refused, so tests cover the fallback on any file system.
	forcePread bool
}

// Engine runs connections for one listener.
type Engine interface {
	// Serve accepts on ln and runs h until Close. It returns nil after Close,
	// once every OnClose has run. Serve takes ownership of ln:
	// StopAccepting and Close close it. An engine serves one listener; a
	// second Serve fails.
	Serve(ln net.Listener, h Handler) error
	// StopAccepting stops taking new connections (closing the listener, so
	// new dials are refused); live ones keep running.
	StopAccepting()
	// Close stops accepting, closes every connection (OnClose runs for each)
	// and releases the backend's resources. It does not wait for the
	// OnClose calls, so a handler may call it; Serve's return marks the end.
	Close() error
}
