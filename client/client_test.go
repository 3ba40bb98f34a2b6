package client_test

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"math/rand/v2"
	"net"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/selectftp/selectftp/client"
	"github.com/selectftp/selectftp/host"
	"github.com/selectftp/selectftp/host/hosttest"
	"github.com/selectftp/selectftp/plugins/get"
	"github.com/selectftp/selectftp/plugins/helps"
	"github.com/selectftp/selectftp/plugins/put"
	"github.com/selectftp/selectftp/plugins/upper"
	"github.com/selectftp/selectftp/protocol"
	"github.com/selectftp/selectftp/sdk"
)

// testCtx bounds every wait of a test.
func testCtx(t *testing.T) context.Context {
	ctx, cancel := context.WithTimeout(t.Context(), 20*time.Second)
	t.Cleanup(cancel)
	return ctx
}

// newServer runs the real server with the standard verbs, and cmds in
// place of the standard ones of the same verb.
func newServer(t *testing.T, cmds ...sdk.Command) *hosttest.Server {
	t.Helper()
	std := []sdk.Command{get.New(), helps.New(), put.New(), upper.New()}
	for _, c := range cmds {
		std = slices.DeleteFunc(std, func(s sdk.Command) bool { return s.Describe().Verb == c.Describe().Verb })
	}
	return hosttest.NewServer(t, append(std, cmds...)...)
}

// command makes an in-process command, to make the real server answer
// as a test needs.
func command(verb string, run sdk.RunFunc) sdk.Command {
	return sdk.Func(sdk.Description{Verb: verb, Summary: "a test's " + verb, Usage: "usage: " + verb}, run)
}

func dial(t *testing.T, s *hosttest.Server, opts ...client.Option) *client.Conn {
	t.Helper()
	c, err := client.Dial(testCtx(t), s.Addr, opts...)
	if err != nil {
		t.Fatalf("Dial: %v", err)
	}
	t.Cleanup(func() { c.Close() })
	return c
}

func dialAddr(t *testing.T, addr string, opts ...client.Option) *client.Conn {
	t.Helper()
	c, err := client.Dial(testCtx(t), addr, opts...)
	if err != nil {
		t.Fatalf("Dial: %v", err)
	}
	t.Cleanup(func() { c.Close() })
	return c
}

func randomBytes(n int) []byte {
	b := make([]byte, n)
	r := rand.NewChaCha8([32]byte{byte(n), byte(n >> 8), byte(n >> 16)})
	r.Read(b)
	return b
}

// dirEntries lists a folder, to prove a failed download left nothing.
func dirEntries(t *testing.T, dir string) []string {
	t.Helper()
	es, err := os.ReadDir(dir)
	if err != nil {
		t.Fatal(err)
	}
	var names []string
	for _, e := range es {
		names = append(names, e.Name())
	}
	return names
}

func TestHello(t *testing.T) {
	s := newServer(t)
	c := dial(t, s)
	if h := c.Server(); h.Version != protocol.Version || h.Server != "selectftpd/"+host.Version {
		t.Errorf("Server() = %+v", h)
	}
	if c.Err() != nil {
		t.Errorf("Err() = %v on a fresh connection", c.Err())
	}
}

func writeFrame(t *testing.T, nc net.Conn, typ protocol.Type, msg any) {
	b, err := protocol.Marshal(typ, msg)
	if err != nil {
		t.Error(err)
		return
	}
	nc.Write(b)
}

// readHello consumes the client's Hello so that a reply is not mistaken
// for a server that answers before it listens.
func readHello(nc net.Conn) {
	protocol.NewReader(nc, 0).Next()
}

