package host

import (
	"fmt"
	"strings"
	"time"

	"github.com/selectftp/selectftp/sdk"
)

// cancelGrace is how long a command whose request deadline passed may take
// to notice its cancelled context before the host answers for it and closes
// the connection (the command's late output has nowhere to go then). A
// shorter request timeout shortens it too.
const cancelGrace = 5 * time.Second

// timerState is the sweeper's bookkeeping for one session. Only the sweeper
// goroutine touches it, so it needs no lock.
type timerState struct {
	// Minimum write rate: a window opens when output starts waiting.
	wStart time.Time
	wSent  uint64
	// Minimum upload rate: a window opens when a body starts arriving.
	bStart time.Time
	bIn    int64
	// Request progress seen through the connection's output.
	lastSent    uint64
	request     uint64    // which request the fields below are about
	cancelledAt time.Time // when the request deadline cancelled it
}

// requestTimeout is how long a request may go without moving a byte.
func (s *Server) requestTimeout(verb string) time.Duration {
	if d, ok := s.VerbTimeouts[strings.ToLower(verb)]; ok && d > 0 {
		return d
	}
	return s.RequestTimeout
}

// check enforces the session's timers; the sweeper calls it. Each rule
// closes a door a slow or silent client could otherwise hold open forever:
//
//   - handshake: the Hello must be complete within HelloTimeout of accept;
//   - idle: no request and no traffic for IdleTimeout;
//   - half-sent frame: a header or control frame started and not finished
//     within FrameTimeout;
//   - upload rate: a body must arrive at MinBodyRate bytes/s on average
//     over every FrameTimeout window (time the server itself made the
//     client wait does not count), so a byte a second cannot hold it open;
//   - write stall and write rate: output waiting with no byte accepted for
//     WriteTimeout, or fewer than MinWriteRate bytes/s accepted over a
//     WriteTimeout window with output waiting throughout;
//   - request deadline: a running request that moves no byte (body in or
//     taken, output queued or sent) for its RequestTimeout is cancelled;
//     if it still has not answered cancelGrace later, the host answers for
//     it and closes.
func (ss *session) check(now time.Time) {
	s := ss.srv
	t := &ss.timers
	n, last := ss.c.Pending()
	sent := ss.c.Sent()
	if n > 0 && now.Sub(last) > s.WriteTimeout {
		go s.logger().Warn("closing stalled connection", "session", ss.id, "queued", n)
		ss.c.Close()
		return
	}
	if n == 0 {
		t.wStart = time.Time{}
	} else if t.wStart.IsZero() {
		t.wStart, t.wSent = now, sent
	} else if now.Sub(t.wStart) >= s.WriteTimeout {
		if s.MinWriteRate > 0 && float64(sent-t.wSent) < float64(s.MinWriteRate)*s.WriteTimeout.Seconds() {
			go s.logger().Warn("closing connection that reads too slowly", "session", ss.id,
				"bytes", sent-t.wSent, "window", s.WriteTimeout)
			ss.c.Close()
			return
		}
		t.wStart, t.wSent = now, sent
	}
	if fs := ss.frameStart.Load(); fs != 0 && now.Sub(time.Unix(0, fs)) > s.FrameTimeout {
		ss.fail(sdk.CodeTimeout, fmt.Sprintf("frame not completed within %v", s.FrameTimeout))
		return
	}

	ss.mu.Lock()
	state, finishing, body, cancel, verb, seq := ss.state, ss.finishing, ss.body, ss.cancel, ss.verb, ss.seq
	ss.mu.Unlock()
	if state == stateHello && now.Sub(ss.opened) > s.HelloTimeout {
		ss.fail(sdk.CodeTimeout, fmt.Sprintf("no hello within %v", s.HelloTimeout))
		return
	}
	if ss.uploadTooSlow(now, state, body) {
		ss.fail(sdk.CodeTimeout, fmt.Sprintf("upload slower than %d bytes/s over %v", s.MinBodyRate, s.FrameTimeout))
		return
	}
	if finishing {
		return
	}
	running := state == stateBody || state == stateRunning
	if !running {
		t.cancelledAt = time.Time{}
	} else if ss.requestStuck(now, n, sent, seq, verb, cancel) {
		ss.fail(sdk.CodeTimeout, fmt.Sprintf("%s made no progress for %v and did not stop", verb, s.requestTimeout(verb)))
		return
	}
	quiet := now.Sub(time.Unix(0, ss.lastActive.Load()))
	if (state == stateIdle || state == stateBody || state == stateDraining) && quiet > s.IdleTimeout {
		ss.fail(sdk.CodeTimeout, fmt.Sprintf("no traffic for %v", s.IdleTimeout))
	}
}

// uploadTooSlow applies the minimum upload rate to a body in progress.
func (ss *session) uploadTooSlow(now time.Time, state sessionState, body *bodyPipe) bool {
	s, t := ss.srv, &ss.timers
	in := ss.bodyIn.Load()
	inBody := state == stateBody || state == stateDraining
	if !inBody || s.MinBodyRate <= 0 || (body != nil && body.stalled()) {
		// No body, or one the server is making wait: start afresh.
		t.bStart = time.Time{}
		return false
	}
	if t.bStart.IsZero() {
		t.bStart, t.bIn = now, in
		return false
	}
	if now.Sub(t.bStart) < s.FrameTimeout {
		return false
	}
	if float64(in-t.bIn) < float64(s.MinBodyRate)*s.FrameTimeout.Seconds() {
		return true
	}
	t.bStart, t.bIn = now, in
	return false
}

// requestStuck applies the request deadline. It cancels a request that has
// moved no byte for its timeout, and reports true once the command has
// ignored that for cancelGrace.
func (ss *session) requestStuck(now time.Time, pending int, sent, seq uint64, verb string, cancel func()) bool {
	t := &ss.timers
	if seq != t.request {
		t.request, t.cancelledAt = seq, time.Time{}
	}
	// Output waiting on the client is the client's business (the write
	// rules cover it): the command is not stuck while it waits.
	if pending > 0 || sent != t.lastSent {
		t.lastSent = sent
		ss.markProgress()
	}
	limit := ss.srv.requestTimeout(verb)
	if !t.cancelledAt.IsZero() {
		return now.Sub(t.cancelledAt) > min(cancelGrace, limit)
	}
	if limit <= 0 || now.Sub(time.Unix(0, ss.progress.Load())) <= limit {
		return false
	}
	t.cancelledAt = now
	ss.timedOut.Store(seq) // read and cancel are of the same request: one lock section
	go ss.srv.logger().Warn("cancelling a request that made no progress", "session", ss.id, "verb", verb, "timeout", limit)
	if cancel != nil {
		cancel()
	}
	return false
}

// sweep runs the timers until stop is closed.
func (s *Server) sweep(stop chan struct{}) {
	every := time.Second
	for _, d := range []time.Duration{s.IdleTimeout, s.FrameTimeout, s.WriteTimeout, s.HelloTimeout, s.RequestTimeout} {
		if d > 0 {
			every = min(every, d/4)
		}
	}
	for _, d := range s.VerbTimeouts {
		if d > 0 {
			every = min(every, d/4)
		}
	}
	every = max(10*time.Millisecond, every)
	t := time.NewTicker(every)
	defer t.Stop()
	for {
		select {
		case <-stop:
			return
		case now := <-t.C:
			s.mu.Lock()
			live := make([]*session, 0, len(s.sessions))
			for ss := range s.sessions {
				live = append(live, ss)
			}
			s.mu.Unlock()
			for _, ss := range live {
				ss.check(now)
			}
		}
	}
}
