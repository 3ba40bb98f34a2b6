package host

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"sync/atomic"
	"time"
	"unicode/utf8"

	"github.com/selectftp/selectftp/internal/checksum"
	"github.com/selectftp/selectftp/protocol"
	"github.com/selectftp/selectftp/sdk"
)

// call is Call's work (local_watch.go: Call adds the lifecycle).
func (l *Local) call(ctx context.Context, c Call) (Result, error) {
	s := l.srv
	if s.closing.Load() {
		return Result{}, ErrServerClosed
	}
	q, st := s.localRequest(c)
	if st.Code != "" {
		return l.refused(c, st), nil
	}
	if st, ok := l.checkSize(c); !ok {
		return l.refused(c, st), nil
	}
	ctx, cancel := context.WithCancel(ctx)
	defer cancel()
	l.mu.Lock()
	if l.closed {
		l.mu.Unlock()
		return Result{}, ErrLocalClosed
	}
	l.cancel = cancel
	dir := l.dir
	l.mu.Unlock()
	defer func() {
		l.mu.Lock()
		l.cancel = nil
		l.mu.Unlock()
	}()
	if dir == "" {
		dir = "/"
	}

	start := time.Now()
	lc := localCallOf(ctx) // the request-timeout watchdog (local_watch.go)
	ctx = sdk.WithProgress(ctx, lc.tick)
	alg := s.minSum
	body, buf, received := l.newBody(ctx, c, alg)
	// A cancelled call (ctx, Close) ends its body, as a closed connection
	// does: a command waiting for bytes from a stalled source returns.
	stop := context.AfterFunc(ctx, func() {
		buf.end(protocol.Trailer{}, &sdk.Error{Code: sdk.CodeCanceled, Message: "the request was cancelled"})
	})
	defer stop()
	req := &sdk.Request{
		Verb: q.Verb, Args: q.Args, Params: q.Params, Body: l.directBody(ctx, c, body, received),
		BodySize: buf.declared, Checksum: alg.String(), Dir: dir,
		Root: s.root, Host: hostView{&s.reg}, Log: s.logger().With("session", l.id),
		SessionID: l.id, RemoteAddr: l.remote.String(),
	}
	if l.user != nil {
		req.Root, req.User = l.user.root, l.user.who
		req.Log = req.Log.With("user", l.user.user)
		ctx = withAccount(ctx, l.user.acct)
	}
	w := &localWriter{out: c.Out, alg: alg, pace: body.lim.pacer()}
	lc.watch(received, w)
	fallback, err := s.dispatch(ctx, req, w)
	buf.finish()
	w.end()
	meta := w.metaMap()
	if body.lim != nil {
		body.lim.settleUsage(intOf(meta[MetaUsageBytes]), intOf(meta[MetaUsageFiles]))
	}

	var st2 protocol.Status
	switch {
	case err != nil && ctx.Err() != nil && sdk.CodeOf(err) != sdk.CodeUnavailable && sdk.CodeOf(err) != sdk.CodeTimeout:
		st2 = protocol.Status{Code: sdk.CodeCanceled, Message: sdk.MessageOf(context.Canceled)}
	case err != nil:
		st2 = protocol.Status{Code: sdk.CodeOf(err), Message: sdk.MessageOf(err)}
	default:
		size := w.n
		st2 = protocol.Status{Code: protocol.CodeOK, Size: &size}
		if w.known != nil {
			st2.Digest = alg.Encode(w.known)
		}
	}
	st2.Fallback = fallback
	if st2.Code == protocol.CodeOK && w.dir != "" {
		l.mu.Lock()
		l.dir = w.dir
		l.mu.Unlock()
	}
	l.auditRequest(c, dir, st2, received.Load(), w.n, time.Since(start))
	if st2.Code == sdk.CodeInternal || st2.Code == sdk.CodeUnavailable {
		go s.logger().Error("request failed", "session", l.id, "verb", c.Verb, "code", st2.Code, "error", st2.Message)
	}
	r := Result{Meta: meta, Status: st2}
	if cerr := ctx.Err(); cerr != nil {
		l.mu.Lock()
		closed := l.closed
		l.mu.Unlock()
		if closed {
			return r, ErrLocalClosed
		}
		return r, cerr
	}
	return r, nil
}

// localRequest checks c as the session's frame decoder checks a Request
// frame, and returns it as a network session's command would get it:
// Params through JSON, so numbers are json.Number and a parameter a
// client could not send is refused the same.
func (s *Server) localRequest(c Call) (protocol.Request, protocol.Status) {
	bad := func(format string, a ...any) protocol.Status {
		return protocol.Status{Code: sdk.CodeBadRequest, Message: fmt.Sprintf(format, a...)}
	}
	if !utf8.ValidString(c.Verb) {
		return protocol.Request{}, bad("invalid request: the verb is not UTF-8")
	}
	for _, a := range c.Args {
		if !utf8.ValidString(a) {
			return protocol.Request{}, bad("invalid request: %q is not UTF-8", a)
		}
	}
	payload, err := json.Marshal(protocol.Request{Verb: c.Verb, Args: c.Args, Params: c.Params})
	if err != nil {
		return protocol.Request{}, bad("invalid request: %v", err)
	}
	if len(payload) > s.maxHeader() {
		return protocol.Request{}, protocol.Status{Code: sdk.CodeTooLarge,
			Message: fmt.Sprintf("the request takes %d bytes, over the %d-byte limit", len(payload), s.maxHeader())}
	}
	q, err := protocol.DecodeRequest(payload)
	if err != nil {
		return protocol.Request{}, bad("invalid request: %v", err)
	}
	return q, protocol.Status{}
}

