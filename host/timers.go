package host

import (
	"fmt"
	"strings"
	"time"

	"github.com/selectftp/selectftp/protocol"
	"github.com/selectftp/selectftp/sdk"
)

// cancelGrace is how long a command whose request deadline passed may take
// to notice its cancelled context before the host answers for it and closes
// the connection (the command's late output has nowhere to go then). A
// shorter request timeout shortens it too.
const cancelGrace = 5 * time.Second

// timerState is the timers' bookkeeping for one session. The session's loop
// owns it, as it owns the session.
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
	return s.defaultRequestTimeout()
}

// check enforces the session's timers; the sweeper posts it to the
// session's loop. Each rule closes a door a slow or silent client could
// otherwise hold open forever:
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
	n, last := ss.c.Pending()
	ph := ss.st.phase
	// An idle connection with nothing queued keeps no timer state: with
	// 10,000 idle clients every byte of a session shows.
	t := ss.timers
	if n == 0 && (ph == phaseIdle || ph == phaseHello) {
		ss.timers, t = nil, nil
	} else if t == nil {
		t = new(timerState)
		ss.timers = t
	}
	if t != nil {
		if why := t.writeCheck(now, n, last, ss.c.Sent(), s.writeTimeout(), s.minWriteRate()); why != "" {
			go s.logger().Warn(why, "session", ss.id(), "queued", n, "window", s.writeTimeout())
			ss.c.Close()
			return
		}
	}
	if ss.frameStart != 0 && now.Sub(time.Unix(0, ss.frameStart)) > s.frameTimeout() {
		ss.timeout(fmt.Sprintf("frame not completed within %v", s.frameTimeout()))
		return
	}
	if ph == phaseHello && now.Sub(time.Unix(0, ss.opened)) > s.helloTimeout() {
		ss.timeout(fmt.Sprintf("no hello within %v", s.helloTimeout()))
		return
	}
	// The login is part of the handshake: a client that starts it and
	// stops holds a connection no longer than one that never says hello.
	if ss.st.loggingIn() && now.Sub(time.Unix(0, ss.opened)) > s.helloTimeout() {
		ss.timeout(fmt.Sprintf("no login within %v", s.helloTimeout()))
		return
	}
	if t != nil {
		inBody := ph == phaseBody || ph == phaseDraining
		stalled := ss.body != nil && ss.body.stalled()
		if t.uploadTooSlow(now, inBody && !stalled, ss.bodyIn, s.minBodyRate(), s.frameTimeout()) {
			ss.timeout(fmt.Sprintf("upload slower than %d bytes/s over %v", s.minBodyRate(), s.frameTimeout()))
			return
		}
		if !ss.st.running() {
			t.cancelledAt = time.Time{}
		} else if ss.requestStuck(now, n) {
			ss.timeout(fmt.Sprintf("%s made no progress for %v and did not stop", ss.verb, s.requestTimeout(ss.verb)))
			return
		}
	}
	if (ph == phaseIdle || ph == phaseBody || ph == phaseDraining) && now.Sub(time.Unix(0, ss.lastActive)) > s.idleTimeout() {
		ss.timeout(fmt.Sprintf("no traffic for %v", s.idleTimeout()))
	}
}

// checkNow is check at the time it runs on the loop.
func (ss *session) checkNow() { ss.check(time.Now()) }

func (ss *session) timeout(msg string) {
	ss.apply(sessEvent{kind: evFail, status: protocol.Status{Code: sdk.CodeTimeout, Message: msg}})
}

// writeCheck applies the write stall and write rate rules to a connection
// with n bytes queued, last accepted at last, sent in all. It returns why
// to close, or "".
func (t *timerState) writeCheck(now time.Time, n int, last time.Time, sent uint64, window time.Duration, minRate int) string {
	if n > 0 && now.Sub(last) > window {
		return "closing stalled connection"
	}
	switch {
	case n == 0:
		t.wStart = time.Time{}
	case t.wStart.IsZero():
		t.wStart, t.wSent = now, sent
	case now.Sub(t.wStart) >= window:
		if minRate > 0 && float64(sent-t.wSent) < float64(minRate)*window.Seconds() {
			return "closing connection that reads too slowly"
		}
		t.wStart, t.wSent = now, sent
	}
	return ""
}

// uploadTooSlow applies the minimum upload rate: counting says a body is
// arriving that the server is not making wait, in is the body bytes
// received so far.
func (t *timerState) uploadTooSlow(now time.Time, counting bool, in int64, minRate int, window time.Duration) bool {
	if !counting || minRate <= 0 {
		// No body, or one the server is making wait: start afresh.
		t.bStart = time.Time{}
		return false
	}
	if t.bStart.IsZero() {
		t.bStart, t.bIn = now, in
		return false
	}
	if now.Sub(t.bStart) < window {
		return false
	}
	if float64(in-t.bIn) < float64(minRate)*window.Seconds() {
		return true
	}
	t.bStart, t.bIn = now, in
	return false
}

// requestStuck applies the request deadline. It cancels a request that has
// moved no byte for its timeout, and reports true once the command has
// ignored that for cancelGrace.
func (ss *session) requestStuck(now time.Time, pending int) bool {
	t := ss.timers // check made it
	if ss.seq != t.request {
		t.request, t.cancelledAt = ss.seq, time.Time{}
	}
	// Output waiting on the client is the client's business (the write
	// rules cover it): the command is not stuck while it waits.
	if sent := ss.c.Sent(); pending > 0 || sent != t.lastSent {
		t.lastSent = sent
		ss.markProgress()
	}
	limit := ss.srv.requestTimeout(ss.verb)
	if !t.cancelledAt.IsZero() {
		return now.Sub(t.cancelledAt) > min(cancelGrace, limit)
	}
	if limit <= 0 || now.Sub(time.Unix(0, ss.progress.Load())) <= limit {
		return false
	}
	t.cancelledAt = now
	ss.timedOut = ss.seq
	go ss.srv.logger().Warn("cancelling a request that made no progress", "session", ss.id(), "verb", ss.verb, "timeout", limit)
	ss.mu.Lock()
	cancel := ss.cancel
	ss.mu.Unlock()
	if cancel != nil {
		cancel()
	}
	return false
}

// sweep runs the timers until stop is closed.
func (s *Server) sweep(stop chan struct{}) {
	every := time.Second
	for _, d := range []time.Duration{s.idleTimeout(), s.frameTimeout(), s.writeTimeout(), s.helloTimeout(), s.defaultRequestTimeout()} {
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
	// A session between requests can only go idle or stall a write: it
	// needs a look a few times per those timeouts, not every tick. With
	// 10,000 idle connections this is most of the sweeper's work.
	quietEvery := max(1, int(min(s.idleTimeout(), s.writeTimeout())/4/every))
	tick := 0
	t := time.NewTicker(every)
	defer t.Stop()
	// With 10,000 idle connections this runs 10,000 checks a tick: reuse
	// the list, and post checks that capture only their session (the time
	// is read on the loop), so the sweeper makes little garbage.
	var live []*session
	for {
		select {
		case <-stop:
			return
		case <-t.C:
			tick++
			all := tick%quietEvery == 0
			s.mu.Lock()
			live = live[:0]
			for ss := range s.sessions {
				live = append(live, ss)
			}
			s.mu.Unlock()
			for i, ss := range live {
				if all || !ss.quiet.Load() {
					ss.post(ss.checkNow)
				}
				live[i] = nil
			}
		}
	}
}