func TestHelloFailures(t *testing.T) {
	tests := []struct {
		name     string
		serve    func(t *testing.T, nc net.Conn)
		opts     []client.Option
		wantCode string
		wantMsg  string
	}{
		{
			name: "unsupported version",
			serve: func(t *testing.T, nc net.Conn) {
				readHello(nc)
				writeFrame(t, nc, protocol.TypeStatus, protocol.Status{Code: "unsupported_version", Message: "speaks 7"})
			},
			wantCode: "unsupported_version",
			wantMsg:  fmt.Sprint("does not speak protocol version ", protocol.Version),
		},
		{
			name: "busy",
			serve: func(t *testing.T, nc net.Conn) {
				writeFrame(t, nc, protocol.TypeStatus, protocol.Status{Code: "busy", Message: "too many connections"})
			},
			wantCode: "busy",
			wantMsg:  "refused the connection: busy: too many connections",
		},
		{
			name:    "ftp server",
			serve:   func(t *testing.T, nc net.Conn) { nc.Write([]byte("220 FTP server ready\r\n")) },
			wantMsg: "not a selectftp server",
		},
		{
			name: "http server",
			serve: func(t *testing.T, nc net.Conn) {
				readHello(nc)
				nc.Write([]byte("HTTP/1.1 400 Bad Request\r\n\r\n"))
			},
			wantMsg: "not a selectftp server",
		},
		{
			name: "other version chosen",
			serve: func(t *testing.T, nc net.Conn) {
				readHello(nc)
				writeFrame(t, nc, protocol.TypeHello, protocol.Hello{Protocol: protocol.ProtocolName, Version: protocol.Version + 1})
			},
			wantMsg: fmt.Sprint("server chose protocol version ", protocol.Version+1),
		},
		{
			name: "other protocol",
			serve: func(t *testing.T, nc net.Conn) {
				readHello(nc)
				writeFrame(t, nc, protocol.TypeHello, protocol.Hello{Protocol: "smtp", Version: 1})
			},
			wantMsg: `not a selectftp server: hello names protocol "smtp"`,
		},
		{
			name: "invalid json",
			serve: func(t *testing.T, nc net.Conn) {
				readHello(nc)
				nc.Write(protocol.AppendFrame(nil, protocol.TypeHello, []byte("{nope")))
			},
			wantMsg: "not a selectftp server",
		},
		{
			name:    "closes at once",
			serve:   func(t *testing.T, nc net.Conn) {},
			wantMsg: "closed the connection during the hello",
		},
		{
			name: "silent",
			serve: func(t *testing.T, nc net.Conn) {
				io.Copy(io.Discard, nc) // until the client gives up
			},
			opts:    []client.Option{client.WithHandshakeTimeout(100 * time.Millisecond)},
			wantMsg: "no hello from the server within 100ms",
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			addr := hosttest.NewFaultServer(t, func(fc *hosttest.FaultConn) { tt.serve(t, fc.Conn) })
			c, err := client.Dial(testCtx(t), addr, tt.opts...)
			if err == nil {
				c.Close()
				t.Fatal("Dial succeeded")
			}
			if !strings.Contains(err.Error(), tt.wantMsg) {
				t.Errorf("error %q does not contain %q", err, tt.wantMsg)
			}
			if got := client.Code(err); got != protocol.Code(tt.wantCode) {
				t.Errorf("Code = %q, want %q", got, tt.wantCode)
			}
		})
	}
}

func TestDialContextCanceled(t *testing.T) {
	addr := hosttest.NewFaultServer(t, func(fc *hosttest.FaultConn) { io.Copy(io.Discard, fc) })
	ctx, cancel := context.WithTimeout(testCtx(t), 100*time.Millisecond)
	defer cancel()
	start := time.Now()
	_, err := client.Dial(ctx, addr, client.WithHandshakeTimeout(0))
	if !errors.Is(err, context.DeadlineExceeded) {
		t.Fatalf("err = %v, want DeadlineExceeded", err)
	}
	if d := time.Since(start); d > 5*time.Second {
		t.Errorf("Dial took %v after cancel", d)
	}
}

func TestDialRefused(t *testing.T) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	addr := ln.Addr().String()
	ln.Close()
	_, err = client.Dial(testCtx(t), addr)
	if err == nil || !strings.Contains(err.Error(), "connect to "+addr) {
		t.Fatalf("err = %v", err)
	}
}

