package hosttest

import (
	"errors"
	"fmt"
	"io"
	"net"
	"sync"
	"testing"

	"github.com/selectftp/selectftp/internal/checksum"
	"github.com/selectftp/selectftp/protocol"
)

// FaultConn is one connection to a fault server: the test plays the
// server, frame by frame or byte by byte.
type FaultConn struct {
	// Conn is the raw connection, for writes no helper makes.
	net.Conn
	r       *protocol.Reader
	trailer protocol.Trailer
}

// NewFaultServer listens on a loopback port and runs serve for each
// connection, on its own goroutine; the connection is closed when serve
// returns. Everything stops when the test ends. It returns the address.
//
// Use it only for what a real server never sends; for everything else
// NewServer runs the real one.
func NewFaultServer(t testing.TB, serve func(c *FaultConn)) string {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatalf("hosttest: listen: %v", err)
	}
	var (
		wg    sync.WaitGroup
		mu    sync.Mutex
		conns = map[net.Conn]bool{}
	)
	wg.Go(func() {
		for {
			nc, err := ln.Accept()
			if err != nil {
				return
			}
			mu.Lock()
			conns[nc] = true
			mu.Unlock()
			wg.Go(func() {
				defer func() {
					mu.Lock()
					delete(conns, nc)
					mu.Unlock()
					nc.Close()
				}()
				serve(&FaultConn{Conn: nc, r: protocol.NewReader(nc, 0)})
			})
		}
	})
	t.Cleanup(func() {
		ln.Close()
		mu.Lock()
		for nc := range conns {
			nc.Close() // unblocks a serve stuck reading
		}
		mu.Unlock()
		wg.Wait()
	})
	return ln.Addr().String()
}

// ReadHello reads the client's Hello frame.
func (c *FaultConn) ReadHello() (protocol.Hello, error) {
	var h protocol.Hello
	f, err := c.r.Next()
	if err != nil {
		return h, err
	}
	if f.Type != protocol.TypeHello {
		return h, fmt.Errorf("hosttest: %v frame instead of hello", f.Type)
	}
	return h, protocol.Unmarshal(f.Type, f.Payload, &h)
}

// Hello reads the client's Hello and answers as a real server would.
func (c *FaultConn) Hello() error {
	if _, err := c.ReadHello(); err != nil {
		return err
	}
	return c.Send(protocol.TypeHello, protocol.Hello{Protocol: protocol.ProtocolName, Version: protocol.Version,
		Server: "hosttest-fault/1", Checksums: checksum.Names()})
}

// ReadRequest reads a request and its whole body, up to its End frame,
// first sending Continue when the client waits for it. The body is not
// verified: Trailer returns what End carried.
func (c *FaultConn) ReadRequest() (protocol.Request, []byte, error) {
	req, err := c.ReadRequestHeader()
	if err != nil {
		return req, nil, err
	}
	if req.Expect {
		if _, err := c.Write(protocol.AppendHeader(nil, protocol.TypeContinue, 0)); err != nil {
			return req, nil, err
		}
	}
	body, err := c.ReadBody()
	return req, body, err
}

// Trailer is what the End of the last body read carried.
func (c *FaultConn) Trailer() protocol.Trailer { return c.trailer }

// ReadRequestHeader reads a request frame only: the test then answers
// before the body (a refusal of a client that waits), or reads it with
// ReadBody.
func (c *FaultConn) ReadRequestHeader() (protocol.Request, error) {
	var req protocol.Request
	f, err := c.r.Next()
	if err != nil {
		return req, err
	}
	if f.Type != protocol.TypeRequest {
		return req, fmt.Errorf("hosttest: %v frame instead of a request", f.Type)
	}
	err = protocol.Unmarshal(f.Type, f.Payload, &req)
	return req, err
}

// ReadBody reads a request body up to its End frame; Trailer then returns
// what End carried.
func (c *FaultConn) ReadBody() ([]byte, error) {
	var body []byte
	for {
		f, err := c.r.Next()
		if err != nil {
			return body, err
		}
		switch f.Type {
		case protocol.TypeData:
			b, err := io.ReadAll(c.r)
			body = append(body, b...)
			if err != nil {
				return body, err
			}
		case protocol.TypeEnd:
			c.trailer, err = protocol.DecodeTrailer(f.Payload)
			return body, err
		default:
			return body, fmt.Errorf("hosttest: %v frame inside a request body", f.Type)
		}
	}
}

// Send writes one control frame.
func (c *FaultConn) Send(t protocol.Type, msg any) error {
	b, err := protocol.Marshal(t, msg)
	if err != nil {
		return err
	}
	_, err = c.Write(b)
	return err
}

// Meta writes a Response frame with meta.
func (c *FaultConn) Meta(meta map[string]any) error {
	return c.Send(protocol.TypeResponse, protocol.Response{Meta: meta})
}

// Data writes p as one Data frame.
func (c *FaultConn) Data(p []byte) error {
	if len(p) > protocol.MaxData {
		return errors.New("hosttest: data over one frame's limit")
	}
	_, err := c.Write(protocol.AppendFrame(nil, protocol.TypeData, p))
	return err
}

// Status writes the Status frame that ends a response, with no size or
// digest: a fault for CodeOK, which a real server sends with OK.
func (c *FaultConn) Status(code protocol.Code, msg string) error {
	return c.Send(protocol.TypeStatus, protocol.Status{Code: code, Message: msg})
}

// OK writes an ok Status as a real server does, with the size and digest
// of body (the response body sent) in req's algorithm.
func (c *FaultConn) OK(req protocol.Request, body []byte) error {
	alg, err := checksum.Parse(req.Checksum)
	if req.Checksum == "" {
		alg, err = checksum.Default, nil
	}
	if err != nil {
		return err
	}
	h := alg.New()
	h.Write(body)
	n := int64(len(body))
	return c.Send(protocol.TypeStatus, protocol.Status{Code: protocol.CodeOK, Size: &n, Digest: alg.Encode(h.Sum(nil))})
}
