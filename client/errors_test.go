package client_test

import (
	"bytes"
	"errors"
	"fmt"
	"strings"
	"sync/atomic"
	"testing"

	"github.com/selectftp/selectftp/client"
	"github.com/selectftp/selectftp/host/hosttest"
	"github.com/selectftp/selectftp/protocol"
)

// Each sentinel matches a StatusError of its code, wrapped or not, and
// no other code; the message stays readable.
func TestSentinelsMatchTheirCode(t *testing.T) {
	sentinels := map[protocol.Code]error{
		protocol.CodeBadRequest: client.ErrBadRequest, protocol.CodeTooLarge: client.ErrTooLarge,
		protocol.CodeNameTooLong: client.ErrNameTooLong, protocol.CodeUnknownVerb: client.ErrUnknownVerb,
		protocol.CodeNotFound: client.ErrNotFound, protocol.CodeExists: client.ErrExists,
		protocol.CodePermission: client.ErrPermission, protocol.CodeChecksum: client.ErrChecksum,
		protocol.CodeNoSpace: client.ErrNoSpace, protocol.CodeUnavailable: client.ErrUnavailable,
		protocol.CodeCanceled: client.ErrCanceled, protocol.CodeTimeout: client.ErrTimeout,
		protocol.CodeInternal: client.ErrInternal, protocol.CodeProtocol: client.ErrProtocol,
		protocol.CodeUnsupportedVersion: client.ErrUnsupportedVersion, protocol.CodeBusy: client.ErrBusy,
		protocol.CodeShuttingDown: client.ErrShuttingDown,
	}
	for code, sentinel := range sentinels {
		err := fmt.Errorf("get x: %w", protocol.Status{Code: code, Message: "the server's words"}.Err())
		for other, s := range sentinels {
			if got := errors.Is(err, s); got != (other == code) {
				t.Errorf("errors.Is(%s error, sentinel of %s) = %v", code, other, got)
			}
		}
		if !errors.Is(err, sentinel) || client.Code(err) != code {
			t.Errorf("%s: not matched", code)
		}
		if want := "get x: " + string(code) + ": the server's words"; err.Error() != want {
			t.Errorf("message %q, want %q", err, want)
		}
	}
	if errors.Is(errors.New("not_found"), client.ErrNotFound) {
		t.Error("a plain error matched a sentinel")
	}
}

// The codes a real server sends come out as their sentinels.
func TestRealServerErrors(t *testing.T) {
	s := newServer(t)
	var flipped atomic.Bool
	c := dial(t, s, withFlip([]byte("FLIP"), true, &flipped))
	ctx := testCtx(t)
	if err := c.Get(ctx, "../outside", &bytes.Buffer{}, nil); client.Code(err) == "" {
		t.Errorf("get ../outside: %v, want a status", err)
	}
	data := []byte("FLIP")
	if err := c.Put(ctx, bytes.NewReader(data), int64(len(data)), "f", nil); !errors.Is(err, client.ErrChecksum) || !flipped.Load() {
		t.Errorf("put corrupted on the way: %v", err)
	}
	if _, err := c.Helps(ctx, "nosuch"); !errors.Is(err, client.ErrNotFound) {
		t.Errorf("helps nosuch: %v", err)
	}
}

// A server that speaks another version, or is full, is told apart by
// its sentinel at Dial.
func TestDialRefusalSentinels(t *testing.T) {
	for _, code := range []protocol.Code{protocol.CodeUnsupportedVersion, protocol.CodeBusy, protocol.CodeShuttingDown} {
		addr := hosttest.NewFaultServer(t, func(fc *hosttest.FaultConn) {
			fc.ReadHello()
			fc.Status(code, "no")
		})
		_, err := client.Dial(testCtx(t), addr)
		if client.Code(err) != code || !strings.Contains(err.Error(), string(code)) {
			t.Errorf("%s: Dial error %v", code, err)
		}
	}
}
