package client

import (
	"bufio"
	"context"
	"crypto/tls"
	"errors"
	"fmt"
	"io"
	"net"
	"os"
	"slices"
	"strings"
	"sync"
	"syscall"
	"time"

	"github.com/selectftp/selectftp/internal/checksum"
	"github.com/selectftp/selectftp/protocol"
)

// DefaultChunkSize is the size of the Data frames a request body is cut
// into. Frames of this size keep syscalls few while still letting the
// sender stop soon after the server answers early.
const DefaultChunkSize = 256 << 10

// DefaultReadSize is the size of the pieces response data is read and
// handed to the caller's writer in.
const DefaultReadSize = 64 << 10

// DefaultHandshakeTimeout bounds the Hello exchange, so that a peer which
// accepts connections but never speaks the protocol cannot hang a client.
const DefaultHandshakeTimeout = 10 * time.Second

// Option configures Dial, NewConn and NewPool: WithDialTimeout and
// WithHandshakeTimeout bound the connection's start, WithDialFunc changes
// how it is opened (proxies, tests), WithChunkSize and WithMaxControl shape
// frames. Later options (credentials, TLS) take the same form, so calls
// written today keep compiling.
type Option func(*config)

type config struct {
	dial             func(ctx context.Context, network, addr string) (net.Conn, error)
	dialTimeout      time.Duration
	handshakeTimeout time.Duration
	chunk            int
	maxControl       int
	readSize         int          // the piece response data is copied in
	fileFrame        int          // the Data frame a file body is cut into
	checksum         string       // the digest algorithm asked for; "": the server's default
	login            *credentials // WithUser's; nil: no login
	tls              *tls.Config  // WithTLS's; nil: plaintext
}

func newConfig(opts []Option) config {
	var d net.Dialer
	cfg := config{
		dial:             d.DialContext,
		handshakeTimeout: DefaultHandshakeTimeout,
		chunk:            DefaultChunkSize,
		maxControl:       protocol.DefaultMaxControl,
		readSize:         DefaultReadSize,
		fileFrame:        fileFrame,
	}
	for _, o := range opts {
		o(&cfg)
	}
	return cfg
}

// WithDialFunc replaces the function Dial uses to open the TCP connection,
// for proxies, TLS or tests.
func WithDialFunc(dial func(ctx context.Context, network, addr string) (net.Conn, error)) Option {
	return func(c *config) { c.dial = dial }
}

// WithDialTimeout bounds Dial as a whole, connecting and the Hello
// exchange, in addition to its context (0: only the context).
func WithDialTimeout(d time.Duration) Option {
	return func(c *config) { c.dialTimeout = d }
}

// WithHandshakeTimeout changes DefaultHandshakeTimeout; 0 leaves only the
// context to bound the Hello exchange.
func WithHandshakeTimeout(d time.Duration) Option {
	return func(c *config) { c.handshakeTimeout = d }
}

// WithChunkSize sets the size of the Data frames request bodies are cut
// into (DefaultChunkSize when n <= 0).
func WithChunkSize(n int) Option {
	return func(c *config) {
		if n <= 0 {
			n = DefaultChunkSize
		}
		c.chunk = min(n, protocol.MaxData)
	}
}

// WithReadSize sets the size of the pieces a response body is read in
// (DefaultReadSize when n <= 0). Pieces larger than 64 KiB are read from
// the socket directly, in fewer system calls.
func WithReadSize(n int) Option {
	return func(c *config) {
		if n <= 0 {
			n = DefaultReadSize
		}
		c.readSize = n
	}
}

// WithOneFrameBodies makes PutFile send a file as one Data frame announcing
// the whole size (split only past 4 GiB) instead of 16 MiB frames. A file
// moves by sendfile(2) either way; the price of one frame is that the body
// cannot stop in the middle when the server answers early, so the rest of
// it is still sent. Load generators measuring the limit use it.
func WithOneFrameBodies() Option {
	return func(c *config) { c.fileFrame = protocol.MaxData }
}

// WithChecksum sets the digest algorithm every request is verified with:
// "xxh128" (the default: accidental corruption, at memory speed), "sha256"
// or "blake3" (cryptographic). A request whose Checksum is set keeps its
// own; one the server does not accept fails before anything is sent.
func WithChecksum(name string) Option {
	return func(c *config) { c.checksum = name }
}

// WithMaxControl sets the largest control frame accepted from the server
// and sent to it; it should match the server's --max-header.
func WithMaxControl(n int) Option {
	return func(c *config) {
		if n <= 0 {
			n = protocol.DefaultMaxControl
		}
		c.maxControl = n
	}
}

