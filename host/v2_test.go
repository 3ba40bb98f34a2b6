package host

import (
	"context"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/selectftp/selectftp/internal/checksum"
	"github.com/selectftp/selectftp/protocol"
	"github.com/selectftp/selectftp/sdk"
)

// digestOf is b's digest in a, as it travels.
func digestOf(a checksum.Algorithm, b []byte) string {
	h := a.New()
	h.Write(b)
	return a.Encode(h.Sum(nil))
}

// sendBody sends a request, its body in one Data frame (none when body is
// nil) and the End frame carrying t.
func (c *rawConn) sendBody(q protocol.Request, body []byte, t protocol.Trailer) {
	c.t.Helper()
	c.send(protocol.TypeRequest, q)
	if body != nil {
		c.write(protocol.AppendFrame(nil, protocol.TypeData, body))
	}
	end, err := protocol.EndFrame(t)
	if err != nil {
		c.t.Fatal(err)
	}
	c.write(end)
}

// The host checks the digest after every body: a command reads io.EOF only
// for a body that matches, and the ok status carries the digest of the
// response body, in the request's algorithm.
func TestBodyDigestChecked(t *testing.T) {
	forEachBackend(t, func(t *testing.T, backend string) {
		_, addr := startServer(t, backend, nil)
		c := dialRaw(t, addr).hello()
		body := []byte("the quick brown fox")
		for _, a := range checksum.All() {
			c.sendBody(protocol.Request{Verb: "echo", Checksum: a.String()}, body, protocol.Trailer{Digest: digestOf(a, body)})
			r := c.response()
			if !r.status.OK() || string(r.body) != string(body) {
				t.Fatalf("%v: %+v", a, r)
			}
			if r.status.Size == nil || *r.status.Size != int64(len(body)) || r.status.Digest != digestOf(a, body) {
				t.Fatalf("%v: ok status without the response's size and digest: %+v", a, r.status)
			}
		}
		bad := []struct {
			name    string
			trailer protocol.Trailer
			code    protocol.Code
			msg     string
		}{
			{"a digest of other bytes", protocol.Trailer{Digest: xxh([]byte("the quick brown fix"))}, protocol.CodeChecksum, "damaged on the way"},
			{"no digest", protocol.Trailer{}, protocol.CodeChecksum, "without its xxh128 digest"},
			{"a digest of the wrong length", protocol.Trailer{Digest: "abcd"}, protocol.CodeChecksum, "must be 32 hex digits"},
			{"upper-case hex", protocol.Trailer{Digest: strings.ToUpper(xxh(body))}, protocol.CodeChecksum, "lower-case"},
			{"given up", protocol.Trailer{Abort: "stdin failed"}, protocol.CodeCanceled, "gave the upload up: stdin failed"},
		}
		for _, tc := range bad {
			c.sendBody(protocol.Request{Verb: "sum"}, body, tc.trailer)
			if st := c.status(); st.Code != tc.code || !strings.Contains(st.Message, tc.msg) {
				t.Errorf("%s: %+v, want %s saying %q", tc.name, st, tc.code, tc.msg)
			}
		}
		// An End that is not JSON ends the body with bad_request; the
		// connection goes on.
		c.send(protocol.TypeRequest, protocol.Request{Verb: "sum"})
		c.write(protocol.AppendFrame(protocol.AppendFrame(nil, protocol.TypeData, body), protocol.TypeEnd, []byte("{nope")))
		if st := c.status(); st.Code != protocol.CodeBadRequest {
			t.Errorf("garbage trailer: %+v", st)
		}
		if r := c.request("upper", []string{"still", "here"}, nil, nil); string(r.body) != "STILL HERE\n" {
			t.Fatalf("the connection broke: %+v", r)
		}
	})
}

// A declared size is held to: a body longer or shorter fails as checksum,
// and a negative one is refused.
func TestDeclaredBodySize(t *testing.T) {
	forEachBackend(t, func(t *testing.T, backend string) {
		_, addr := startServer(t, backend, nil)
		c := dialRaw(t, addr).hello()
		body := []byte("0123456789")
		size := func(n int64) *int64 { return &n }
		for _, tc := range []struct {
			declared int64
			code     protocol.Code
			msg      string
		}{
			{10, protocol.CodeOK, ""},
			{9, protocol.CodeChecksum, "longer than the 9 bytes"},
			{11, protocol.CodeChecksum, "short of the 11"},
			{-1, protocol.CodeBadRequest, "negative body size"},
		} {
			c.sendBody(protocol.Request{Verb: "sum", Size: size(tc.declared)}, body, protocol.Trailer{Digest: xxh(body)})
			if st := c.status(); st.Code != tc.code || !strings.Contains(st.Message, tc.msg) {
				t.Errorf("declared %d: %+v, want %s saying %q", tc.declared, st, tc.code, tc.msg)
			}
		}
		if r := c.request("upper", []string{"ok"}, nil, nil); !r.status.OK() {
			t.Fatalf("the connection broke: %+v", r)
		}
	})
}

