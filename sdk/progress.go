package sdk

import (
	"context"
	"time"
)

// A request deadline (the host's RequestTimeout) measures time in which a
// request moves no byte. A command that works a long time between bytes
// (hashing a large file before sending it, syncing a large upload) says so
// with Progress, or it is cancelled as stuck.

type progressKey struct{}

// WithProgress returns a context whose Progress calls report. The host and
// the plugin runtime set it on every request's context; a command only
// calls Progress.
func WithProgress(ctx context.Context, report func()) context.Context {
	return context.WithValue(ctx, progressKey{}, report)
}

// Progress tells the host that the command running under ctx is still
// working although no byte has moved, so its request deadline starts
// afresh. It is cheap and rate-limited where it crosses a process
// boundary: call it as often as convenient (say, every few MiB hashed).
// Under a context without a reporter it does nothing.
func Progress(ctx context.Context) {
	if report, ok := ctx.Value(progressKey{}).(func()); ok && report != nil {
		report()
	}
}

// Working calls Progress every second until stop is called: for one long
// blocking call that cannot report by itself, such as syncing a large
// upload to disk.
func Working(ctx context.Context) (stop func()) {
	done := make(chan struct{})
	go func() {
		t := time.NewTicker(time.Second)
		defer t.Stop()
		for {
			select {
			case <-done:
				return
			case <-ctx.Done():
				return
			case <-t.C:
				Progress(ctx)
			}
		}
	}()
	return func() { close(done) }
}