func TestRoundTrip(t *testing.T) {
	s := newServer(t)
	c := dial(t, s)
	ctx := testCtx(t)
	os.Mkdir(s.Path("dir"), 0o755) // put makes no folders
	dir := t.TempDir()
	for _, size := range []int{0, 1, 64<<10 - 1, 64 << 10, 64<<10 + 1, 3<<20 + 7} {
		t.Run(fmt.Sprint(size), func(t *testing.T) {
			data := randomBytes(size)
			local := filepath.Join(dir, fmt.Sprintf("up-%d", size))
			if err := os.WriteFile(local, data, 0o644); err != nil {
				t.Fatal(err)
			}
			remote := fmt.Sprintf("dir/file %d.bin", size)
			var last, total atomic.Int64
			last.Store(-1)
			err := c.PutFile(ctx, local, remote, func(done, tot int64) { last.Store(done); total.Store(tot) })
			if err != nil {
				t.Fatalf("PutFile: %v", err)
			}
			if last.Load() != int64(size) || total.Load() != int64(size) {
				t.Errorf("put progress ended at %d/%d, want %d", last.Load(), total.Load(), size)
			}
			if got, _ := s.ReadFile(remote); !bytes.Equal(got, data) {
				t.Fatalf("server holds %d bytes, want %d", len(got), size)
			}

			back := filepath.Join(dir, fmt.Sprintf("down-%d", size))
			last.Store(-1)
			if err := c.GetFile(ctx, remote, back, func(done, tot int64) { last.Store(done) }); err != nil {
				t.Fatalf("GetFile: %v", err)
			}
			if got, _ := os.ReadFile(back); !bytes.Equal(got, data) {
				t.Fatalf("downloaded %d bytes differ from the %d uploaded", len(got), size)
			}
			if last.Load() != int64(size) {
				t.Errorf("get progress ended at %d, want %d", last.Load(), size)
			}
			if fi, err := os.Stat(back); err != nil || fi.Mode().Perm() != 0o644 {
				t.Errorf("downloaded file mode: %v %v", fi.Mode(), err)
			}

			var buf bytes.Buffer
			if err := c.Get(ctx, remote, &buf, nil); err != nil || !bytes.Equal(buf.Bytes(), data) {
				t.Fatalf("Get: %v (%d bytes)", err, buf.Len())
			}
		})
	}
	if n := s.Sessions(); n != 1 {
		t.Errorf("server saw %d connections, want the one reused", n)
	}
}

func TestPutReaderSmallChunks(t *testing.T) {
	s := newServer(t)
	c := dial(t, s, client.WithChunkSize(1000))
	data := randomBytes(12345)
	if err := c.Put(testCtx(t), bytes.NewReader(data), int64(len(data)), "x", nil); err != nil {
		t.Fatal(err)
	}
	if got, _ := s.ReadFile("x"); !bytes.Equal(got, data) {
		t.Fatal("stored bytes differ")
	}
}

func TestPutBadArguments(t *testing.T) {
	s := newServer(t)
	c := dial(t, s)
	ctx := testCtx(t)
	// A reader shorter than declared is a local error, and the
	// connection survives it.
	data := []byte("hello")
	err := c.Put(ctx, bytes.NewReader(data), 10, "x", nil)
	if err == nil || !strings.Contains(err.Error(), "5 bytes short") {
		t.Errorf("short reader: %v", err)
	}
	if _, err := s.ReadFile("x"); err == nil {
		t.Error("server kept a short upload")
	}
	if err := c.PutFile(ctx, t.TempDir(), "x", nil); err == nil || !strings.Contains(err.Error(), "not a regular file") {
		t.Errorf("PutFile of a folder: %v", err)
	}
	if out, err := c.Command(ctx, "upper", []string{"still", "here"}); err != nil || out != "STILL HERE\n" {
		t.Errorf("after failures: %q %v", out, err)
	}
}

// An upload whose bytes do not match the digest sent after them (one byte
// flipped on the way) is refused with the checksum code and not kept.
func TestPutChecksumRefused(t *testing.T) {
	s := newServer(t)
	var flipped atomic.Bool
	c := dial(t, s, withFlip([]byte("MARK"), true, &flipped))
	data := []byte("some bytes, MARKED to be corrupted on the way")
	err := c.Put(testCtx(t), bytes.NewReader(data), int64(len(data)), "x", nil)
	if !flipped.Load() {
		t.Fatal("the test's proxy found nothing to corrupt")
	}
	if client.Code(err) != "checksum" || !errors.Is(err, client.ErrChecksum) {
		t.Fatalf("err = %v, want code checksum", err)
	}
	if _, err := s.ReadFile("x"); err == nil {
		t.Error("the server kept a corrupted upload")
	}
	if out, err := c.Command(testCtx(t), "upper", []string{"next"}); err != nil || out != "NEXT\n" {
		t.Errorf("next request: %q %v", out, err)
	}
}

