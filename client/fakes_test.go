package client_test

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net"
	"sync"
	"sync/atomic"
	"testing"

	"github.com/selectftp/selectftp/client"
	"github.com/selectftp/selectftp/host/hosttest"
	"github.com/selectftp/selectftp/internal/checksum"
	"github.com/selectftp/selectftp/protocol"
	"github.com/selectftp/selectftp/sdk"
)

// digestOf is b's digest as it travels, in the algorithm named alg ("" is
// the default).
func digestOf(t testing.TB, alg string, b []byte) string {
	t.Helper()
	a := checksum.Default
	if alg != "" {
		var err error
		if a, err = checksum.Parse(alg); err != nil {
			t.Fatal(err)
		}
	}
	h := a.New()
	h.Write(b)
	return a.Encode(h.Sum(nil))
}

// fakeConn is one connection to a fake server, which a test plays frame by
// frame. Unlike hosttest.FaultConn it reads a request's frame and its body
// separately, so that it can answer an expecting client before the body.
type fakeConn struct {
	t  testing.TB
	nc net.Conn
	r  *protocol.Reader
}

// fakeServer runs serve for each connection after answering its Hello as a
// real server would, listing no checksums (the client then uses its
// default, xxh128).
func fakeServer(t testing.TB, serve func(fc *fakeConn)) string {
	return hosttest.NewFaultServer(t, func(c *hosttest.FaultConn) {
		fc := &fakeConn{t: t, nc: c.Conn, r: protocol.NewReader(c.Conn, 0)}
		if f, err := fc.r.Next(); err != nil || f.Type != protocol.TypeHello {
			return
		}
		fc.send(protocol.TypeHello, protocol.Hello{Protocol: protocol.ProtocolName, Version: protocol.Version, Server: "fake/1"})
		serve(fc)
	})
}

// request reads the next Request frame, not its body.
func (fc *fakeConn) request() (protocol.Request, error) {
	var q protocol.Request
	f, err := fc.r.Next()
	if err != nil {
		return q, err
	}
	if f.Type != protocol.TypeRequest {
		return q, fmt.Errorf("fake server: %v frame instead of a request", f.Type)
	}
	return q, protocol.Unmarshal(f.Type, f.Payload, &q)
}

// body reads a request body up to its End, and the End's trailer.
func (fc *fakeConn) body() ([]byte, protocol.Trailer, error) {
	var body []byte
	for {
		f, err := fc.r.Next()
		if err != nil {
			return body, protocol.Trailer{}, err
		}
		switch f.Type {
		case protocol.TypeData:
			b, err := io.ReadAll(fc.r)
			body = append(body, b...)
			if err != nil {
				return body, protocol.Trailer{}, err
			}
		case protocol.TypeEnd:
			tr, err := protocol.DecodeTrailer(f.Payload)
			return body, tr, err
		default:
			return body, protocol.Trailer{}, fmt.Errorf("fake server: %v frame inside a body", f.Type)
		}
	}
}

func (fc *fakeConn) send(typ protocol.Type, msg any) {
	b, err := protocol.Marshal(typ, msg)
	if err != nil {
		fc.t.Error(err)
		return
	}
	fc.nc.Write(b)
}

func (fc *fakeConn) meta(m map[string]any) {
	fc.send(protocol.TypeResponse, protocol.Response{Meta: m})
}
func (fc *fakeConn) data(p []byte) { fc.nc.Write(protocol.AppendFrame(nil, protocol.TypeData, p)) }
func (fc *fakeConn) cont()         { fc.nc.Write(protocol.AppendHeader(nil, protocol.TypeContinue, 0)) }

// ok ends a response as a real server does: an ok Status with the size
// and digest of body, in the request's algorithm.
func (fc *fakeConn) ok(q protocol.Request, body []byte) {
	n := int64(len(body))
	fc.send(protocol.TypeStatus, protocol.Status{Code: protocol.CodeOK, Size: &n, Digest: digestOf(fc.t, q.Checksum, body)})
}

// serveRest answers every further request as a server whose only verb is
// helps, so that a test can show the connection still works.
func (fc *fakeConn) serveRest() {
	for {
		q, err := fc.request()
		if err != nil {
			return
		}
		if q.Expect {
			fc.cont()
		}
		if _, _, err := fc.body(); err != nil {
			return
		}
		out := []byte("helps\tthe only verb\n")
		fc.data(out)
		fc.ok(q, out)
	}
}

// countConn counts the bytes the client writes, to show what reached (or
// did not reach) the server.
type countConn struct {
	net.Conn
	n *atomic.Int64
}

func (c countConn) Write(p []byte) (int, error) {
	n, err := c.Conn.Write(p)
	c.n.Add(int64(n))
	return n, err
}