// Conn is a client connection that has completed the Hello exchange. It
// runs one request at a time: concurrent calls wait for each other. Its
// methods may be called from any goroutine.
type Conn struct {
	nc     net.Conn
	br     *bufio.Reader
	r      *protocol.Reader
	bw     *bufio.Writer
	cfg    config
	server protocol.Hello
	wbuf   []byte // header + one body chunk, reused across requests
	rbuf   []byte // response data on its way to the caller's writer

	sem chan struct{} // one request at a time; a channel so waiting obeys ctx

	mu  sync.Mutex
	err error // why the connection is unusable; nil while it works
}

// Dial connects to addr ("host:port") and performs the Hello exchange. The
// error says clearly whether the server could not be reached, refused the
// connection (busy, shutting down, unsupported version: the error then
// wraps a *protocol.StatusError) or does not speak the protocol at all.
func Dial(ctx context.Context, addr string, opts ...Option) (*Conn, error) {
	cfg := newConfig(opts)
	if cfg.dialTimeout > 0 {
		var cancel context.CancelFunc
		ctx, cancel = context.WithTimeout(ctx, cfg.dialTimeout)
		defer cancel()
	}
	nc, err := cfg.dial(ctx, "tcp", addr)
	if err != nil {
		// "connect to A: connection refused" rather than net's
		// "dial tcp A: connect: connection refused" after our own prefix.
		var oe *net.OpError
		if errors.As(err, &oe) && oe.Op == "dial" {
			err = oe.Err
			var se *os.SyscallError
			if errors.As(err, &se) {
				err = se.Err
			}
		}
		return nil, fmt.Errorf("connect to %s: %w", addr, err)
	}
	if cfg.tls != nil {
		tc, err := startTLS(ctx, nc, addr, cfg)
		if err != nil {
			nc.Close()
			return nil, fmt.Errorf("%s: %w", addr, err)
		}
		nc = tc
	}
	c, err := handshake(ctx, nc, cfg)
	if err != nil {
		nc.Close()
		if errors.Is(err, ErrAuth) {
			return nil, err // "authentication failed", and nothing more to a guesser's screen
		}
		return nil, fmt.Errorf("%s: %w", addr, err)
	}
	return c, nil
}

// NewConn performs the Hello exchange over an established connection, which
// the Conn then owns. On error it closes nc.
func NewConn(ctx context.Context, nc net.Conn, opts ...Option) (*Conn, error) {
	c, err := handshake(ctx, nc, newConfig(opts))
	if err != nil {
		nc.Close()
		return nil, err
	}
	return c, nil
}

// longAgo is a deadline in the past: setting it unblocks pending I/O at once.
var longAgo = time.Unix(1, 0)

func handshake(ctx context.Context, nc net.Conn, cfg config) (*Conn, error) {
	// A bufio.Reader of at least 64 KiB is used by protocol.NewReader as is, so
	// the Conn can look at what is buffered (see checkIdle).
	br := bufio.NewReaderSize(nc, 64<<10)
	c := &Conn{
		nc:  nc,
		br:  br,
		r:   protocol.NewReader(br, cfg.maxControl),
		bw:  bufio.NewWriterSize(nc, 64<<10),
		cfg: cfg,
		sem: make(chan struct{}, 1),
	}
	if cfg.handshakeTimeout > 0 {
		nc.SetDeadline(time.Now().Add(cfg.handshakeTimeout))
	}
	stop := context.AfterFunc(ctx, func() { nc.SetDeadline(longAgo) })
	err := c.hello()
	if err == nil {
		err = c.login() // the handshake's deadline covers the login
	}
	if !stop() {
		return nil, context.Cause(ctx)
	}
	if err != nil {
		var ne net.Error
		if errors.As(err, &ne) && ne.Timeout() {
			return nil, fmt.Errorf("no hello from the server within %v: %w", cfg.handshakeTimeout, err)
		}
		return nil, err
	}
	nc.SetDeadline(time.Time{})
	return c, nil
}