// fakeGet is a get command that answers with meta and data as given,
// whatever they say, as a buggy command would (the host still hashes what
// it sends).
func fakeGet(meta map[string]any, data []byte) sdk.Command {
	return command("get", func(ctx context.Context, req *sdk.Request, w sdk.ResponseWriter) error {
		for k, v := range meta {
			if err := w.SetMeta(k, v); err != nil {
				return err
			}
		}
		_, err := w.Write(data)
		return err
	})
}

// badGet is a fake server answering its first request (a get) with meta,
// data and an ok Status of the given size and digest, whatever the bytes
// were, as a broken server or the wire would; later requests are answered
// properly.
func badGet(t *testing.T, meta map[string]any, data []byte, size *int64, digest string) string {
	return fakeServer(t, func(fc *fakeConn) {
		if _, err := fc.request(); err != nil {
			return
		}
		if _, _, err := fc.body(); err != nil {
			return
		}
		if meta != nil {
			fc.meta(meta)
		}
		fc.data(data)
		fc.send(protocol.TypeStatus, protocol.Status{Code: protocol.CodeOK, Size: size, Digest: digest})
		fc.serveRest()
	})
}

func ptr(n int) *int64 { v := int64(n); return &v }

func TestGetVerification(t *testing.T) {
	data := randomBytes(200_000)
	flipped := bytes.Clone(data)
	flipped[100_000] ^= 1
	sum := digestOf(t, "", data)
	tests := []struct {
		name string
		addr func(t *testing.T) string
		want string
	}{
		{"wrong digest", func(t *testing.T) string {
			return badGet(t, map[string]any{"size": len(data)}, data, ptr(len(data)), digestOf(t, "", []byte("x")))
		}, "xxh128 digest"},
		{"one byte flipped", func(t *testing.T) string {
			return badGet(t, map[string]any{"size": len(data)}, flipped, ptr(len(data)), sum)
		}, "xxh128 digest"},
		{"fewer bytes than the status says", func(t *testing.T) string {
			return badGet(t, nil, data, ptr(len(data)+1), sum)
		}, "received 200000 bytes, the server sent 200001"},
		{"status without digest", func(t *testing.T) string {
			return badGet(t, nil, data, ptr(len(data)), "")
		}, "no size and digest"},
		{"status without size", func(t *testing.T) string {
			return badGet(t, nil, data, nil, sum)
		}, "no size and digest"},
		{"more bytes than the meta declared", func(t *testing.T) string {
			return newServer(t, fakeGet(map[string]any{"size": 10}, data)).Addr
		}, "more than the 10 bytes"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			c := dialAddr(t, tt.addr(t))
			dir := t.TempDir()
			err := c.GetFile(testCtx(t), "f", filepath.Join(dir, "f"), nil)
			if err == nil || !strings.Contains(err.Error(), tt.want) || !errors.Is(err, client.ErrChecksum) {
				t.Fatalf("err = %v, want ErrChecksum mentioning %q", err, tt.want)
			}
			if names := dirEntries(t, dir); len(names) != 0 {
				t.Errorf("failed get left %v", names)
			}
			// The response was read to its end, so the connection is reusable.
			if _, err := c.Verbs(testCtx(t)); err != nil {
				t.Errorf("connection unusable after a verification failure: %v", err)
			}
		})
	}
}

// A response without meta needs none: the Status alone verifies it.
func TestGetWithoutMeta(t *testing.T) {
	data := randomBytes(1000)
	c := dialAddr(t, badGet(t, nil, data, ptr(len(data)), digestOf(t, "", data)))
	var buf bytes.Buffer
	if err := c.Get(testCtx(t), "f", &buf, nil); err != nil || !bytes.Equal(buf.Bytes(), data) {
		t.Fatalf("Get: %v (%d bytes)", err, buf.Len())
	}
}

