package sdk_test

import (
	"context"
	"sync/atomic"
	"testing"
	"testing/synctest"
	"time"

	"github.com/selectftp/selectftp/sdk"
)

func TestProgress(t *testing.T) {
	sdk.Progress(context.Background()) // no reporter: nothing happens
	var n atomic.Int32
	ctx := sdk.WithProgress(context.Background(), func() { n.Add(1) })
	sdk.Progress(ctx)
	sdk.Progress(ctx)
	if n.Load() != 2 {
		t.Fatalf("reported %d times, want 2", n.Load())
	}
}

// Working reports once a second until stopped, for a blocking call such as
// an fsync that cannot report by itself.
func TestWorking(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		var n atomic.Int32
		ctx := sdk.WithProgress(t.Context(), func() { n.Add(1) })
		stop := sdk.Working(ctx)
		time.Sleep(3500 * time.Millisecond)
		stop()
		synctest.Wait()
		if got := n.Load(); got != 3 {
			t.Fatalf("reported %d times in 3.5 s, want 3", got)
		}
		time.Sleep(5 * time.Second)
		synctest.Wait()
		if got := n.Load(); got != 3 {
			t.Fatalf("reported %d times after stop, want still 3", got)
		}
	})
}
