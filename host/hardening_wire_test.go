package host

import (
	"bytes"
	"context"
	"errors"
	"io"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"
	"unicode/utf8"

	"github.com/hashicorp/go-hclog"

	"github.com/selectftp/selectftp/client"
	"github.com/selectftp/selectftp/protocol"
	"github.com/selectftp/selectftp/sdk"
)

// Tests of hardening issue 6, items 8 and 9: what a client's mistake is
// called and logged as, and frames the server sends within its own limit.

// lockedBuffer collects the server's log.
type lockedBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (b *lockedBuffer) Write(p []byte) (int, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.b.Write(p)
}

func (b *lockedBuffer) String() string {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.b.String()
}

// wireTestCommands open a path under the root, the way get does, and say
// what the hardening tests need said.
func wireTestCommands() []sdk.Command {
	open := sdk.Func(sdk.Description{Verb: "open", Summary: "open params.path under the root",
		Access: []sdk.Access{{Perm: sdk.PermRead, Params: []string{"path"}}}},
		func(ctx context.Context, req *sdk.Request, w sdk.ResponseWriter) error {
			var p struct{ Path string }
			if err := req.Decode(&p); err != nil {
				return err
			}
			f, err := req.Root.Open(p.Path)
			if err != nil {
				return err
			}
			return f.Close()
		})
	say := sdk.Func(sdk.Description{Verb: "say", Summary: "fail with params.n copies of params.s"},
		func(ctx context.Context, req *sdk.Request, w sdk.ResponseWriter) error {
			var p struct {
				S string `mapstructure:"s"`
				N int    `mapstructure:"n"`
			}
			if err := req.Decode(&p); err != nil {
				return err
			}
			return sdk.Errorf(sdk.CodeBadRequest, "no such file: %s", strings.Repeat(p.S, p.N))
		})
	meta := sdk.Func(sdk.Description{Verb: "meta", Summary: "set params.n copies of params.s as metadata, then write"},
		func(ctx context.Context, req *sdk.Request, w sdk.ResponseWriter) error {
			var p struct {
				S string `mapstructure:"s"`
				N int    `mapstructure:"n"`
			}
			if err := req.Decode(&p); err != nil {
				return err
			}
			// Like a careless plugin: the SetMeta error is dropped, the
			// body written anyway.
			w.SetMeta("small", 1)
			w.SetMeta("big", strings.Repeat(p.S, p.N))
			_, err := io.WriteString(w, "body")
			return err
		})
	return []sdk.Command{open, say, meta}
}

func startWireServer(t *testing.T, backend string, log io.Writer) string {
	t.Helper()
	_, addr := startServer(t, backend, func(s *Server) {
		s.Logger = hclog.New(&hclog.LoggerOptions{Level: hclog.Debug, Output: log})
		for _, c := range wireTestCommands() {
			if err := s.Register(c); err != nil {
				t.Fatal(err)
			}
		}
		// A symlink loop in the root.
		for _, l := range [][2]string{{"loop2", "loop1"}, {"loop1", "loop2"}} {
			if err := os.Symlink(l[0], filepath.Join(s.Root, l[1])); err != nil {
				t.Fatal(err)
			}
		}
	})
	return addr
}

// Item 8: a 5,000-byte name, a NUL and a symlink loop were internal errors,
// logged at ERROR with the whole path.
func TestNameMistakesAreClientErrors(t *testing.T) {
	forEachBackend(t, func(t *testing.T, backend string) {
		var log lockedBuffer
		c := dialRaw(t, startWireServer(t, backend, &log)).hello()
		long := strings.Repeat("n", 5000)
		for _, tc := range []struct{ path, code string }{
			{long, "name_too_long"},
			{"a\x00b", "bad_request"},
			{"loop1", "bad_request"},
			{"loop1/x", "bad_request"},
			{"missing", "not_found"},
		} {
			st := c.request("open", nil, map[string]any{"path": tc.path}, nil).status
			if st.Code != protocol.Code(tc.code) || st.Message == "" || len(st.Message) > 400 {
				t.Errorf("open %.20q: status %s %.80q (%d bytes), want %s", tc.path, st.Code, st.Message, len(st.Message), tc.code)
			}
		}
		// The log line of each request is written after its status is
		// queued: the last request's shows that every one is in.
		deadline := time.Now().Add(10 * time.Second)
		for !strings.Contains(log.String(), "code=not_found") && time.Now().Before(deadline) {
			time.Sleep(10 * time.Millisecond)
		}
		out := log.String()
		if !strings.Contains(out, "code=not_found") {
			t.Fatalf("the requests were not logged:\n%s", out)
		}
		if strings.Contains(out, "[ERROR]") || strings.Contains(out, long) {
			t.Errorf("client mistakes logged as errors, or with the whole name:\n%.2000s", out)
		}
	})
}

