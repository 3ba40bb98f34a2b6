// Package clienttest runs a small in-process selectftp server for the tests
// of clients. It keeps files in memory, implements the built-in verbs of
// docs/PROTOCOL.md (put, get, helps, upper, and the upper-casing fallback)
// and lets a test replace any verb to inject faults. It is not the real
// server: it checks only what a client test needs.
package clienttest

import (
	"bytes"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"net"
	"slices"
	"strings"
	"sync"
	"testing"

	"github.com/selectftp/selectftp/protocol"
)

// Handler runs one request and returns its final Status. It may send
// metadata and data through the Call first, and may leave the body unread:
// the server answers, then discards the rest, as the protocol allows.
type Handler func(c *Call) protocol.Status

// Server is a running fake server. Its methods are safe for concurrent use.
type Server struct {
	// Addr is the address the server listens on, 127.0.0.1:port.
	Addr string

	t        testing.TB
	ln       net.Listener
	wg       sync.WaitGroup
	mu       sync.Mutex
	files    map[string][]byte
	handlers map[string]Handler
	conns    map[*serverConn]struct{}
	requests int
	closed   bool
}

// Start starts a server on a loopback port and stops it when the test ends.
func Start(t testing.TB) *Server {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatalf("clienttest: listen: %v", err)
	}
	s := &Server{
		Addr:     ln.Addr().String(),
		t:        t,
		ln:       ln,
		files:    map[string][]byte{},
		handlers: map[string]Handler{},
		conns:    map[*serverConn]struct{}{},
	}
	s.handlers["put"] = s.put
	s.handlers["get"] = s.get
	s.handlers["helps"] = s.helps
	s.handlers["upper"] = upper
	s.wg.Add(1)
	go s.accept()
	t.Cleanup(s.Close)
	return s
}

// Handle installs h for verb, replacing the built-in one if any.
func (s *Server) Handle(verb string, h Handler) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.handlers[verb] = h
}

// SetFile stores a file as if it had been uploaded.
func (s *Server) SetFile(path string, data []byte) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.files[path] = bytes.Clone(data)
}

// File returns a stored file.
func (s *Server) File(path string) ([]byte, bool) {
	s.mu.Lock()
	defer s.mu.Unlock()
	b, ok := s.files[path]
	return b, ok
}

// Requests returns how many requests the server has started.
func (s *Server) Requests() int {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.requests
}

// Conns returns how many connections are open.
func (s *Server) Conns() int {
	s.mu.Lock()
	defer s.mu.Unlock()
	return len(s.conns)
}

// Kick sends a final Status with code to every connection, as the real
// server does on an idle timeout or at shutdown, and closes them.
func (s *Server) Kick(code string) {
	s.mu.Lock()
	conns := make([]*serverConn, 0, len(s.conns))
	for c := range s.conns {
		conns = append(conns, c)
	}
	s.mu.Unlock()
	for _, c := range conns {
		c.status(protocol.Status{Code: protocol.Code(code), Message: "kicked by the test"})
		c.nc.Close()
	}
}

// Close stops the server, closes its connections and waits for its
// goroutines.
func (s *Server) Close() {
	s.ln.Close()
	s.mu.Lock()
	s.closed = true
	for c := range s.conns {
		c.nc.Close()
	}
	s.mu.Unlock()
	s.wg.Wait()
}

func (s *Server) accept() {
	defer s.wg.Done()
	for {
		nc, err := s.ln.Accept()
		if err != nil {
			return
		}
		c := &serverConn{s: s, nc: nc, r: protocol.NewReader(nc, 0)}
		s.mu.Lock()
		if s.closed {
			s.mu.Unlock()
			nc.Close()
			return
		}
		s.conns[c] = struct{}{}
		s.mu.Unlock()
		s.wg.Add(1)
		go func() {
			defer s.wg.Done()
			defer func() {
				s.mu.Lock()
				delete(s.conns, c)
				s.mu.Unlock()
				nc.Close()
			}()
			c.serve()
		}()
	}
}

