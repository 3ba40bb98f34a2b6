package host

import (
	"context"
	"errors"
	"io"
	"os"
	"sync"
	"testing"
	"time"

	"github.com/selectftp/selectftp/protocol"
	"github.com/selectftp/selectftp/sdk"
)

// The lifecycle of Local calls: the request timeout, and Shutdown.

// watchCmds are commands that hold a call: "hold" until released or
// cancelled (it says when it started), "tick" reporting progress for
// params.ms, "drain" reading its body to the end.
// The test commands (upper...) come along.
func watchCmds(started chan<- struct{}, release <-chan struct{}) []sdk.Command {
	hold := sdk.Func(sdk.Description{Verb: "hold", Summary: "wait for the test"},
		func(ctx context.Context, req *sdk.Request, w sdk.ResponseWriter) error {
			started <- struct{}{}
			select {
			case <-release:
				_, err := io.WriteString(w, "released")
				return err
			case <-ctx.Done():
				return ctx.Err()
			}
		})
	tick := sdk.Func(sdk.Description{Verb: "tick", Summary: "report progress for params.ms"},
		func(ctx context.Context, req *sdk.Request, w sdk.ResponseWriter) error {
			var p struct{ MS int }
			if err := req.Decode(&p); err != nil {
				return err
			}
			t := time.NewTicker(20 * time.Millisecond)
			defer t.Stop()
			for end := time.Now().Add(time.Duration(p.MS) * time.Millisecond); time.Now().Before(end); {
				select {
				case <-ctx.Done():
					return ctx.Err()
				case <-t.C:
					sdk.Progress(ctx)
				}
			}
			return nil
		})
	drain := sdk.Func(sdk.Description{Verb: "drain", Summary: "read the body"},
		func(ctx context.Context, req *sdk.Request, w sdk.ResponseWriter) error {
			_, err := io.Copy(io.Discard, req.Body)
			return err
		})
	return append(testCommands(), hold, tick, drain)
}

// callResult is a Call's outcome, from a goroutine.
type callResult struct {
	r   Result
	err error
}

// callAsync runs a call on l and returns where its result arrives.
func callAsync(l *Local, c Call) <-chan callResult {
	ch := make(chan callResult, 1)
	go func() {
		r, err := l.Call(context.Background(), c)
		ch <- callResult{r, err}
	}()
	return ch
}

// within waits for a result, at most d.
func within(t *testing.T, ch <-chan callResult, d time.Duration, what string) callResult {
	t.Helper()
	select {
	case r := <-ch:
		return r
	case <-time.After(d):
		t.Fatalf("%s: the call did not return within %v", what, d)
		return callResult{}
	}
}

// A Local call that moves no byte is cancelled after its request timeout
// and answered "timeout", as a native request is; one that reports
// progress or receives body bytes runs on past it.
func TestLocalCallRequestTimeout(t *testing.T) {
	started, release := make(chan struct{}, 1), make(chan struct{})
	const limit = 200 * time.Millisecond
	s := localServerCmds(t, nil, func(s *Server) { s.RequestTimeout = limit }, watchCmds(started, release))
	l := localLogin(t, s, "127.0.0.1", "anonymous", "")

	t0 := time.Now()
	res := within(t, callAsync(l, Call{Verb: "hold"}), 10*time.Second, "a stuck command")
	if res.err != nil || res.r.Status.Code != sdk.CodeTimeout {
		t.Fatalf("a stuck call: %+v, %v; want status timeout", res.r.Status, res.err)
	}
	if took := time.Since(t0); took < limit {
		t.Fatalf("cancelled after %v, before its %v timeout", took, limit)
	}

	// Progress reported for 4 timeouts: not cancelled.
	res = within(t, callAsync(l, Call{Verb: "tick", Params: map[string]any{"ms": 4 * limit.Milliseconds()}}), 10*time.Second, "tick")
	if res.err != nil || res.r.Status.Code != protocol.CodeOK {
		t.Fatalf("a call reporting progress was stopped: %+v, %v", res.r.Status, res.err)
	}

	// A body trickling in for 4 timeouts: not cancelled; one that stops: cancelled.
	pr, pw := io.Pipe()
	go func() {
		for range 16 {
			pw.Write([]byte("x"))
			time.Sleep(limit / 4) // the client's pace, not a synchronisation
		}
		pw.Close()
	}()
	res = within(t, callAsync(l, Call{Verb: "drain", Body: pr, Size: -1}), 10*time.Second, "a trickled body")
	if res.err != nil || res.r.Status.Code != protocol.CodeOK {
		t.Fatalf("a call whose body kept arriving was stopped: %+v, %v", res.r.Status, res.err)
	}
	stalled, stall := io.Pipe()
	defer stall.Close()
	res = within(t, callAsync(l, Call{Verb: "drain", Body: stalled, Size: -1}), 10*time.Second, "a stalled body")
	if res.err != nil || res.r.Status.Code != sdk.CodeTimeout {
		t.Fatalf("a call whose body stalled: %+v, %v; want status timeout", res.r.Status, res.err)
	}
}

