package host

import (
	"context"
	"errors"
	"fmt"
	"sync"
	"sync/atomic"
	"time"

	"github.com/selectftp/selectftp/protocol"
	"github.com/selectftp/selectftp/sdk"
)

// A Local call's lifecycle, as a native request's: Shutdown waits for it
// and refuses new ones, Close cancels it, and a call that moves no byte
// for its request timeout is cancelled and answered "timeout" (the
// native rule of timers.go). call (local_call.go) does the work.

// Call runs one request as a network session would: the verb's command
// (or the fallback, for an unknown verb) after the host checked the
// account's permissions by the verb's declared access, with the user's
// tree, current folder, quotas and rates, and an audit line. A command's
// failure is in Result.Status; a call that moved no byte (body in, output
// out, sdk.Progress) for its RequestTimeout (or VerbTimeouts entry) is
// cancelled and its Status is timeout. Call's error is only for the call
// itself: ctx done, the session closed (ErrLocalClosed), the server
// closing (ErrServerClosed: Shutdown waits for running calls and refuses
// new ones; Close, or Shutdown's ctx ending, cancels them).
func (l *Local) Call(ctx context.Context, c Call) (Result, error) {
	s := l.srv
	lc := &localCall{srv: s, verb: c.Verb, limit: s.requestTimeout(c.Verb)}
	ctx, lc.cancel = context.WithCancelCause(ctx)
	defer lc.cancel(nil)
	if err := s.beginLocal(lc); err != nil {
		return Result{}, err
	}
	defer s.endLocal(lc)
	r, err := l.call(context.WithValue(ctx, localCallKey{}, lc), c)
	lc.stop()
	switch cause := context.Cause(ctx); {
	case err == nil:
	case errors.Is(err, ErrLocalClosed):
	case lc.timedOut.Load():
		r.Status = protocol.Status{Code: sdk.CodeTimeout,
			Message: fmt.Sprintf("%s made no progress for %v", c.Verb, lc.limit)}
		return r, nil
	case errors.Is(cause, ErrServerClosed):
		return r, ErrServerClosed
	}
	return r, err
}

// errNoProgress is the cause a call is cancelled with by its watchdog.
var errNoProgress = errors.New("host: the request made no progress")

type localCallKey struct{}

// localCallOf is the running call ctx belongs to (nil: none, and its
// methods do nothing).
func localCallOf(ctx context.Context) *localCall {
	lc, _ := ctx.Value(localCallKey{}).(*localCall)
	return lc
}

// localCall is one running Local call: Shutdown's handle on it, and its
// request-timeout watchdog. The watchdog samples the call's progress a
// few times per timeout, as the sweeper does a session's: bytes taken
// from the body's source, bytes written to the Output, and sdk.Progress.
type localCall struct {
	srv      *Server
	verb     string
	limit    time.Duration // the request timeout; <= 0: none
	cancel   context.CancelCauseFunc
	progress atomic.Int64 // unix nanoseconds of the last progress
	timedOut atomic.Bool

	mu      sync.Mutex // guards the fields below against stop
	timer   *time.Timer
	stopped bool
	in      *atomic.Int64 // body bytes taken from the source
	w       *localWriter
	lastIn  int64
	lastOut int64
}

// tick records progress: sdk.Progress calls it.
func (lc *localCall) tick() {
	if lc != nil {
		lc.progress.Store(time.Now().UnixNano())
	}
}

// watch starts the watchdog over the call's body counter and writer.
func (lc *localCall) watch(in *atomic.Int64, w *localWriter) {
	if lc == nil || lc.limit <= 0 {
		return
	}
	lc.tick()
	lc.mu.Lock()
	defer lc.mu.Unlock()
	if lc.stopped {
		return
	}
	lc.in, lc.w = in, w
	lc.timer = time.AfterFunc(lc.every(), lc.check)
}

// every is how often the watchdog looks: a quarter of the timeout, as the
// sweeper, so a stall is seen at most a quarter late.
func (lc *localCall) every() time.Duration { return max(10*time.Millisecond, lc.limit/4) }

// check runs on the watchdog's timer: it cancels a call that has moved
// nothing for its timeout, or looks again later.
func (lc *localCall) check() {
	lc.mu.Lock()
	defer lc.mu.Unlock()
	if lc.stopped {
		return
	}
	if in := lc.in.Load(); in != lc.lastIn {
		lc.lastIn = in
		lc.tick()
	}
	// A writer holding its lock is sending: output waiting on the
	// client is the client's pace (the front's own timeouts), not a
	// stuck command, as for native sessions.
	if lc.w.mu.TryLock() {
		n := lc.w.n
		lc.w.mu.Unlock()
		if n != lc.lastOut {
			lc.lastOut = n
			lc.tick()
		}
	} else {
		lc.tick()
	}
	if time.Since(time.Unix(0, lc.progress.Load())) <= lc.limit {
		lc.timer.Reset(lc.every())
		return
	}
	lc.timedOut.Store(true)
	go lc.srv.logger().Warn("cancelling a request that made no progress", "front", true, "verb", lc.verb, "timeout", lc.limit)
	lc.cancel(errNoProgress)
}

// stop ends the watchdog; the call returned.
func (lc *localCall) stop() {
	lc.mu.Lock()
	defer lc.mu.Unlock()
	lc.stopped = true
	if lc.timer != nil {
		lc.timer.Stop()
	}
}
