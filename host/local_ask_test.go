package host

import (
	"context"
	"io"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/selectftp/selectftp/protocol"
	"github.com/selectftp/selectftp/sdk"
)

// touchReader is a call's body source that tells when it is first read.
type touchReader struct {
	r       io.Reader
	once    sync.Once
	touched chan struct{}
}

func (t *touchReader) Read(p []byte) (int, error) {
	t.once.Do(func() { close(t.touched) })
	return t.r.Read(p)
}

// TestLocalBodyReadOnlyWhenAsked: a Local call reads its body source only
// once the command asks for it, as a network client holds its body until
// told to send it. The FTP front answers STOR's 150 and opens the data
// connection on that first read, so a command that refuses before reading
// (a permission or quota refusal) must leave the source untouched: then
// the refusal is the STOR's own reply, before any data.
func TestLocalBodyReadOnlyWhenAsked(t *testing.T) {
	var src *touchReader // the current call's; the calls run one at a time
	lazy := sdk.Func(sdk.Description{Verb: "lazy", Summary: "refuse or echo the body, after a pause"},
		func(ctx context.Context, req *sdk.Request, w sdk.ResponseWriter) error {
			// A command that takes a while before it asks (the host's checks,
			// a plugin's start): the source must stay unread meanwhile.
			select {
			case <-src.touched:
				return sdk.Errorf(sdk.CodeInternal, "the body source was read before the command asked")
			case <-time.After(300 * time.Millisecond):
			}
			var p struct{ Refuse bool }
			if err := req.Decode(&p); err != nil {
				return err
			}
			if p.Refuse {
				return sdk.Errorf(sdk.CodePermission, "refused before the body")
			}
			b, err := io.ReadAll(req.Body)
			if err != nil {
				return err
			}
			_, err = w.Write(b)
			return err
		})
	s := localServerCmds(t, nil, nil, []sdk.Command{lazy})
	l := localLogin(t, s, "127.0.0.1", "anonymous", "x")

	src = &touchReader{r: strings.NewReader("never sent"), touched: make(chan struct{})}
	r := call(t, l, Call{Verb: "lazy", Params: map[string]any{"refuse": true}, Body: src, Size: -1})
	wantCode(t, r, protocol.CodePermission)
	select {
	case <-src.touched:
		t.Fatal("a refused call read its body source")
	default:
	}

	src = &touchReader{r: strings.NewReader("hello"), touched: make(chan struct{})}
	out := &memOut{}
	wantCode(t, call(t, l, Call{Verb: "lazy", Body: src, Size: -1, Out: out}), protocol.CodeOK)
	if out.buf.String() != "hello" {
		t.Fatalf("the command read %q, want hello", out.buf.String())
	}
}
