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
//   - Only the backend closes sockets.
package netpoll

import (
	"errors"
	"net"
	"time"
)

// ErrClosed is returned by Conn.Write after the connection has been closed.
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

// Conn is one accepted connection as the handler sees it.
type Conn interface {
	// Write queues a copy of b for sending, blocking while the output queue
	// is over its limit.
	Write(b []byte) error
	// Enqueue queues a copy of b without ever blocking, even over the limit.
	// Handlers use it for small replies from inside OnData, where blocking
	// would stall the loop.
	Enqueue(b []byte) error
	// PauseRead stops reading the socket until ResumeRead.
	PauseRead()
	// ResumeRead re-delivers kept bytes, then resumes reading.
	ResumeRead()
	// CloseWrite stops reading, sends what is queued, then closes. Writes
	// after it fail.
	CloseWrite()
	// Close closes the connection now, dropping queued output.
	Close()
	// Pending reports the bytes queued for sending and the last time the
	// socket accepted bytes (or the time the queue became non-empty).
	Pending() (n int, lastProgress time.Time)
	// RemoteAddr is the peer's address.
	RemoteAddr() net.Addr
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
	// retries (EMFILE, ENFILE, ...). May be nil.
	OnAcceptError func(error)
}

// Engine runs connections for one listener.
type Engine interface {
	// Serve accepts on ln and runs h until Close. It returns nil after Close.
	Serve(ln net.Listener, h Handler) error
	// StopAccepting stops taking new connections; live ones keep running.
	StopAccepting()
	// Close stops accepting, closes every connection (OnClose runs for each)
	// and releases the backend's resources.
	Close() error
}
