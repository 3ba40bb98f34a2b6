package loadgen

import (
	"bufio"
	"context"
	"fmt"
	"io"
	"net"
	"time"

	"github.com/selectftp/selectftp/protocol"
)

// helloTimeout bounds a dial and its Hello exchange.
const helloTimeout = 10 * time.Second

// conn is a bare protocol connection for the two modes the client package
// would distort: Idle holds thousands of connections (a client.Conn has
// 128 KiB of buffers each), and Cmd measures request rates, where a
// client.Conn's goroutine per request and its idle check (one more system
// call) would be counted as the server's latency. Get, Put and the fresh
// clients of Idle use the client package. The frames are still
// protocol's: this file only strings them together.
type conn struct {
	nc  net.Conn
	r   io.Reader // nc, or a bufio.Reader over it
	hdr [protocol.HeaderLen]byte
}

// dial connects and completes the Hello exchange. bufSize > 0 buffers reads
// (bufio reads straight into a caller's buffer at least that large, so
// large body reads stay single syscalls); 0 reads the socket directly,
// which costs the least memory per connection.
func dial(ctx context.Context, addr string, bufSize int) (*conn, error) {
	ctx, cancel := context.WithTimeout(ctx, helloTimeout)
	defer cancel()
	var d net.Dialer
	nc, err := d.DialContext(ctx, "tcp", addr)
	if err != nil {
		return nil, err
	}
	c := &conn{nc: nc, r: nc}
	if bufSize > 0 {
		c.r = bufio.NewReaderSize(nc, bufSize)
	}
	if dl, ok := ctx.Deadline(); ok {
		nc.SetDeadline(dl)
	}
	if err := c.hello(); err != nil {
		nc.Close()
		return nil, err
	}
	nc.SetDeadline(time.Time{})
	return c, nil
}

var helloFrame = mustMarshal(protocol.TypeHello, protocol.Hello{Protocol: protocol.ProtocolName, Versions: []int{protocol.Version}})

func mustMarshal(t protocol.Type, msg any) []byte {
	b, err := protocol.Marshal(t, msg)
	if err != nil {
		panic(err) // only fixed, valid messages come here
	}
	return b
}

func (c *conn) hello() error {
	if _, err := c.nc.Write(helloFrame); err != nil {
		return fmt.Errorf("send hello: %w", err)
	}
	t, _, p, err := c.next()
	if err != nil {
		return fmt.Errorf("read hello: %w", err)
	}
	switch t {
	case protocol.TypeHello:
		return nil
	case protocol.TypeStatus:
		var st protocol.Status
		protocol.Unmarshal(t, p, &st)
		return fmt.Errorf("server refused the connection: %s %s", st.Code, st.Message)
	}
	return fmt.Errorf("protocol error: %v frame instead of hello", t)
}

// next reads a frame header and, for a control frame, its payload. A Data
// frame's n payload bytes are left for the caller to read from c.r.
func (c *conn) next() (t protocol.Type, n uint32, payload []byte, err error) {
	if _, err := io.ReadFull(c.r, c.hdr[:]); err != nil {
		return 0, 0, nil, err
	}
	h, err := protocol.ParseHeader(c.hdr[:], protocol.DefaultMaxControl)
	if err != nil {
		return 0, 0, nil, err
	}
	if h.Type.Control() {
		payload = make([]byte, h.Len)
		if _, err := io.ReadFull(c.r, payload); err != nil {
			return 0, 0, nil, err
		}
	}
	return h.Type, h.Len, payload, nil
}

// requestFrames encodes a request with an empty body: Q then E.
func requestFrames(req protocol.Request) ([]byte, error) {
	q, err := protocol.Marshal(protocol.TypeRequest, req)
	if err != nil {
		return nil, err
	}
	return protocol.AppendHeader(q, protocol.TypeEnd, 0), nil
}

// response reads one response (R, D..., S), reading Data payloads into buf
// (reused, so its size sets the read size) and throwing them away. It
// returns the Status as an error.
func (c *conn) response(buf []byte) error {
	for {
		t, n, p, err := c.next()
		if err != nil {
			return fmt.Errorf("read response: %w", err)
		}
		switch t {
		case protocol.TypeResponse:
		case protocol.TypeData:
			for left := int64(n); left > 0; {
				k, err := io.ReadFull(c.r, buf[:min(int64(len(buf)), left)])
				left -= int64(k)
				if err != nil {
					return fmt.Errorf("read body: %w", err)
				}
			}
		case protocol.TypeStatus:
			var st protocol.Status
			if err := protocol.Unmarshal(t, p, &st); err != nil {
				return err
			}
			return st.Err()
		default:
			return fmt.Errorf("protocol error: unexpected %v frame", t)
		}
	}
}

// command sends a prepared Q+E and reads the response.
func (c *conn) command(frames, buf []byte) error {
	if _, err := c.nc.Write(frames); err != nil {
		return err
	}
	return c.response(buf)
}