// A client that waits (Expect) gets Continue when the command reads, and
// the status alone when the command refuses first: then it sends no body,
// and its next request is one.
func TestExpectContinue(t *testing.T) {
	forEachBackend(t, func(t *testing.T, backend string) {
		_, addr := startServer(t, backend, nil)
		c := dialRaw(t, addr).hello()
		body := []byte("held back")
		c.send(protocol.TypeRequest, protocol.Request{Verb: "echo", Expect: true})
		if f := c.next(); f.Type != protocol.TypeContinue {
			t.Fatalf("got %v, want continue", f.Type)
		}
		c.write(protocol.AppendFrame(nil, protocol.TypeData, body))
		c.write(endFor(body))
		if r := c.response(); !r.status.OK() || string(r.body) != string(body) {
			t.Fatalf("after continue: %+v", r)
		}

		// Refused before reading: no Continue, and no body is waited for.
		c.send(protocol.TypeRequest, protocol.Request{Verb: "fail", Expect: true, Params: map[string]any{"code": "too_large"}})
		if st := c.status(); st.Code != protocol.CodeTooLarge {
			t.Fatalf("refusal: %+v", st)
		}
		// A request the host refuses (an algorithm it does not know).
		c.send(protocol.TypeRequest, protocol.Request{Verb: "echo", Expect: true, Checksum: "md5"})
		if st := c.status(); st.Code != protocol.CodeBadRequest || !strings.Contains(st.Message, `unknown checksum "md5"`) {
			t.Fatalf("unknown algorithm: %+v", st)
		}
		if r := c.request("upper", []string{"next"}, nil, nil); string(r.body) != "NEXT\n" {
			t.Fatalf("the next request: %+v", r)
		}

		// Data before Continue breaks the protocol.
		c.send(protocol.TypeRequest, protocol.Request{Verb: "wait", Expect: true, Params: map[string]any{"ms": 2000}})
		c.write(protocol.AppendFrame(nil, protocol.TypeData, body))
		if st := c.status(); st.Code != protocol.CodeProtocol || !strings.Contains(st.Message, "before the server's continue") {
			t.Fatalf("data before continue: %+v", st)
		}
	})
}

// MinChecksum refuses a weaker algorithm before the body and the Hello
// lists what the server takes, its default first.
func TestMinChecksum(t *testing.T) {
	forEachBackend(t, func(t *testing.T, backend string) {
		_, addr := startServer(t, backend, func(s *Server) { s.MinChecksum = "blake3" })
		c := dialRaw(t, addr)
		c.send(protocol.TypeHello, protocol.Hello{Protocol: protocol.ProtocolName, Versions: []int{protocol.Version}})
		var h protocol.Hello
		if err := protocol.Unmarshal(protocol.TypeHello, c.next().Payload, &h); err != nil {
			t.Fatal(err)
		}
		if strings.Join(h.Checksums, ",") != "blake3,sha256" {
			t.Fatalf("hello lists %v", h.Checksums)
		}
		body := []byte("strong")
		c.send(protocol.TypeRequest, protocol.Request{Verb: "echo", Checksum: "xxh128", Expect: true})
		if st := c.status(); st.Code != protocol.CodeBadRequest || !strings.Contains(st.Message, "xxh128 is too weak") {
			t.Fatalf("weak: %+v", st)
		}
		for _, a := range []checksum.Algorithm{checksum.SHA256, checksum.BLAKE3} {
			c.sendBody(protocol.Request{Verb: "echo", Checksum: a.String()}, body, protocol.Trailer{Digest: digestOf(a, body)})
			if r := c.response(); !r.status.OK() || r.status.Digest != digestOf(a, body) {
				t.Fatalf("%v: %+v", a, r)
			}
		}
		// Naming none means the server's default, blake3 here.
		c.sendBody(protocol.Request{Verb: "echo"}, body, protocol.Trailer{Digest: digestOf(checksum.BLAKE3, body)})
		if r := c.response(); !r.status.OK() || r.status.Digest != digestOf(checksum.BLAKE3, body) {
			t.Fatalf("default: %+v", r)
		}
	})
	s := &Server{MinChecksum: "md5"}
	if err := s.acceptChecksums(); err == nil || !strings.Contains(err.Error(), "md5") {
		t.Fatalf("MinChecksum md5: %v", err)
	}
}

