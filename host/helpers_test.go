package host

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"io"
	"net"
	"strings"
	"testing"
	"time"

	"github.com/hashicorp/go-hclog"

	"github.com/selectftp/selectftp/internal/checksum"
	"github.com/selectftp/selectftp/protocol"
	"github.com/selectftp/selectftp/sdk"
)

// backends lists the engines every server test runs on: the reactor is
// tested against the goroutine backend, its reference.
var backends = []string{BackendReactor, BackendGoroutine}

func forEachBackend(t *testing.T, f func(t *testing.T, backend string)) {
	for _, b := range backends {
		t.Run(b, func(t *testing.T) {
			t.Parallel()
			f(t, b)
		})
	}
}

// testCommands are in-process commands the server tests use.
func testCommands() []sdk.Command {
	echo := sdk.Func(sdk.Description{Verb: "echo", Summary: "echo the body back"},
		func(ctx context.Context, req *sdk.Request, w sdk.ResponseWriter) error {
			h := sha256.New()
			n, err := io.Copy(io.MultiWriter(w, h), req.Body)
			if err != nil {
				return err
			}
			if n > 0 && w.SetMeta("late", n) == nil {
				return errors.New("SetMeta after the body started did not fail")
			}
			return nil
		})
	sum := sdk.Func(sdk.Description{Verb: "sum", Summary: "hash the body"},
		func(ctx context.Context, req *sdk.Request, w sdk.ResponseWriter) error {
			h := sha256.New()
			n, err := io.Copy(h, req.Body)
			if err != nil {
				return err
			}
			w.SetMeta("size", n)
			w.SetMeta("sha256", hex.EncodeToString(h.Sum(nil)))
			return nil
		})
	upper := sdk.Func(sdk.Description{Verb: "upper", Summary: "upper-case the args"},
		func(ctx context.Context, req *sdk.Request, w sdk.ResponseWriter) error {
			_, err := io.WriteString(w, strings.ToUpper(strings.Join(req.Args, " "))+"\n")
			return err
		})
	wait := sdk.Func(sdk.Description{Verb: "wait", Summary: "wait until cancelled or for params.ms"},
		func(ctx context.Context, req *sdk.Request, w sdk.ResponseWriter) error {
			var p struct{ MS int }
			if err := req.Decode(&p); err != nil {
				return err
			}
			if p.MS == 0 {
				<-ctx.Done()
				return ctx.Err()
			}
			select {
			case <-ctx.Done():
				return ctx.Err()
			case <-time.After(time.Duration(p.MS) * time.Millisecond):
				_, err := io.WriteString(w, "done")
				return err
			}
		})
	stream := sdk.Func(sdk.Description{Verb: "stream", Summary: "write params.n bytes"},
		func(ctx context.Context, req *sdk.Request, w sdk.ResponseWriter) error {
			var p struct{ N int }
			if err := req.Decode(&p); err != nil {
				return err
			}
			buf := make([]byte, 32<<10)
			for i := range buf {
				buf[i] = byte(i)
			}
			for left := p.N; left > 0; {
				c := min(left, len(buf))
				if _, err := w.Write(buf[:c]); err != nil {
					return err
				}
				left -= c
			}
			return nil
		})
	fail := sdk.Func(sdk.Description{Verb: "fail", Summary: "fail with params.code"},
		func(ctx context.Context, req *sdk.Request, w sdk.ResponseWriter) error {
			var p struct{ Code string }
			req.Decode(&p)
			return sdk.Errorf(sdk.Code(p.Code), "asked to fail")
		})
	return []sdk.Command{echo, sum, upper, wait, stream, fail}
}

// startServer serves the test commands on a loopback port until the test
// ends.
func startServer(t *testing.T, backend string, tune func(*Server)) (*Server, string) {
	t.Helper()
	s := &Server{Root: t.TempDir(), Backend: backend, Fallback: "upper",
		Logger: hclog.New(&hclog.LoggerOptions{Level: hclog.Warn, Output: testWriter{t}})}
	for _, c := range testCommands() {
		if err := s.Register(c); err != nil {
			t.Fatal(err)
		}
	}
	if tune != nil {
		tune(s)
	}
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	served := make(chan error, 1)
	go func() { served <- s.Serve(ln) }()
	t.Cleanup(func() {
		s.Close()
		select {
		case err := <-served:
			if !errors.Is(err, ErrServerClosed) {
				t.Errorf("Serve returned %v, want ErrServerClosed", err)
			}
		case <-time.After(10 * time.Second):
			t.Error("Serve did not return after Close")
		}
	})
	return s, ln.Addr().String()
}