// blockedOut is an Output whose client reads nothing until released.
type blockedOut struct {
	once    sync.Once
	writing chan struct{}
	release chan struct{}
}

func (o *blockedOut) Write(p []byte) (int, error) {
	o.once.Do(func() { close(o.writing) })
	<-o.release
	return len(p), nil
}

func (o *blockedOut) SendFile(f *os.File, off, n int64) (int64, error) {
	return io.Copy(o, io.NewSectionReader(f, off, n))
}

// Output that waits on the front's client is the client's pace (the
// front's timeouts cover it), not a stuck command: not cancelled.
func TestLocalCallBlockedOutputIsNotStuck(t *testing.T) {
	const limit = 150 * time.Millisecond
	s := localServerCmds(t, nil, func(s *Server) { s.RequestTimeout = limit }, watchCmds(nil, nil))
	l := localLogin(t, s, "127.0.0.1", "anonymous", "")
	out := &blockedOut{writing: make(chan struct{}), release: make(chan struct{})}
	ch := callAsync(l, Call{Verb: "upper", Args: []string{"hi"}, Out: out})
	select {
	case <-out.writing:
	case r := <-ch:
		t.Fatalf("the call ended before its output: %+v %v", r.r.Status, r.err)
	}
	select {
	case r := <-ch:
		t.Fatalf("the call ended while its output waited on the client: %+v %v", r.r.Status, r.err)
	case <-time.After(4 * limit): // an assertion window: nothing may happen in it
	}
	close(out.release)
	if res := within(t, ch, 10*time.Second, "released output"); res.err != nil || res.r.Status.Code != protocol.CodeOK {
		t.Fatalf("after the output was taken: %+v, %v", res.r.Status, res.err)
	}
}

// Shutdown waits for running Local calls as for native requests, refuses
// new ones, and returns once they finished.
func TestShutdownWaitsForLocalCalls(t *testing.T) {
	started, release := make(chan struct{}, 1), make(chan struct{})
	s := localServerCmds(t, nil, nil, watchCmds(started, release))
	l := localLogin(t, s, "127.0.0.1", "anonymous", "")
	ch := callAsync(l, Call{Verb: "hold"})
	<-started
	down := make(chan error, 1)
	go func() {
		ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
		defer cancel()
		down <- s.Shutdown(ctx)
	}()
	waitFor(t, "Shutdown to begin", s.closing.Load)
	if _, err := l.Call(context.Background(), Call{Verb: "upper", Args: []string{"x"}}); !errors.Is(err, ErrServerClosed) {
		t.Fatalf("a call during Shutdown: %v, want ErrServerClosed", err)
	}
	select {
	case err := <-down:
		t.Fatalf("Shutdown returned (%v) while a Local call ran", err)
	case <-time.After(300 * time.Millisecond): // an assertion window
	}
	close(release)
	res := within(t, ch, 10*time.Second, "the released call")
	if res.err != nil || res.r.Status.Code != protocol.CodeOK {
		t.Fatalf("the call Shutdown waited for: %+v, %v", res.r.Status, res.err)
	}
	select {
	case err := <-down:
		if err != nil {
			t.Fatalf("Shutdown: %v", err)
		}
	case <-time.After(10 * time.Second):
		t.Fatal("Shutdown did not return after the last Local call")
	}
}

// A Shutdown whose ctx ends cancels the Local calls still running: they
// return ErrServerClosed rather than running on after the server stopped.
func TestShutdownDeadlineCancelsLocalCalls(t *testing.T) {
	started, release := make(chan struct{}, 1), make(chan struct{})
	defer close(release)
	s := localServerCmds(t, nil, nil, watchCmds(started, release))
	l := localLogin(t, s, "127.0.0.1", "anonymous", "")
	ch := callAsync(l, Call{Verb: "hold"})
	<-started
	ctx, cancel := context.WithTimeout(context.Background(), 100*time.Millisecond)
	defer cancel()
	if err := s.Shutdown(ctx); !errors.Is(err, context.DeadlineExceeded) {
		t.Fatalf("Shutdown with a call held past its deadline: %v", err)
	}
	res := within(t, ch, 10*time.Second, "a call past Shutdown's deadline")
	if !errors.Is(res.err, ErrServerClosed) {
		t.Fatalf("a call cancelled by Shutdown: %+v, %v; want ErrServerClosed", res.r.Status, res.err)
	}
}