type serverConn struct {
	s   *Server
	nc  net.Conn
	r   *protocol.Reader
	wmu sync.Mutex // Kick writes from another goroutine
}

func (c *serverConn) write(b []byte) error {
	c.wmu.Lock()
	defer c.wmu.Unlock()
	_, err := c.nc.Write(b)
	return err
}

func (c *serverConn) frame(t protocol.Type, msg any) error {
	b, err := protocol.Marshal(t, msg)
	if err != nil {
		return err
	}
	return c.write(b)
}

func (c *serverConn) status(st protocol.Status) error { return c.frame(protocol.TypeStatus, st) }

func (c *serverConn) serve() {
	f, err := c.r.Next()
	if err != nil {
		return
	}
	var h protocol.Hello
	if f.Type != protocol.TypeHello || protocol.Unmarshal(f.Type, f.Payload, &h) != nil || h.Protocol != protocol.ProtocolName {
		c.status(protocol.Status{Code: "protocol", Message: "expected hello"})
		return
	}
	if !slices.Contains(h.Versions, protocol.Version) {
		c.status(protocol.Status{Code: "unsupported_version", Message: "this server speaks version 1"})
		return
	}
	if c.frame(protocol.TypeHello, protocol.Hello{Protocol: protocol.ProtocolName, Version: protocol.Version, Server: "clienttest/1"}) != nil {
		return
	}
	for {
		f, err := c.r.Next()
		if err != nil {
			return
		}
		if f.Type != protocol.TypeRequest {
			c.status(protocol.Status{Code: "protocol", Message: fmt.Sprintf("%v frame outside a request", f.Type)})
			return
		}
		call := &Call{conn: c}
		if err := protocol.Unmarshal(f.Type, f.Payload, &call.Req); err != nil || call.Req.Verb == "" {
			c.status(protocol.Status{Code: "bad_request", Message: "invalid request"})
			return
		}
		c.s.mu.Lock()
		c.s.requests++
		h, ok := c.s.handlers[call.Req.Verb]
		if !ok {
			h = upper
			call.Req.Args = append([]string{call.Req.Verb}, call.Req.Args...)
		}
		c.s.mu.Unlock()
		st := h(call)
		if call.hungUp {
			return
		}
		if c.status(st) != nil {
			return
		}
		if _, err := io.Copy(io.Discard, call); err != nil {
			return
		}
	}
}

// Call is one request being served.
type Call struct {
	// Req is the request; for the fallback, Args starts with the verb.
	Req protocol.Request

	conn     *serverConn
	inData   bool
	bodyDone bool
	hungUp   bool
}

// Read reads the request body, returning io.EOF at its End frame.
func (c *Call) Read(p []byte) (int, error) {
	for !c.bodyDone {
		if c.inData {
			n, err := c.conn.r.Read(p)
			if errors.Is(err, io.EOF) {
				c.inData = false
				err = nil
			}
			if n > 0 || err != nil {
				return n, err
			}
			continue
		}
		f, err := c.conn.r.Next()
		if err != nil {
			return 0, err
		}
		switch f.Type {
		case protocol.TypeData:
			c.inData = true
		case protocol.TypeEnd:
			c.bodyDone = true
		default:
			return 0, fmt.Errorf("clienttest: %v frame inside a request body", f.Type)
		}
	}
	return 0, io.EOF
}

// Meta sends the Response frame.
func (c *Call) Meta(meta map[string]any) error {
	return c.conn.frame(protocol.TypeResponse, protocol.Response{Meta: meta})
}

// Write sends p as one Data frame.
func (c *Call) Write(p []byte) (int, error) {
	if err := c.conn.write(protocol.AppendFrame(nil, protocol.TypeData, p)); err != nil {
		return 0, err
	}
	return len(p), nil
}

// WriteRaw sends bytes as they are, to break the protocol on purpose.
func (c *Call) WriteRaw(p []byte) error { return c.conn.write(p) }