type testWriter struct{ t *testing.T }

func (w testWriter) Write(p []byte) (int, error) {
	w.t.Log(strings.TrimSpace(string(p)))
	return len(p), nil
}

// rawConn speaks frames by hand, for tests of what a client may get wrong.
type rawConn struct {
	t *testing.T
	net.Conn
	r *protocol.Reader
}

func dialRaw(t *testing.T, addr string) *rawConn {
	t.Helper()
	c, err := net.DialTimeout("tcp", addr, 5*time.Second)
	if err != nil {
		t.Fatal(err)
	}
	c.SetDeadline(time.Now().Add(20 * time.Second))
	t.Cleanup(func() { c.Close() })
	return &rawConn{t: t, Conn: c, r: protocol.NewReader(c, 0)}
}

// hello performs the version exchange.
func (c *rawConn) hello() *rawConn {
	c.t.Helper()
	c.send(protocol.TypeHello, protocol.Hello{Protocol: protocol.ProtocolName, Versions: []int{protocol.Version}})
	f := c.next()
	if f.Type != protocol.TypeHello {
		c.t.Fatalf("hello answered with %v %s", f.Type, f.Payload)
	}
	return c
}

func (c *rawConn) send(t protocol.Type, msg any) {
	c.t.Helper()
	frame, err := protocol.Marshal(t, msg)
	if err != nil {
		c.t.Fatal(err)
	}
	c.write(frame)
}

func (c *rawConn) write(b []byte) {
	c.t.Helper()
	if _, err := c.Write(b); err != nil {
		c.t.Fatalf("write: %v", err)
	}
}

func (c *rawConn) next() protocol.Frame {
	c.t.Helper()
	f, err := c.r.Next()
	if err != nil {
		c.t.Fatalf("read frame: %v", err)
	}
	return f
}

// request sends a whole request and returns its response.
func (c *rawConn) request(verb string, args []string, params map[string]any, body []byte) response {
	c.t.Helper()
	c.send(protocol.TypeRequest, protocol.Request{Verb: verb, Args: args, Params: params})
	if len(body) > 0 {
		c.write(protocol.AppendFrame(nil, protocol.TypeData, body))
	}
	c.write(endFor(body))
	return c.response()
}

// xxh is the default digest of b, as it travels.
func xxh(b []byte) string {
	h := checksum.XXH128.New()
	h.Write(b)
	return checksum.XXH128.Encode(h.Sum(nil))
}

// endFor is the End frame after body: its digest in the default algorithm,
// or no trailer for an empty body.
func endFor(body []byte) []byte {
	if len(body) == 0 {
		return protocol.AppendHeader(nil, protocol.TypeEnd, 0)
	}
	f, err := protocol.EndFrame(protocol.Trailer{Digest: xxh(body)})
	if err != nil {
		panic(err)
	}
	return f
}

type response struct {
	meta   map[string]any
	body   []byte
	status protocol.Status
}

func (c *rawConn) response() response {
	c.t.Helper()
	var r response
	for {
		f := c.next()
		switch f.Type {
		case protocol.TypeResponse:
			var m protocol.Response
			if err := json.Unmarshal(f.Payload, &m); err != nil {
				c.t.Fatal(err)
			}
			r.meta = m.Meta
		case protocol.TypeData:
			b, err := io.ReadAll(c.r)
			if err != nil {
				c.t.Fatal(err)
			}
			r.body = append(r.body, b...)
		case protocol.TypeStatus:
			if err := json.Unmarshal(f.Payload, &r.status); err != nil {
				c.t.Fatal(err)
			}
			return r
		default:
			c.t.Fatalf("unexpected %v frame", f.Type)
		}
	}
}

// status reads frames until a Status and returns it.
func (c *rawConn) status() protocol.Status {
	c.t.Helper()
	return c.response().status
}

// closed reports whether the server closed the connection (EOF or reset).
func (c *rawConn) closed() bool {
	c.SetReadDeadline(time.Now().Add(10 * time.Second))
	var b [1]byte
	_, err := c.Conn.Read(b[:])
	return err != nil && !isTimeout(err)
}

func isTimeout(err error) bool {
	var ne net.Error
	return errors.As(err, &ne) && ne.Timeout()
}