// The digest of a file sent by sendfile is read beside it, or taken from
// the command when it knows it; a known digest makes the range the whole
// body.
func TestSendFileDigest(t *testing.T) {
	forEachBackend(t, func(t *testing.T, backend string) {
		dir := t.TempDir()
		data := make([]byte, 3<<20+11)
		for i := range data {
			data[i] = byte(i * 31)
		}
		path := filepath.Join(dir, "f")
		if err := os.WriteFile(path, data, 0o600); err != nil {
			t.Fatal(err)
		}
		lie := []byte("0123456789abcdef") // a 16-byte "known" digest the bytes do not have
		_, addr := startServer(t, backend, func(s *Server) {
			s.Register(sdk.Func(sdk.Description{Verb: "send"}, func(ctx context.Context, req *sdk.Request, w sdk.ResponseWriter) error {
				var p struct{ Known, Twice bool }
				req.Decode(&p)
				f, err := os.Open(path)
				if err != nil {
					return err
				}
				defer f.Close()
				var known sdk.Digest
				if p.Known {
					known = sdk.Digest{Algorithm: req.Checksum, Sum: lie}
				}
				if err := sdk.SendFile(req, w, f, 0, int64(len(data)), known); err != nil {
					return err
				}
				if p.Twice {
					return sdk.SendFile(req, w, f, 5, 10, sdk.Digest{})
				}
				return nil
			}))
		})
		c := dialRaw(t, addr).hello()
		for _, a := range checksum.All() {
			c.send(protocol.TypeRequest, protocol.Request{Verb: "send", Checksum: a.String()})
			c.write(endFor(nil))
			r := c.response()
			if !r.status.OK() || string(r.body) != string(data) || r.status.Digest != digestOf(a, data) {
				t.Fatalf("%v: status %+v, %d bytes", a, r.status, len(r.body))
			}
		}
		// Two ranges: hashed in order.
		r := c.request("send", nil, map[string]any{"twice": true}, nil)
		want := append(append([]byte{}, data...), data[5:15]...)
		if !r.status.OK() || r.status.Digest != xxh(want) {
			t.Fatalf("two ranges: %+v", r.status)
		}
		// The known digest is what the status carries: the host did not
		// read the file to hash it.
		r = c.request("send", nil, map[string]any{"known": true}, nil)
		if !r.status.OK() || r.status.Digest != checksum.XXH128.Encode(lie) {
			t.Fatalf("known digest: %+v", r.status)
		}
		// And nothing may follow it.
		r = c.request("send", nil, map[string]any{"known": true, "twice": true}, nil)
		if r.status.Code != protocol.CodeInternal || !strings.Contains(r.status.Message, "whole response body") {
			t.Fatalf("output after a known digest: %+v", r.status)
		}
	})
}

// The upload fast path returns the verified digest and fails on a
// mismatch; a file written by a failed SaveBody is for the command to drop.
func TestSaveBodyVerifies(t *testing.T) {
	forEachBackend(t, func(t *testing.T, backend string) {
		dir := t.TempDir()
		_, addr := startServer(t, backend, func(s *Server) {
			s.Register(sdk.Func(sdk.Description{Verb: "store"}, func(ctx context.Context, req *sdk.Request, w sdk.ResponseWriter) error {
				f, err := os.CreateTemp(dir, "up")
				if err != nil {
					return err
				}
				defer f.Close()
				n, d, err := sdk.SaveBody(req, f, -1)
				if err != nil {
					return err
				}
				w.SetMeta("n", n)
				return w.SetMeta(d.Algorithm, d.String())
			}))
		})
		c := dialRaw(t, addr).hello()
		body := make([]byte, 2<<20+3) // over the Pipe's in-line threshold
		for i := range body {
			body[i] = byte(i)
		}
		c.sendBody(protocol.Request{Verb: "store", Checksum: "sha256"}, body, protocol.Trailer{Digest: digestOf(checksum.SHA256, body)})
		if r := c.response(); !r.status.OK() || r.meta["sha256"] != digestOf(checksum.SHA256, body) {
			t.Fatalf("store: %+v", r.status)
		}
		c.sendBody(protocol.Request{Verb: "store", Checksum: "sha256"}, body, protocol.Trailer{Digest: digestOf(checksum.SHA256, body[1:])})
		if st := c.status(); st.Code != protocol.CodeChecksum {
			t.Fatalf("a damaged body was saved: %+v", st)
		}
	})
}