func TestGetChecksumErrorIs(t *testing.T) {
	addr := badGet(t, nil, []byte("abc"), ptr(3), digestOf(t, "", []byte("abd")))
	err := dialAddr(t, addr).Get(testCtx(t), "f", io.Discard, nil)
	if !errors.Is(err, client.ErrChecksum) || client.Code(err) != protocol.CodeChecksum {
		t.Fatalf("err = %v, want ErrChecksum", err)
	}
}

func TestStatusError(t *testing.T) {
	s := newServer(t)
	c := dial(t, s)
	ctx := testCtx(t)
	dir := t.TempDir()
	err := c.GetFile(ctx, "missing", filepath.Join(dir, "missing"), nil)
	var se *protocol.StatusError
	if !errors.As(err, &se) || se.Code != "not_found" || client.Code(err) != "not_found" {
		t.Fatalf("err = %#v, want a not_found *protocol.StatusError", err)
	}
	if !errors.Is(err, client.ErrNotFound) || !strings.Contains(err.Error(), "not_found: ") || !strings.Contains(err.Error(), "missing") {
		t.Errorf("message %q", err)
	}
	if names := dirEntries(t, dir); len(names) != 0 {
		t.Errorf("failed get left %v", names)
	}
	if c.Err() != nil {
		t.Errorf("a refused request broke the connection: %v", c.Err())
	}
	_, err = c.Helps(ctx, "nosuch")
	if !errors.Is(err, client.ErrNotFound) {
		t.Errorf("Helps(nosuch) = %v", err)
	}
}

func TestServerClosesMidBody(t *testing.T) {
	data := randomBytes(500_000)
	addr := hosttest.NewFaultServer(t, func(fc *hosttest.FaultConn) {
		if fc.Hello() != nil {
			return
		}
		if _, _, err := fc.ReadRequest(); err != nil {
			return
		}
		fc.Meta(map[string]any{"size": len(data)})
		fc.Data(data[:len(data)/2])
		// and hang up: the connection closes when this returns
	})
	c := dialAddr(t, addr)
	dir := t.TempDir()
	err := c.GetFile(testCtx(t), "f", filepath.Join(dir, "f"), nil)
	if err == nil || !strings.Contains(err.Error(), "closed the connection") {
		t.Fatalf("err = %v", err)
	}
	if names := dirEntries(t, dir); len(names) != 0 {
		t.Errorf("failed get left %v", names)
	}
	if c.Err() == nil {
		t.Error("connection still claims to be usable")
	}
	if _, err := c.Verbs(testCtx(t)); !errors.Is(err, client.ErrClosed) {
		t.Errorf("request on a broken connection: %v, want ErrClosed", err)
	}
}

func TestServerGarbageMidResponse(t *testing.T) {
	addr := hosttest.NewFaultServer(t, func(fc *hosttest.FaultConn) {
		if fc.Hello() != nil {
			return
		}
		if _, _, err := fc.ReadRequest(); err != nil {
			return
		}
		fc.Write([]byte("\x00\x00\x00\x01Zjunk"))
		io.Copy(io.Discard, fc) // until the client hangs up
	})
	c := dialAddr(t, addr)
	_, err := c.Command(testCtx(t), "upper", []string{"x"})
	if err == nil || !strings.Contains(err.Error(), "protocol error") {
		t.Fatalf("err = %v", err)
	}
	if c.Err() == nil {
		t.Error("connection still claims to be usable")
	}
}

// endless is a body that never ends, counting what was read of it.
type endless struct{ n atomic.Int64 }

func (e *endless) Read(p []byte) (int, error) {
	e.n.Add(int64(len(p)))
	return len(p), nil
}

