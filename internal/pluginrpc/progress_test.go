package pluginrpc_test

import (
	"context"
	"strings"
	"sync/atomic"
	"testing"

	"github.com/selectftp/selectftp/sdk"
	"github.com/selectftp/selectftp/sdk/sdktest"
)

// A plugin's sdk.Progress reaches the host's reporter (which resets the
// request deadline), at most once a second.
func TestProgressReachesTheHost(t *testing.T) {
	think := sdk.Func(sdk.Description{Verb: "think"}, func(ctx context.Context, req *sdk.Request, w sdk.ResponseWriter) error {
		for range 1000 {
			sdk.Progress(ctx) // rate-limited on the way: one message
		}
		_, err := w.Write([]byte("done"))
		return err
	})
	remote := sdktest.ServeGRPC(t, think)
	var n atomic.Int32
	ctx := sdk.WithProgress(t.Context(), func() { n.Add(1) })
	var out buffer
	if err := remote.Run(ctx, &sdk.Request{Verb: "think", Body: strings.NewReader("")}, &out); err != nil {
		t.Fatal(err)
	}
	if got := n.Load(); got != 1 {
		t.Errorf("the host heard %d progress reports, want 1", got)
	}
	if out.body.String() != "done" {
		t.Errorf("body %q", out.body.String())
	}
}
