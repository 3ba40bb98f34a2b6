package host

import (
	"context"
	"time"

	"github.com/selectftp/selectftp/internal/checksum"
	"github.com/selectftp/selectftp/protocol"
	"github.com/selectftp/selectftp/sdk"
)

// result is what a command's goroutine posts back to the loop when the
// command returns.
type result struct {
	err     error // the command's
	metaErr error // metadata that could not be sent ahead of an OK status
	ctxDone bool  // the request's context was cancelled
	took    time.Duration
	size    int64  // the response body's length
	digest  string // and digest, for an ok status
	dir     string // the session's new current folder, if the command set one
	// fallback is the verb that answered for an unknown one ("" when the
	// request's own command ran); every Status of the request carries it.
	fallback string
	// args are the request's, as the client sent them (the audit log's).
	args []string
}

// start starts a request's command on its own goroutine (step said
// actStart). The loop keeps the body buffer's writing end and the cancel
// function; the goroutine gets the rest.
func (ss *session) start(q protocol.Request) {
	ctx, cancel := context.WithCancel(context.Background())
	ctx = sdk.WithProgress(ctx, ss.markProgress)
	alg, _ := ss.srv.algorithm(q) // checked by frameEvent
	ss.seq++
	seq := ss.seq
	var ask func()
	if q.Expect {
		ask = func() { ss.post(func() { ss.wantBody(seq) }) }
	}
	buf := ss.srv.newBody(q.Size, ss.c.ResumeRead)
	body := newRequestBody(buf, alg, ss.markProgress, ask)
	body.lim = ss.requestLimits(ctx)
	ss.markProgress()
	ss.body, ss.verb = buf, q.Verb
	buf.declared = -1
	if q.Size != nil {
		buf.declared = *q.Size
	}
	ss.mu.Lock()
	ss.cancel = cancel
	ss.mu.Unlock()
	req := &sdk.Request{
		Verb: q.Verb, Args: q.Args, Params: q.Params, Body: body,
		BodySize: buf.declared, Checksum: alg.String(), Dir: ss.dir(),
		Root: ss.root(), Host: hostView{&ss.srv.reg}, Log: ss.logger(),
		SessionID: ss.id(), RemoteAddr: ss.c.RemoteAddr().String(), User: ss.sdkUser(),
	}
	ctx = withAccount(ctx, ss.account()) // dispatch checks the verb's access against it
	ss.srv.workers.Go(func() { ss.run(ctx, seq, req, buf, alg) })
}

// newBody makes a request's body buffer. A large upload's (declared over
// bigBodyAbove, or a stream) grows deep when its first bytes come, while
// few hold a deep one (see bigBodyBuffer); finish gives it back.
func (s *Server) newBody(declared *int64, onRoom func()) *bodyBuf {
	b := newBodyBuf(bodyBufferSize, onRoom)
	if declared == nil || *declared > bigBodyAbove {
		b.deepen = func() bool {
			if s.bigBodies.Add(1) <= maxBigBodies {
				b.onFinish = func() { s.bigBodies.Add(-1) }
				return true
			}
			s.bigBodies.Add(-1)
			return false
		}
	}
	return b
}

// wantBody runs on the loop when request seq's command first asks for its
// body: a client that held it back is told to send it.
func (ss *session) wantBody(seq uint64) {
	if ss.seq == seq {
		ss.apply(sessEvent{kind: evContinue})
	}
}

// run is the request's goroutine. It sends the command's output (through
// the response writer) and posts the result; the loop then moves the state
// on and queues the Status in one step, so nothing (shutdown, the idle
// timer, the client's next request) can come between the two.
func (ss *session) run(ctx context.Context, seq uint64, req *sdk.Request, buf *bodyBuf, alg checksum.Algorithm) {
	start, verb, args := time.Now(), req.Verb, req.Args // dispatch may rewrite the verb and args (fallback)
	w := newResponseWriter(ss.c, alg)
	lim := limitsOf(req)
	w.pace = lim.pacer()
	fallback, err := ss.srv.dispatch(ctx, req, w)
	buf.finish()
	lim.settle(w)
	r := result{err: err, ctxDone: ctx.Err() != nil, fallback: fallback, args: args}
	r.metaErr = w.settle(err == nil)
	r.size, r.digest = w.digest()
	r.dir = w.newDir()
	r.took = time.Since(start)
	ss.post(func() { ss.done(seq, verb, r) })
}

// done runs on the loop when request seq's command has returned.
func (ss *session) done(seq uint64, verb string, r result) {
	st := ss.statusOf(seq, verb, r)
	if st.Code == protocol.CodeOK && r.dir != "" {
		if ss.extra == nil {
			ss.extra = &sessionExtra{}
		}
		ss.extra.dir = r.dir
	}
	ss.touch()
	ss.auditRequest(verb, st, r)
	ss.apply(sessEvent{kind: evDone, status: st})
	log := ss.srv.logger()
	if st.Code == sdk.CodeInternal || st.Code == sdk.CodeUnavailable {
		go log.Error("request failed", "session", ss.id(), "verb", verb, "code", st.Code, "error", st.Message)
	} else if log.IsDebug() {
		go log.Debug("request", "session", ss.id(), "verb", verb, "code", st.Code, "took", r.took)
	}
}

// statusOf is the Status that answers a finished request.
func (ss *session) statusOf(seq uint64, verb string, r result) protocol.Status {
	st := ss.statusOfCommand(seq, verb, r)
	st.Fallback = r.fallback
	return st
}

// statusOfCommand is statusOf without the fallback's name.
func (ss *session) statusOfCommand(seq uint64, verb string, r result) protocol.Status {
	err := r.err
	if err != nil && ss.timedOut == seq {
		// What broke is the cancellation; say why it came.
		err = sdk.Errorf(sdk.CodeTimeout, "%s made no progress for %v and was stopped", verb, ss.srv.requestTimeout(verb))
	}
	if err != nil {
		if r.ctxDone && sdk.CodeOf(err) != sdk.CodeUnavailable && sdk.CodeOf(err) != sdk.CodeTimeout {
			err = context.Canceled // the client went away; say so, not what broke
		}
		return protocol.Status{Code: sdk.CodeOf(err), Message: sdk.MessageOf(err)}
	}
	if r.metaErr != nil {
		return protocol.Status{Code: sdk.CodeOf(r.metaErr), Message: sdk.MessageOf(r.metaErr)}
	}
	return protocol.Status{Code: protocol.CodeOK, Size: &r.size, Digest: r.digest}
}