// A body sent without the expect step (Do) stops once the server has
// answered; Put's expect step, which sends none of it, is in
// TestEarlyRefusal.
func TestEarlyAnswerStopsBody(t *testing.T) {
	s := newServer(t, command("put", func(ctx context.Context, req *sdk.Request, w sdk.ResponseWriter) error {
		return sdk.Errorf(sdk.CodeTooLarge, "over the quota") // without reading the body
	}))
	c := dial(t, s)
	body := &endless{}
	_, err := c.Do(testCtx(t), protocol.Request{Verb: "put", Params: map[string]any{"path": "big"}}, body, nil)
	if client.Code(err) != "too_large" || !errors.Is(err, client.ErrTooLarge) {
		t.Fatalf("err = %v, want too_large", err)
	}
	if n := body.n.Load(); n > 256<<20 {
		t.Errorf("sent %d bytes after an early answer", n)
	}
	if out, err := c.Command(testCtx(t), "upper", []string{"next"}); err != nil || out != "NEXT\n" {
		t.Errorf("next request: %q %v", out, err)
	}
}

func TestContextCancel(t *testing.T) {
	release := make(chan struct{})
	defer close(release)
	s := newServer(t, command("slow", func(ctx context.Context, req *sdk.Request, w sdk.ResponseWriter) error {
		select {
		case <-release:
		case <-ctx.Done():
		}
		return nil
	}))
	c := dial(t, s)
	ctx, cancel := context.WithTimeout(testCtx(t), 100*time.Millisecond)
	defer cancel()
	start := time.Now()
	_, err := c.Command(ctx, "slow", nil)
	if !errors.Is(err, context.DeadlineExceeded) {
		t.Fatalf("err = %v, want DeadlineExceeded", err)
	}
	if d := time.Since(start); d > 5*time.Second {
		t.Errorf("returned %v after the deadline", d)
	}
	if c.Err() == nil {
		t.Error("a cancelled request left the connection usable")
	}
}

func TestContextCancelDuringGetFile(t *testing.T) {
	release := make(chan struct{})
	defer close(release)
	data := randomBytes(100_000)
	s := newServer(t, command("get", func(ctx context.Context, req *sdk.Request, w sdk.ResponseWriter) error {
		w.SetMeta("size", 2*len(data))
		if _, err := w.Write(data); err != nil {
			return err
		}
		select {
		case <-release:
		case <-ctx.Done():
		}
		return nil
	}))
	c := dial(t, s)
	ctx, cancel := context.WithCancel(testCtx(t))
	defer cancel()
	dir := t.TempDir()
	err := c.GetFile(ctx, "f", filepath.Join(dir, "f"), func(done, total int64) {
		if done == int64(len(data)) {
			cancel()
		}
	})
	if !errors.Is(err, context.Canceled) {
		t.Fatalf("err = %v, want Canceled", err)
	}
	if names := dirEntries(t, dir); len(names) != 0 {
		t.Errorf("cancelled get left %v", names)
	}
}

// A server that closes an idle connection says why; the next request
// reports it without being sent.
func TestIdleConnectionKicked(t *testing.T) {
	kicked := make(chan struct{})
	var requests atomic.Int32
	addr := fakeServer(t, func(fc *fakeConn) {
		q, err := fc.request()
		if err != nil {
			return
		}
		if _, _, err := fc.body(); err != nil {
			return
		}
		requests.Add(1)
		out := []byte("helps\tthe only verb\n")
		fc.data(out)
		fc.ok(q, out)
		fc.send(protocol.TypeStatus, protocol.Status{Code: protocol.CodeTimeout, Message: "idle for 5m0s"})
		fc.nc.Close()
		close(kicked)
	})
	c := dialAddr(t, addr)
	ctx := testCtx(t)
	if _, err := c.Verbs(ctx); err != nil {
		t.Fatal(err)
	}
	<-kicked
	_, err := c.Command(ctx, "upper", []string{"x"})
	if !errors.Is(err, client.ErrClosed) || !strings.Contains(err.Error(), "timeout") {
		t.Fatalf("err = %v, want ErrClosed mentioning the timeout", err)
	}
	if n := requests.Load(); n != 1 {
		t.Errorf("server read %d requests, want 1", n)
	}
}

func TestClose(t *testing.T) {
	s := newServer(t)
	c := dial(t, s)
	if err := c.Close(); err != nil {
		t.Fatal(err)
	}
	if err := c.Close(); err != nil {
		t.Errorf("second Close: %v", err)
	}
	if _, err := c.Verbs(testCtx(t)); !errors.Is(err, client.ErrClosed) {
		t.Errorf("after Close: %v", err)
	}
}