// checkSize refuses, before its body, a call whose declared size is over
// the user's largest file or does not fit in their quota.
func (l *Local) checkSize(c Call) (protocol.Status, bool) {
	if l.user == nil || c.Body == nil || c.Size <= 0 {
		return protocol.Status{}, true
	}
	// checkDeclared reads only the session's user: the same rule, the same words.
	ss := &session{extra: &sessionExtra{user: l.user}}
	size := c.Size
	return ss.checkDeclared(protocol.Request{Size: &size})
}

// refused answers a call refused before its command ran, and audits it.
func (l *Local) refused(c Call, st protocol.Status) Result {
	l.auditRequest(c, l.Dir(), st, 0, 0, 0)
	return Result{Status: st}
}

// auditRequest audits a finished call as a network request is.
func (l *Local) auditRequest(c Call, dir string, st protocol.Status, in, out int64, took time.Duration) {
	s := l.srv
	if s.Audit == nil {
		return
	}
	e := AuditEvent{Event: AuditRequest, IP: hostOf(l.remote), Session: l.id, Verb: c.Verb,
		Args: c.Args, Dir: dir, Code: string(st.Code), BytesIn: in, BytesOut: out, Duration: took}
	if l.user != nil {
		e.User = l.user.user
	}
	s.audit(e)
}

// newBody makes the request's body: the host's own requestBody (hashing,
// quota, largest file, the fast paths into a file) over a body buffer that
// a goroutine fills from c.Body, paced to the user's upload rate. Without
// a client digest the end is not verified.
// received counts the bytes taken from c.Body, for the audit log.
func (l *Local) newBody(ctx context.Context, c Call, alg checksum.Algorithm) (*requestBody, *bodyBuf, *atomic.Int64) {
	room := make(chan struct{}, 1)
	onRoom := func() {
		select {
		case room <- struct{}{}:
		default:
		}
	}
	var declared *int64
	if c.Body == nil {
		zero := int64(0)
		declared = &zero
	} else if c.Size >= 0 {
		size := c.Size
		declared = &size
	}
	buf := l.srv.newBody(declared, onRoom)
	buf.declared = -1
	if declared != nil {
		buf.declared = *declared
	}
	// The source is read only once the command asks for its body, as a
	// network client that held its body back is told to send it: a command
	// refused first (permission, quota) never reads it, and the front can
	// answer before it opens the transfer.
	asked := make(chan struct{})
	body := newRequestBody(buf, alg, func() {}, func() { close(asked) })
	body.unverified = true
	if l.user != nil && l.user.limits != nil {
		ul := l.user.limits
		body.lim = &reqLimits{ul: ul}
		if ul.down != nil {
			// No Data frame promised the bytes: a wait cut short cuts nothing.
			body.lim.pace = &pacer{ctx: ctx, b: ul.down, abort: func() {}}
		}
	}
	received := new(atomic.Int64)
	if c.Body == nil {
		buf.end(protocol.Trailer{}, nil)
		return body, buf, received
	}
	var up *bucket
	if l.user != nil && l.user.limits != nil {
		up = l.user.limits.up
	}
	go func() {
		select {
		case <-asked:
			pumpBody(ctx, c.Body, buf, room, up, received)
		case <-ctx.Done(): // the command ended without asking
		}
	}()
	return body, buf, received
}

// pumpBody reads src into buf as the event loop reads a socket: no more
// than the buffer has room for (it waits for the command to free half),
// paced to up, the declared size enforced. It stops when the body ends,
// fails, or the request finished (the buffer discards).
func pumpBody(ctx context.Context, src io.Reader, buf *bodyBuf, room <-chan struct{}, up *bucket, count *atomic.Int64) {
	var received int64
	for {
		free := buf.room()
		if free == 0 {
			select {
			case <-room:
				continue
			case <-ctx.Done():
				buf.end(protocol.Trailer{}, &sdk.Error{Code: sdk.CodeCanceled, Message: "the request was cancelled"})
				return
			}
		}
		want := min(free, 256<<10)
		if up != nil {
			want = min(want, up.chunk())
		}
		p := buf.free(want)
		if p == nil {
			return // the request finished: read no more of src
		}
		n, err := src.Read(p)
		if buf.declared >= 0 && received+int64(n) > buf.declared {
			buf.commit(0)
			buf.end(protocol.Trailer{}, sdk.Errorf(sdk.CodeChecksum,
				"the body is longer than the %d bytes its request declared", buf.declared))
			return
		}
		buf.commit(n)
		received += int64(n)
		count.Store(received)
		if up != nil && n > 0 {
			if up.wait(ctx, n) != nil {
				buf.end(protocol.Trailer{}, &sdk.Error{Code: sdk.CodeCanceled, Message: "the request was cancelled"})
				return
			}
		}
		switch {
		case err == io.EOF && buf.declared >= 0 && received < buf.declared:
			buf.end(protocol.Trailer{}, sdk.Errorf(sdk.CodeChecksum,
				"the body ended after %d bytes, short of the %d its request declared", received, buf.declared))
			return
		case err == io.EOF:
			buf.end(protocol.Trailer{}, nil)
			return
		case err != nil:
			buf.end(protocol.Trailer{}, &sdk.Error{Code: sdk.CodeCanceled,
				Message: "the upload was aborted: " + err.Error()})
			return
		}
	}
}

// intOf reads an integer metadata value: an int in process, a float64 or
// json.Number from a plugin; anything else is 0.
func intOf(v any) int64 {
	switch v := v.(type) {
	case int:
		return int64(v)
	case int64:
		return v
	case float64:
		return int64(v)
	case json.Number:
		n, _ := v.Int64()
		return n
	}
	return 0
}
