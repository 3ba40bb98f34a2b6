package hosttest_test

import (
	"context"
	"errors"
	"io"
	"strings"
	"testing"
	"time"

	"github.com/selectftp/selectftp/client"
	"github.com/selectftp/selectftp/host/hosttest"
	"github.com/selectftp/selectftp/plugins/get"
	"github.com/selectftp/selectftp/plugins/upper"
	"github.com/selectftp/selectftp/protocol"
)

// The server serves its commands from its root, counts their requests by
// connection, and closes cleanly more than once.
func TestNewServer(t *testing.T) {
	s := hosttest.NewServer(t, get.New(), upper.New())
	s.WriteFile("d/f.txt", []byte("content"))
	ctx, cancel := context.WithTimeout(t.Context(), 20*time.Second)
	defer cancel()
	c, err := client.Dial(ctx, s.Addr)
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	var b strings.Builder
	if err := c.Get(ctx, "d/f.txt", &b, nil); err != nil || b.String() != "content" {
		t.Fatalf("get: %q %v", b.String(), err)
	}
	if out, err := c.Command(ctx, "anything", nil); err != nil || out != "ANYTHING\n" {
		t.Errorf("the upper fallback: %q %v", out, err)
	}
	if s.Requests() != 2 || s.Sessions() != 1 {
		t.Errorf("requests %d, sessions %d; want 2, 1", s.Requests(), s.Sessions())
	}
	s.Close()
	s.Close()
	if _, err := c.Command(ctx, "upper", nil); err == nil {
		t.Error("a request after Close succeeded")
	}
}

// The fault server lets a test say what a real server never would.
func TestFaultServer(t *testing.T) {
	addr := hosttest.NewFaultServer(t, func(fc *hosttest.FaultConn) {
		if fc.Hello() != nil {
			return
		}
		req, body, err := fc.ReadRequest()
		if err != nil {
			return
		}
		if fc.Trailer().Digest == "" {
			fc.Status(protocol.CodeChecksum, "no digest after the body")
			return
		}
		out := []byte(req.Verb + ":" + string(body))
		fc.Data(out)
		fc.OK(req, out)
		// The next request is answered without a digest: a fault.
		if req, _, err = fc.ReadRequest(); err == nil {
			fc.Data([]byte("x"))
			fc.Status(protocol.CodeOK, "")
		}
	})
	ctx, cancel := context.WithTimeout(t.Context(), 20*time.Second)
	defer cancel()
	c, err := client.Dial(ctx, addr)
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	var b strings.Builder
	if _, err := c.Do(ctx, protocol.Request{Verb: "echo"}, strings.NewReader("body"), &b); err != nil || b.String() != "echo:body" {
		t.Errorf("got %q %v", b.String(), err)
	}
	if _, err := c.Do(ctx, protocol.Request{Verb: "echo"}, nil, io.Discard); !errors.Is(err, client.ErrChecksum) {
		t.Errorf("an ok status without a digest: %v, want ErrChecksum", err)
	}
}
