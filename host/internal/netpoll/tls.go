package netpoll

import (
	"context"
	"crypto/tls"
	"errors"
	"net"
	"sync"
	"time"
)

// tlsHandshakeTimeout bounds a TLS handshake on both backends (a
// variable for tests).
var tlsHandshakeTimeout = 10 * time.Second

// TLS: with Options.TLS set, both backends speak TLS from a connection's
// first byte (implicit TLS, as HTTPS), and handlers see only plaintext.
//
// The goroutine backend wraps the listener (tlsListener): each
// connection's reader and writer goroutines block inside crypto/tls.
//
// The reactor keeps its loops and drives crypto/tls without blocking (see
// tls_linux.go): the handshake, whose errors crypto/tls keeps for good,
// runs on a goroutine of its own that reads what the loop feeds it; after
// it, the loop calls tls.Conn.Read on a transport that answers "would
// block" (a temporary net.Error, which crypto/tls retries rather than
// keeps) when the socket is drained. Writers encrypt on their own
// goroutines and queue ciphertext, so the loop only moves bytes. There is
// no sendfile under TLS (the kernel here has no kTLS): SendFile reads the
// range with pread on the caller's goroutine and writes it as Write does.

// PlainReply is Options.TLSPlainReply: given the first bytes a client sent
// that are no TLS record (a plaintext client of a TLS-only server), it
// returns what to send back in clear before closing (nil: nothing), so the
// client can say what is wrong instead of "connection reset".
type PlainReply func(head []byte) []byte

// TLSState returns the TLS state of c once its handshake is complete, or
// nil for a plaintext connection (or one still in its handshake). The
// server's login binds itself to it (SCRAM-PLUS, tls-exporter).
func TLSState(c Conn) *tls.ConnectionState {
	s, ok := c.(interface{ tlsState() *tls.ConnectionState })
	if !ok {
		return nil
	}
	return s.tlsState()
}

func (c *gconn) tlsState() *tls.ConnectionState {
	var tc *tls.Conn
	switch nc := c.nc.(type) {
	case *tlsServerConn:
		tc = nc.Conn
	case *tls.Conn:
		tc = nc
	default:
		return nil
	}
	st := tc.ConnectionState()
	if !st.HandshakeComplete {
		return nil
	}
	return &st
}

// tlsListener is the goroutine backend's TLS listener: tls.NewListener,
// plus the plaintext reply.
type tlsListener struct {
	net.Listener
	cfg   *tls.Config
	reply PlainReply
}

func (l *tlsListener) Accept() (net.Conn, error) {
	nc, err := l.Listener.Accept()
	if err != nil {
		return nil, err
	}
	return &tlsServerConn{Conn: tls.Server(nc, l.cfg), raw: nc, reply: l.reply}, nil
}

// tlsServerConn answers a plaintext client once, in clear, when its first
// bytes turn out to be no TLS record.
type tlsServerConn struct {
	*tls.Conn
	raw   net.Conn
	reply PlainReply
	hs    sync.Once
	hsErr error
}

// handshake runs once, under tlsHandshakeTimeout, for whichever of the
// reader and the writer comes first (the writer, for a refused
// connection's status).
func (c *tlsServerConn) handshake() error {
	c.hs.Do(func() {
		ctx, cancel := context.WithTimeout(context.Background(), tlsHandshakeTimeout)
		defer cancel()
		c.hsErr = c.Conn.HandshakeContext(ctx)
		if c.hsErr != nil {
			answerPlain(c.hsErr, c.reply, func(p []byte) { c.raw.Write(p) })
		}
	})
	return c.hsErr
}

func (c *tlsServerConn) Read(b []byte) (int, error) {
	if err := c.handshake(); err != nil {
		return 0, err
	}
	return c.Conn.Read(b)
}

func (c *tlsServerConn) Write(b []byte) (int, error) {
	if err := c.handshake(); err != nil {
		return 0, err
	}
	return c.Conn.Write(b)
}

// answerPlain sends reply's answer through send when err says the client
// spoke no TLS at all.
func answerPlain(err error, reply PlainReply, send func([]byte)) bool {
	var rh tls.RecordHeaderError
	if reply == nil || !errors.As(err, &rh) || rh.Conn == nil {
		// Conn is set only for "first record does not look like a TLS
		// handshake": the other header errors are a TLS peer's.
		return false
	}
	if p := reply(rh.RecordHeader[:]); len(p) > 0 {
		send(p)
		return true
	}
	return false
}