// Item 9: a status echoing 60,000 characters that JSON escapes six times
// over was a 360 KB frame our own client refused.
func TestStatusFrameWithinLimit(t *testing.T) {
	forEachBackend(t, func(t *testing.T, backend string) {
		addr := startWireServer(t, backend, io.Discard)
		params := map[string]any{"s": "\x01", "n": 60000}

		c := dialRaw(t, addr).hello()
		c.send(protocol.TypeRequest, protocol.Request{Verb: "say", Params: params})
		c.write(protocol.AppendHeader(nil, protocol.TypeEnd, 0))
		f := c.next() // the default reader refuses a frame over 64 KiB
		var st protocol.Status
		if err := protocol.Unmarshal(f.Type, f.Payload, &st); f.Type != protocol.TypeStatus || err != nil {
			t.Fatalf("got %v frame, %v", f.Type, err)
		}
		if st.Code != "bad_request" || !strings.HasPrefix(st.Message, "no such file: \x01") || !strings.HasSuffix(st.Message, protocol.Ellipsis) {
			t.Fatalf("status %s %.40q", st.Code, st.Message)
		}
		// The connection goes on.
		if r := c.request("upper", []string{"next"}, nil, nil); string(r.body) != "NEXT\n" {
			t.Fatalf("after the long status: %+v", r)
		}

		cl := dialClient(t, addr)
		_, err := cl.Do(t.Context(), protocol.Request{Verb: "say", Params: params}, nil, nil)
		var se *protocol.StatusError
		if !errors.As(err, &se) || se.Code != "bad_request" || !utf8.ValidString(se.Message) || len(se.Message) > protocol.DefaultMaxControl {
			t.Fatalf("client: %.200v", err)
		}
		if out, err := cl.Command(t.Context(), "upper", []string{"still"}); err != nil || out != "STILL\n" {
			t.Fatalf("client after the long status: %q, %v", out, err)
		}
	})
}

// Item 9: response metadata over the limit is refused, not sent as a frame
// the client must refuse; the client gets a clear status instead.
func TestResponseMetaWithinLimit(t *testing.T) {
	forEachBackend(t, func(t *testing.T, backend string) {
		addr := startWireServer(t, backend, io.Discard)
		cl := dialClient(t, addr)
		for _, p := range []map[string]any{
			{"s": "x", "n": 1 << 20},     // refused by SetMeta
			{"s": "\x01", "n": 20 << 10}, // 20 KiB that escaping makes 120 KiB: refused when sent
		} {
			var body bytes.Buffer
			meta, err := cl.Do(t.Context(), protocol.Request{Verb: "meta", Params: p}, nil, &body)
			var se *protocol.StatusError
			if !errors.As(err, &se) || se.Code != "too_large" || !strings.Contains(se.Message, "response metadata") {
				t.Fatalf("meta of %v × %q: %.200v", p["n"], p["s"], err)
			}
			if meta != nil || body.Len() != 0 {
				t.Fatalf("output after refused metadata: meta %d keys, body %q", len(meta), body.String())
			}
		}
		// Metadata that fits still goes through, and the connection works.
		meta, err := cl.Do(t.Context(), protocol.Request{Verb: "meta", Params: map[string]any{"s": "y", "n": 60000}}, nil, io.Discard)
		if err != nil || len(meta["big"].(string)) != 60000 {
			t.Fatalf("60,000 bytes of metadata: %v", err)
		}
	})
}

func dialClient(t *testing.T, addr string) *client.Conn {
	t.Helper()
	ctx, cancel := context.WithTimeout(t.Context(), 10*time.Second)
	defer cancel()
	c, err := client.Dial(ctx, addr)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { c.Close() })
	return c
}

// Item 10: what encoding/json resolved quietly (the last of two keys, bad
// UTF-8 as U+FFFD) is refused with a clear bad_request, in a Hello (which
// closes the connection) and in a request (which does not).
func TestStrictJSONFromClients(t *testing.T) {
	forEachBackend(t, func(t *testing.T, backend string) {
		addr := startWireServer(t, backend, io.Discard)
		for _, hello := range []string{
			`{"protocol":"ftp","protocol":"selectftp","versions":[1]}`,
			`{"protocol":"selectftp","versions":[1],"Versions":[1]}`,
			"{\"protocol\":\"selectftp\",\"versions\":[1],\"x\":\"\xff\"}",
		} {
			c := dialRaw(t, addr)
			c.write(protocol.AppendFrame(nil, protocol.TypeHello, []byte(hello)))
			if st := c.status(); st.Code != "bad_request" || !strings.Contains(st.Message, "hello") {
				t.Errorf("hello %q: status %+v, want bad_request", hello, st)
			}
		}
		c := dialRaw(t, addr).hello()
		for _, tc := range []struct{ payload, msg string }{
			{`{"verb":"open","params":{"path":"a","path":"b"}}`, `duplicate key "path"`},
			{`{"verb":"open","params":{"path":"a","Path":"b"}}`, `duplicate key "Path"`},
			{`{"verb":"open","verb":"say"}`, `duplicate key "verb"`},
			{"{\"verb\":\"open\",\"params\":{\"path\":\"caf\xe9\"}}", "invalid UTF-8"},
			{`{"verb":"open","params":{"path":"\udc00"}}`, "unpaired surrogate"},
			{`{"verb":"say","params":{"n":9.3e18}}`, "'n' 9.3e18 is not a whole number"},
			{`{"verb":"say","params":{"n":"0x10"}}`, `'n' got the string "0x10", want an integer`},
			{`{"verb":"say","params":{"n":true}}`, "'n' got true, want an integer"},
		} {
			c.write(protocol.AppendFrame(nil, protocol.TypeRequest, []byte(tc.payload)))
			c.write(protocol.AppendHeader(nil, protocol.TypeEnd, 0))
			if st := c.status(); st.Code != "bad_request" || !strings.Contains(st.Message, tc.msg) {
				t.Errorf("request %q: status %+v, want bad_request saying %q", tc.payload, st, tc.msg)
			}
		}
		// The connection goes on.
		if r := c.request("upper", []string{"next"}, nil, nil); string(r.body) != "NEXT\n" {
			t.Fatalf("after the refused requests: %+v", r)
		}
	})
}
