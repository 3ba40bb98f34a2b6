package netpoll

import (
	"context"
	"crypto/tls"
	"errors"
	"io"
	"net"
	"os"
	"sync"
	"sync/atomic"
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
	bc := &batchConn{Conn: nc}
	return &tlsServerConn{Conn: tls.Server(bc, l.cfg), raw: nc, bc: bc, reply: l.reply}, nil
}

// tlsServerConn answers a plaintext client once, in clear, when its first
// bytes turn out to be no TLS record.
type tlsServerConn struct {
	*tls.Conn
	raw   net.Conn
	bc    *batchConn // under Conn, over raw
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

// Write encrypts b; a large b goes out in one system call rather than one
// per record (see batchConn).
func (c *tlsServerConn) Write(b []byte) (int, error) {
	if err := c.handshake(); err != nil {
		return 0, err
	}
	if len(b) < 2*maxRecord {
		return c.Conn.Write(b)
	}
	c.bc.begin(len(b) + len(b)/maxRecord*recordOverhead + recordOverhead)
	n, err := c.Conn.Write(b)
	if ferr := c.bc.flush(); ferr != nil && err == nil {
		return 0, ferr
	}
	return n, err
}

const (
	// maxRecord is the most plaintext one TLS record holds.
	maxRecord = 16 << 10
	// recordOverhead bounds what TLS 1.3 adds to a record: header, type
	// byte, AEAD tag (TLS 1.2's explicit nonce fits too).
	recordOverhead = 5 + 1 + 16 + 8
)

// batchConn is the goroutine backend's transport under crypto/tls, which
// writes each 16 KiB record with a system call of its own. Between begin
// and flush it gathers them and sends them with one; otherwise (the
// handshake, alerts) it writes through. mu orders the two kinds, since a
// reader may send an alert while the writer's batch is open.
type batchConn struct {
	net.Conn
	mu   sync.Mutex
	on   bool
	buf  []byte
	busy atomic.Bool // from begin to the end of flush
}

// batchBufs are batchConn's buffers, held only between begin and flush.
var batchBufs sync.Pool

func (b *batchConn) begin(size int) {
	b.busy.Store(true)
	b.mu.Lock()
	b.on = true
	if p, ok := batchBufs.Get().(*[]byte); ok && cap(*p) >= size {
		b.buf = (*p)[:0]
	} else {
		b.buf = make([]byte, 0, size)
	}
	b.mu.Unlock()
}

func (b *batchConn) Write(p []byte) (int, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	if b.on {
		b.buf = append(b.buf, p...)
		return len(p), nil
	}
	return b.Conn.Write(p)
}

// flush sends what was gathered since begin and ends the batch.
func (b *batchConn) flush() error {
	b.mu.Lock()
	defer b.mu.Unlock()
	buf := b.buf
	b.on, b.buf = false, nil
	_, err := b.Conn.Write(buf)
	buf = buf[:0]
	batchBufs.Put(&buf)
	b.busy.Store(false)
	return err
}

// Close closes the socket first when a batch is open: as tls.Conn.Close
// does for a Write in flight, so a flush blocked on a peer that stopped
// reading ends now, not when the close_notify's 5 s deadline runs out.
func (c *tlsServerConn) Close() error {
	if c.bc != nil && c.bc.busy.Load() {
		c.raw.Close()
	}
	return c.Conn.Close()
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

// tlsFileChunk is what SendFile under TLS reads per pread and encrypts per
// Write: 16 full records, so the caller's goroutine pays one wait for
// room, one lock and one system call per 256 KiB, not per 64 KiB.
const tlsFileChunk = 256 << 10

// tlsFileBufs are the pread buffers of SendFile under TLS.
var tlsFileBufs = sync.Pool{New: func() any { b := make([]byte, tlsFileChunk); return &b }}

// copyFileBuf is copyFile reading into buf: the range is read now, in
// len(buf) pieces, and closed with fail if the file is short.
func copyFileBuf(f *os.File, off, n int64, buf []byte, write func([]byte) error, fail func(error)) error {
	for n > 0 {
		k, err := f.ReadAt(buf[:min(n, int64(len(buf)))], off)
		if k > 0 {
			if werr := write(buf[:k]); werr != nil {
				return werr
			}
			off += int64(k)
			n -= int64(k)
			continue
		}
		if err == nil || err == io.EOF {
			err = errFileShrank
		}
		fail(err)
		return err
	}
	return nil
}