func (c *Conn) hello() error {
	h, err := protocol.Marshal(protocol.TypeHello, protocol.Hello{Protocol: protocol.ProtocolName, Versions: []int{protocol.Version}})
	if err != nil {
		return err
	}
	if _, err := c.nc.Write(h); err != nil {
		return fmt.Errorf("send hello: %w", err)
	}
	f, err := c.r.Next()
	if err != nil {
		var fe *protocol.FrameError
		switch {
		case c.cfg.tls != nil && isTLSAlert(err):
			return afterTLSError(fmt.Errorf("read hello: %w", err))
		case errors.As(err, &fe):
			return fmt.Errorf("not a selectftp server: %w", err)
		case errors.Is(err, io.EOF), errors.Is(err, syscall.ECONNRESET):
			// A server that closes without reading our hello resets.
			return fmt.Errorf("server closed the connection during the hello: %w", err)
		}
		return fmt.Errorf("read hello: %w", err)
	}
	switch f.Type {
	case protocol.TypeHello:
		var sh protocol.Hello
		if err := protocol.Unmarshal(f.Type, f.Payload, &sh); err != nil {
			return fmt.Errorf("not a selectftp server: %w", err)
		}
		if sh.Protocol != protocol.ProtocolName {
			return fmt.Errorf("not a selectftp server: hello names protocol %q", sh.Protocol)
		}
		if sh.Version != protocol.Version {
			return fmt.Errorf("server chose protocol version %d; this client speaks only %d", sh.Version, protocol.Version)
		}
		c.server = sh
		return nil
	case protocol.TypeStatus:
		var st protocol.Status
		if err := protocol.Unmarshal(f.Type, f.Payload, &st); err != nil || st.Code == "" {
			return fmt.Errorf("not a selectftp server: invalid status in reply to hello")
		}
		if st.OK() {
			return fmt.Errorf("protocol error: server answered hello with status ok instead of hello")
		}
		if st.Code == protocol.CodeUnsupportedVersion {
			return fmt.Errorf("server does not speak protocol version %d: %w", protocol.Version, st.Err())
		}
		return fmt.Errorf("server refused the connection: %w", st.Err())
	}
	return fmt.Errorf("not a selectftp server: it answered hello with a %v frame", f.Type)
}

// Server returns the Hello the server sent: its chosen version, its name and
// the digest algorithms it accepts.
func (c *Conn) Server() protocol.Hello { return c.server }

// algorithm resolves the digest algorithm of a request: name, else the
// connection's WithChecksum, else the server's default. It refuses one the
// server did not list, before anything is sent.
func (c *Conn) algorithm(name string) (checksum.Algorithm, error) {
	if name == "" {
		name = c.cfg.checksum
	}
	if name == "" && len(c.server.Checksums) > 0 {
		name = c.server.Checksums[0]
	}
	if name == "" {
		return checksum.Default, nil
	}
	a, err := checksum.Parse(name)
	if err != nil {
		return a, err
	}
	if len(c.server.Checksums) > 0 && !slices.Contains(c.server.Checksums, name) {
		return a, fmt.Errorf("the server does not accept checksum %s; it takes %s",
			name, strings.Join(c.server.Checksums, ", "))
	}
	return a, nil
}

// Err returns nil while the connection is usable, and otherwise why it is
// not. A request on an unusable connection fails with an error wrapping
// ErrClosed.
func (c *Conn) Err() error {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.err
}

// Close closes the connection, interrupting a running request.
func (c *Conn) Close() error {
	c.mu.Lock()
	first := c.err == nil
	if first {
		c.err = errors.New("closed by the client")
	}
	c.mu.Unlock()
	err := c.nc.Close()
	if !first || errors.Is(err, net.ErrClosed) {
		return nil
	}
	return err
}

// fail marks the connection unusable and closes it, which also unblocks any
// goroutine reading or writing it.
func (c *Conn) fail(err error) {
	c.mu.Lock()
	if c.err == nil {
		c.err = err
	}
	c.mu.Unlock()
	c.nc.Close()
}

// checkIdle looks, without blocking, for anything the server sent while the
// connection was idle. Outside a request the server sends nothing but a
// final Status before it closes (idle timeout, shutdown), so data or EOF
// here means the connection is gone; noticing it before sending spares the
// request from reading that stale Status as its answer.
func (c *Conn) checkIdle() error {
	if c.br.Buffered() == 0 {
		switch peekConn(c.nc) {
		case peekNothing, peekUnknown:
			return nil
		case peekEOF:
			return errors.New("server closed the connection")
		case peekError:
			return errors.New("connection reset")
		}
	}
	// Something is pending: read it, briefly, to tell the user why.
	c.nc.SetReadDeadline(time.Now().Add(100 * time.Millisecond))
	f, err := c.r.Next()
	if err != nil {
		return fmt.Errorf("server closed the connection: %w", err)
	}
	if f.Type == protocol.TypeStatus {
		var st protocol.Status
		if protocol.Unmarshal(f.Type, f.Payload, &st) == nil && !st.OK() {
			return fmt.Errorf("server closed the connection: %w", st.Err())
		}
	}
	return fmt.Errorf("protocol error: unexpected %v frame from an idle server", f.Type)
}

type peekResult int

const (
	peekUnknown peekResult = iota // the platform or connection cannot tell
	peekNothing                   // alive, nothing pending
	peekData                      // bytes are waiting
	peekEOF                       // the peer closed its side
	peekError                     // the connection failed
)
