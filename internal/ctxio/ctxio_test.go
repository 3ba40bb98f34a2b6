package ctxio

import (
	"context"
	"errors"
	"io"
	"strings"
	"testing"
)

// A cancelled context stops the read at the next call, with its cause.
func TestReaderStops(t *testing.T) {
	ctx, cancel := context.WithCancelCause(context.Background())
	calls := 0
	r := Reader{Ctx: ctx, R: strings.NewReader("abcdef"), OnRead: func() { calls++ }}
	b := make([]byte, 3)
	if n, err := r.Read(b); n != 3 || err != nil {
		t.Fatalf("first read: %d %v", n, err)
	}
	cause := errors.New("gave up")
	cancel(cause)
	if _, err := io.ReadAll(r); !errors.Is(err, cause) {
		t.Fatalf("read after cancel: %v, want the cause", err)
	}
	if calls != 1 {
		t.Errorf("OnRead called %d times, want 1 (not after the cancel)", calls)
	}
}