func TestCommands(t *testing.T) {
	s := newServer(t)
	c := dial(t, s)
	ctx := testCtx(t)
	verbs, err := c.Verbs(ctx)
	if err != nil || !slices.Equal(verbs, []string{"get", "helps", "put", "upper"}) {
		t.Errorf("Verbs = %v, %v", verbs, err)
	}
	if out, err := c.Helps(ctx, "put"); err != nil || !strings.HasPrefix(out, "usage: put ") {
		t.Errorf("Helps(put) = %q, %v", out, err)
	}
	if out, err := c.Command(ctx, "hello", []string{"wörld", "two words"}); err != nil || out != "HELLO WÖRLD TWO WORDS\n" {
		t.Errorf("fallback = %q, %v", out, err)
	}
	meta, err := c.Do(ctx, protocol.Request{Verb: "upper", Args: []string{"a"}}, strings.NewReader("ignored body"), nil)
	if err != nil || meta != nil {
		t.Errorf("Do = %v, %v", meta, err)
	}
}

func TestParseVerbs(t *testing.T) {
	got := client.ParseVerbs("put\tupload a file\n\nget\tdownload\r\n  helps \t x\nbare\n")
	if want := []string{"put", "get", "helps", "bare"}; !slices.Equal(got, want) {
		t.Errorf("ParseVerbs = %q, want %q", got, want)
	}
}

type failWriter struct{}

func (failWriter) Write([]byte) (int, error) { return 0, errors.New("disk on fire") }

func TestOutputWriteError(t *testing.T) {
	s := newServer(t)
	c := dial(t, s)
	s.WriteFile("f", randomBytes(300_000))
	err := c.Get(testCtx(t), "f", failWriter{}, nil)
	if err == nil || !strings.Contains(err.Error(), "disk on fire") {
		t.Fatalf("err = %v", err)
	}
	if _, err := c.Verbs(testCtx(t)); err != nil {
		t.Errorf("connection unusable after a local write error: %v", err)
	}
}

func TestConcurrentCallsAreSerialized(t *testing.T) {
	s := newServer(t)
	c := dial(t, s)
	ctx := testCtx(t)
	var wg sync.WaitGroup
	for i := range 8 {
		wg.Go(func() {
			data := randomBytes(50_000 + i)
			name := fmt.Sprint("f", i)
			if err := c.Put(ctx, bytes.NewReader(data), int64(len(data)), name, nil); err != nil {
				t.Errorf("Put %d: %v", i, err)
				return
			}
			var buf bytes.Buffer
			if err := c.Get(ctx, name, &buf, nil); err != nil || !bytes.Equal(buf.Bytes(), data) {
				t.Errorf("Get %d: %v", i, err)
			}
		})
	}
	wg.Wait()
}

// WithOneFrameBodies sends a file as one frame (sendfile) and a stream
// alike; a stream shorter than declared breaks only that connection.
func TestOneFrameBodies(t *testing.T) {
	s := newServer(t)
	c := dial(t, s, client.WithOneFrameBodies())
	ctx := testCtx(t)
	data := randomBytes(3<<20 + 5)
	local := filepath.Join(t.TempDir(), "big")
	os.WriteFile(local, data, 0o644)
	var last atomic.Int64
	if err := c.PutFile(ctx, local, "big", func(done, total int64) { last.Store(done) }); err != nil {
		t.Fatal(err)
	}
	if got, _ := s.ReadFile("big"); !bytes.Equal(got, data) || last.Load() != int64(len(data)) {
		t.Fatalf("stored %d bytes, progress %d, want %d", len(got), last.Load(), len(data))
	}
	if err := c.Put(ctx, bytes.NewReader(data[:10]), 10, "small", nil); err != nil {
		t.Fatal(err)
	}
	err := c.Put(ctx, bytes.NewReader(data[:5]), 10, "short", nil)
	if err == nil || !strings.Contains(err.Error(), "short of the declared size") {
		t.Fatalf("short body: %v", err)
	}
	if _, err := s.ReadFile("short"); err == nil {
		t.Error("a short upload was kept")
	}
}