// withCount returns a dial option whose connections add what the client
// writes to n.
func withCount(n *atomic.Int64) client.Option {
	return client.WithDialFunc(func(ctx context.Context, network, addr string) (net.Conn, error) {
		var d net.Dialer
		nc, err := d.DialContext(ctx, network, addr)
		if err != nil {
			return nil, err
		}
		return countConn{nc, n}, nil
	})
}

// flipConn flips the last byte of the first occurrence of marker in what
// the client writes (out) or reads (!out): one byte corrupted in flight.
type flipConn struct {
	net.Conn
	marker  []byte
	out     bool
	flipped *atomic.Bool
}

func (c flipConn) Write(p []byte) (int, error) {
	if c.out && !c.flipped.Load() {
		if i := bytes.Index(p, c.marker); i >= 0 {
			q := bytes.Clone(p)
			q[i+len(c.marker)-1] ^= 1
			c.flipped.Store(true)
			n, err := c.Conn.Write(q)
			return n, err
		}
	}
	return c.Conn.Write(p)
}

func (c flipConn) Read(p []byte) (int, error) {
	n, err := c.Conn.Read(p)
	if !c.out && !c.flipped.Load() {
		if i := bytes.Index(p[:n], c.marker); i >= 0 {
			p[i+len(c.marker)-1] ^= 1
			c.flipped.Store(true)
		}
	}
	return n, err
}

// withFlip returns a dial option that corrupts one byte in flight (see
// flipConn), and reports in flipped whether it did.
func withFlip(marker []byte, out bool, flipped *atomic.Bool) client.Option {
	return client.WithDialFunc(func(ctx context.Context, network, addr string) (net.Conn, error) {
		var d net.Dialer
		nc, err := d.DialContext(ctx, network, addr)
		if err != nil {
			return nil, err
		}
		return flipConn{Conn: nc, marker: marker, out: out, flipped: flipped}, nil
	})
}

// hideChecksums is a connection on which the server's Hello arrives
// without its list of checksums, as from a server that lists none: the
// client then cannot refuse an algorithm itself, and the server must.
type hideChecksums struct {
	net.Conn
	once sync.Once
	r    io.Reader
	err  error
}

func (c *hideChecksums) Read(p []byte) (int, error) {
	c.once.Do(func() { c.r, c.err = c.rewriteHello() })
	if c.err != nil {
		return 0, c.err
	}
	return c.r.Read(p)
}

func (c *hideChecksums) rewriteHello() (io.Reader, error) {
	hdr := make([]byte, protocol.HeaderLen)
	if _, err := io.ReadFull(c.Conn, hdr); err != nil {
		return nil, err
	}
	h, err := protocol.ParseHeader(hdr, protocol.DefaultMaxControl)
	if err != nil {
		return nil, err
	}
	payload := make([]byte, h.Len)
	if _, err := io.ReadFull(c.Conn, payload); err != nil {
		return nil, err
	}
	if h.Type != protocol.TypeHello {
		return io.MultiReader(bytes.NewReader(append(hdr, payload...)), c.Conn), nil
	}
	var m map[string]any
	if err := json.Unmarshal(payload, &m); err != nil {
		return nil, err
	}
	delete(m, "checksums")
	b, err := json.Marshal(m)
	if err != nil {
		return nil, err
	}
	return io.MultiReader(bytes.NewReader(protocol.AppendFrame(nil, protocol.TypeHello, b)), c.Conn), nil
}

func withHiddenChecksums() client.Option {
	return client.WithDialFunc(func(ctx context.Context, network, addr string) (net.Conn, error) {
		var d net.Dialer
		nc, err := d.DialContext(ctx, network, addr)
		if err != nil {
			return nil, err
		}
		return &hideChecksums{Conn: nc}, nil
	})
}

// algSpy records the checksum each request reached a command with.
type algSpy struct {
	mu   sync.Mutex
	seen []string
}

// wrap returns cmd, recording "verb:checksum" of each request it runs.
func (s *algSpy) wrap(cmd sdk.Command) sdk.Command {
	// The wrapped command's whole description, its access declaration
	// included: without one the host gives a command no root.
	return sdk.Func(cmd.Describe(), func(ctx context.Context, req *sdk.Request, w sdk.ResponseWriter) error {
		s.mu.Lock()
		s.seen = append(s.seen, req.Verb+":"+req.Checksum)
		s.mu.Unlock()
		return cmd.Run(ctx, req, w)
	})
}

func (s *algSpy) take() []string {
	s.mu.Lock()
	defer s.mu.Unlock()
	seen := s.seen
	s.seen = nil
	return seen
}