// Hangup closes the connection at once, with no Status.
func (c *Call) Hangup() {
	c.hungUp = true
	c.conn.nc.Close()
}

// Fail returns a failed Status, for handlers.
func Fail(code, format string, args ...any) protocol.Status {
	return protocol.Status{Code: protocol.Code(code), Message: fmt.Sprintf(format, args...)}
}

// OK is the success Status.
var OK = protocol.Status{Code: protocol.CodeOK}

func (s *Server) put(c *Call) protocol.Status {
	path, _ := c.Req.Params["path"].(string)
	size, okSize := c.Req.Params["size"].(float64)
	sum, _ := c.Req.Params["sha256"].(string)
	if path == "" || !okSize || size < 0 || len(sum) != 64 {
		return Fail("bad_request", "put needs path, size and sha256")
	}
	var buf bytes.Buffer
	if _, err := io.Copy(&buf, io.LimitReader(c, int64(size)+1)); err != nil {
		return Fail("protocol", "%v", err)
	}
	got := sha256.Sum256(buf.Bytes())
	if float64(buf.Len()) != size || hex.EncodeToString(got[:]) != strings.ToLower(sum) {
		return Fail("checksum", "received %d bytes, declared %v", buf.Len(), size)
	}
	s.SetFile(path, buf.Bytes())
	c.Meta(map[string]any{"path": path, "size": buf.Len(), "sha256": hex.EncodeToString(got[:])})
	return OK
}

func (s *Server) get(c *Call) protocol.Status {
	path, _ := c.Req.Params["path"].(string)
	data, ok := s.File(path)
	if !ok {
		return Fail("not_found", "%s: no such file", path)
	}
	sum := sha256.Sum256(data)
	if c.Meta(map[string]any{"size": len(data), "sha256": hex.EncodeToString(sum[:])}) != nil {
		return OK
	}
	// Several frames of uneven size, to exercise reassembly.
	for len(data) > 0 {
		n := min(len(data), 100_000)
		if _, err := c.Write(data[:n]); err != nil {
			break
		}
		data = data[n:]
	}
	return OK
}

func (s *Server) helps(c *Call) protocol.Status {
	s.mu.Lock()
	verbs := make([]string, 0, len(s.handlers))
	for v := range s.handlers {
		verbs = append(verbs, v)
	}
	s.mu.Unlock()
	slices.Sort(verbs)
	if len(c.Req.Args) > 0 {
		v := c.Req.Args[0]
		if !slices.Contains(verbs, v) {
			return Fail("unknown_verb", "no verb %q", v)
		}
		fmt.Fprintf(c, "usage: %s ...\n", v)
		return OK
	}
	var b strings.Builder
	for _, v := range verbs {
		fmt.Fprintf(&b, "%s\tthe %s command\n", v, v)
	}
	c.Write([]byte(b.String()))
	return OK
}

func upper(c *Call) protocol.Status {
	c.Write([]byte(strings.ToUpper(strings.Join(c.Req.Args, " "))))
	return OK
}

// Listen serves every accepted connection with fn, for tests of servers
// that misbehave from the first byte. It stops when the test ends.
func Listen(t testing.TB, fn func(net.Conn)) string {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatalf("clienttest: listen: %v", err)
	}
	var wg sync.WaitGroup
	var mu sync.Mutex
	var conns []net.Conn
	wg.Add(1)
	go func() {
		defer wg.Done()
		for {
			nc, err := ln.Accept()
			if err != nil {
				return
			}
			mu.Lock()
			conns = append(conns, nc)
			mu.Unlock()
			wg.Add(1)
			go func() {
				defer wg.Done()
				defer nc.Close()
				fn(nc)
			}()
		}
	}()
	t.Cleanup(func() {
		ln.Close()
		mu.Lock()
		for _, nc := range conns {
			nc.Close()
		}
		mu.Unlock()
		wg.Wait()
	})
	return ln.Addr().String()
}
