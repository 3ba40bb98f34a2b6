package host

import (
	"context"
	"errors"
	"fmt"
	"net"
	"net/netip"
	"slices"
	"strconv"
	"sync"
	"sync/atomic"
	"time"

	"github.com/hashicorp/go-hclog"

	"github.com/selectftp/selectftp/host/internal/netpoll"
	"github.com/selectftp/selectftp/protocol"
	"github.com/selectftp/selectftp/sdk"
)

// bodyBuffer bounds each upload's buffer between the loop and the command:
// deep enough that the loop and the command work on it at the same time
// (256 KiB made them take turns), small enough to bound a stalled upload.
const bodyBuffer = 1 << 20

type sessionState int

const (
	stateHello    sessionState = iota // waiting for the client's Hello
	stateIdle                         // between requests
	stateBody                         // a request runs and its body streams in
	stateRunning                      // a request runs, its body has ended
	stateDraining                     // the response is done, the body is not: discard to End
	stateClosed                       // a final status was queued or the conn closed
)

// handler adapts the Server to netpoll's callbacks. They run on the event
// loop, so nothing here blocks: requests run on their own goroutines.
type handler struct{ s *Server }

func (h *handler) OnOpen(c netpoll.Conn) {
	ss := &session{srv: h.s, c: c, id: "c" + strconv.FormatUint(h.s.nextID.Add(1), 10), opened: time.Now()}
	ss.parser.MaxControl = h.s.MaxHeader
	ss.ip = peerIP(c.RemoteAddr())
	ss.touch()
	c.SetContext(ss)
	if code, msg, ok := h.s.addSession(ss); !ok {
		ss.fail(code, msg)
		return
	}
	ss.tracked = true
}

func (h *handler) OnData(c netpoll.Conn, in []byte) int {
	ss, _ := c.Context().(*session)
	if ss == nil {
		return len(in)
	}
	return ss.onData(in)
}

func (h *handler) OnClose(c netpoll.Conn, err error) {
	ss, _ := c.Context().(*session)
	if ss == nil {
		return
	}
	ss.onClose(err)
}

// peerIP is the key of the per-IP limit: the address without the port,
// IPv4-mapped IPv6 folded to IPv4, and IPv6 by its /64, since one host
// commonly holds a whole /64 and could otherwise take every slot.
func peerIP(a net.Addr) string {
	ap, err := netip.ParseAddrPort(a.String())
	if err != nil {
		return a.String()
	}
	ip := ap.Addr().Unmap().WithZone("")
	if ip.Is6() {
		if p, err := ip.Prefix(64); err == nil {
			return p.String()
		}
	}
	return ip.String()
}

// session is one client connection.
type session struct {
	srv     *Server
	c       netpoll.Conn
	id      string
	opened  time.Time
	tracked bool   // counted in srv.sessions
	ip      string // the peer's address, the per-IP limit's key

	// Loop-only state.
	parser protocol.Parser
	log    hclog.Logger // see logger

	// Shared with the request goroutine and the timers.
	mu         sync.Mutex
	state      sessionState
	body       *bodyPipe
	cancel     context.CancelFunc
	stopping   bool   // shut down once the current request ends
	finishing  bool   // a request's status is being queued
	verb       string // the running request's verb, for its timeout
	lastActive atomic.Int64
	frameStart atomic.Int64  // when the pending partial frame began; 0: none
	bodyIn     atomic.Int64  // body bytes received, for the minimum rate
	progress   atomic.Int64  // last time the running request moved a byte
	seq        uint64        // numbers requests, so the timers tell one from the next
	timedOut   atomic.Uint64 // seq of the request the deadline cancelled

	timers timerState // the sweeper's own bookkeeping
}

// logger is the session's logger, made on first use: most connections
// never need one, and making it per request showed in profiles.
func (ss *session) logger() hclog.Logger {
	if ss.log == nil {
		ss.log = ss.srv.logger().With("session", ss.id)
	}
	return ss.log
}

func (ss *session) touch() { ss.lastActive.Store(time.Now().UnixNano()) }

// markProgress records that the running request moved a byte: the request
// deadline measures time without progress, not time since the start.
func (ss *session) markProgress() { ss.progress.Store(time.Now().UnixNano()) }

// fail queues a final status and closes the connection after it is sent.
func (ss *session) fail(code protocol.Code, msg string) {
	ss.mu.Lock()
	if ss.state == stateClosed {
		ss.mu.Unlock()
		return
	}
	ss.state = stateClosed
	cancel, body := ss.cancel, ss.body
	ss.mu.Unlock()
	// The final status goes out before the running command hears of the
	// cancellation, so its own answer ("canceled") cannot overtake it:
	// after CloseWrite its writes fail.
	if frame, err := protocol.Marshal(protocol.TypeStatus, protocol.Status{Code: code, Message: msg}); err == nil {
		ss.c.Enqueue(frame)
	}
	ss.c.CloseWrite()
	if cancel != nil {
		cancel()
	}
	if body != nil {
		body.end(&sdk.Error{Code: sdk.CodeCanceled, Message: msg})
	}
}

func (ss *session) onData(in []byte) int {
	ss.touch()
	n := ss.consume(in)
	// The half-sent-frame timer runs while a header or control frame is
	// incomplete, however consume stopped.
	if ss.parser.Pending() && !ss.parser.InData() {
		ss.frameStart.CompareAndSwap(0, time.Now().UnixNano())
	} else {
		ss.frameStart.Store(0)
	}
	return n
}

// consume parses what in holds, as far as the body buffer and the output
// bound allow, and returns how much it used.
func (ss *session) consume(in []byte) int {
	consumed := 0
	for consumed < len(in) {
		ss.mu.Lock()
		state, body := ss.state, ss.body
		ss.mu.Unlock()
		if state == stateClosed {
			return len(in)
		}
		// Hand out no more body bytes than the buffer takes; headers and
		// End frames still get through.
		limit := len(in) - consumed
		if state == stateBody {
			limit = min(limit, body.room())
			if limit == 0 && ss.parser.InData() {
				return consumed // paused until the command reads
			}
		}
		// A client that sends requests and never reads the answers must
		// not make us hold answers without bound: stop here, and the
		// connection hands back the rest once its output drains.
		if (state == stateIdle || state == stateHello) && ss.c.OutputFull() {
			return consumed
		}
		ev, n, err := ss.parser.NextLimit(in[consumed:], limit)
		consumed += n
		if err != nil {
			code := protocol.CodeProtocol
			if errors.Is(err, protocol.ErrTooLarge) {
				code = sdk.CodeTooLarge
			}
			ss.fail(code, err.Error())
			return len(in)
		}
		if ev.Kind != protocol.EventNone {
			ss.event(ev, state, body)
		} else if n == 0 {
			break
		}
	}
	return consumed
}

func (ss *session) event(ev protocol.Event, state sessionState, body *bodyPipe) {
	switch ev.Kind {
	case protocol.EventData:
		switch state {
		case stateBody:
			ss.bodyIn.Add(int64(len(ev.Payload)))
			body.write(ev.Payload)
		case stateDraining:
			ss.bodyIn.Add(int64(len(ev.Payload)))
		default:
			ss.fail(protocol.CodeProtocol, "data frame outside a request body")
		}
	case protocol.EventEnd:
		ss.end()
	case protocol.EventControl:
		switch {
		case state == stateHello && ev.Type == protocol.TypeHello:
			ss.hello(ev.Payload)
		case state == stateHello:
			ss.fail(protocol.CodeProtocol, fmt.Sprintf("expected a hello frame, got %v", ev.Type))
		case state == stateIdle && ev.Type == protocol.TypeRequest:
			ss.request(ev.Payload)
		case ev.Type == protocol.TypeRequest:
			ss.fail(protocol.CodeProtocol, "a request arrived while another was running")
		default:
			ss.fail(protocol.CodeProtocol, fmt.Sprintf("unexpected %v frame from a client", ev.Type))
		}
	}
}

func (ss *session) setState(from, to sessionState) {
	ss.mu.Lock()
	if ss.state == from {
		ss.state = to
	}
	ss.mu.Unlock()
}

// end handles an End frame. It reads the state afresh: the request may have
// finished since this batch of input began.
func (ss *session) end() {
	ss.mu.Lock()
	switch ss.state {
	case stateBody:
		ss.state = stateRunning
		body := ss.body
		ss.mu.Unlock()
		body.end(nil)
	case stateDraining:
		ss.state = stateIdle
		stopping := ss.stopping && !ss.finishing // else run() closes it
		ss.mu.Unlock()
		if stopping {
			ss.fail(protocol.CodeShuttingDown, "the server is shutting down")
		}
	default:
		ss.mu.Unlock()
		ss.fail(protocol.CodeProtocol, "end frame outside a request body")
	}
}

func (ss *session) hello(payload []byte) {
	var h protocol.Hello
	if err := protocol.Unmarshal(protocol.TypeHello, payload, &h); err != nil {
		ss.fail(sdk.CodeBadRequest, err.Error())
		return
	}
	if h.Protocol != protocol.ProtocolName {
		ss.fail(protocol.CodeProtocol, fmt.Sprintf("unknown protocol %q, want %q", h.Protocol, protocol.ProtocolName))
		return
	}
	if !slices.Contains(h.Versions, protocol.Version) {
		ss.fail(protocol.CodeUnsupportedVersion, fmt.Sprintf("client speaks versions %v; this server speaks %d", h.Versions, protocol.Version))
		return
	}
	frame, err := protocol.Marshal(protocol.TypeHello, protocol.Hello{
		Protocol: protocol.ProtocolName, Version: protocol.Version, Server: "selectftpd/" + Version})
	if err != nil {
		ss.fail(sdk.CodeInternal, err.Error())
		return
	}
	ss.setState(stateHello, stateIdle)
	ss.c.Enqueue(frame)
}

// request starts a command on its own goroutine.
func (ss *session) request(payload []byte) {
	q, err := protocol.DecodeRequest(payload)
	if err != nil {
		// The body still follows: answer now and drop it up to End.
		ss.setState(stateIdle, stateDraining)
		ss.status(protocol.Status{Code: sdk.CodeBadRequest, Message: "invalid request: " + err.Error()})
		return
	}
	ctx, cancel := context.WithCancel(context.Background())
	ctx = sdk.WithProgress(ctx, ss.markProgress)
	body := newBodyPipe(bodyBuffer, ss.c.ResumeRead)
	body.progress = ss.markProgress
	ss.markProgress()
	ss.mu.Lock()
	ss.seq++
	seq := ss.seq
	ss.state, ss.body, ss.cancel, ss.verb = stateBody, body, cancel, q.Verb
	ss.mu.Unlock()
	req := &sdk.Request{
		Verb: q.Verb, Args: q.Args, Params: q.Params, Body: body,
		Root: ss.srv.root, Host: hostView{&ss.srv.reg}, Log: ss.logger(),
		SessionID: ss.id, RemoteAddr: ss.c.RemoteAddr().String(),
	}
	ss.srv.workers.Go(func() { ss.run(ctx, seq, req, body) })
}

func (ss *session) status(st protocol.Status) {
	if frame, err := protocol.Marshal(protocol.TypeStatus, st); err == nil {
		ss.c.Enqueue(frame)
	}
}

func (ss *session) run(ctx context.Context, seq uint64, req *sdk.Request, body *bodyPipe) {
	start := time.Now()
	verb := req.Verb
	w := &responseWriter{c: ss.c}
	err := ss.srv.dispatch(ctx, req, w)
	body.finish()
	st := protocol.Status{Code: protocol.CodeOK}
	if err != nil && ss.timedOut.Load() == seq {
		// What broke is the cancellation; say why it came.
		err = sdk.Errorf(sdk.CodeTimeout, "%s made no progress for %v and was stopped", verb, ss.srv.requestTimeout(verb))
	}
	if err != nil {
		if ctx.Err() != nil && sdk.CodeOf(err) != sdk.CodeUnavailable && sdk.CodeOf(err) != sdk.CodeTimeout {
			err = context.Canceled // the client went away; say so, not what broke
		}
		st = protocol.Status{Code: sdk.CodeOf(err), Message: sdk.MessageOf(err)}
	}
	// The state moves on before the status is queued: the client may send
	// its next request the moment it reads the status. Until the status is
	// queued, finishing keeps shutdown and the idle timer from speaking
	// first.
	ss.mu.Lock()
	ss.cancel()
	ss.cancel, ss.body = nil, nil
	switch ss.state {
	case stateBody:
		ss.state = stateDraining // closes on End if stopping
	case stateRunning:
		ss.state = stateIdle
	}
	ss.finishing = true
	ss.mu.Unlock()
	ss.touch()
	w.finish(st)
	ss.mu.Lock()
	ss.finishing = false
	stopping := ss.stopping && ss.state == stateIdle
	ss.mu.Unlock()
	log := ss.srv.logger()
	if st.Code == sdk.CodeInternal || st.Code == sdk.CodeUnavailable {
		log.Error("request failed", "session", ss.id, "verb", verb, "code", st.Code, "error", err)
	} else if log.IsDebug() {
		log.Debug("request", "session", ss.id, "verb", verb, "code", st.Code, "took", time.Since(start))
	}
	if stopping {
		ss.fail(protocol.CodeShuttingDown, "the server is shutting down")
	}
}

// shutdown closes an idle session now and a busy one when its request ends.
func (ss *session) shutdown() {
	ss.mu.Lock()
	ss.stopping = true
	idle := (ss.state == stateIdle || ss.state == stateHello) && !ss.finishing
	ss.mu.Unlock()
	if idle {
		ss.fail(protocol.CodeShuttingDown, "the server is shutting down")
	}
}

func (ss *session) onClose(err error) {
	ss.mu.Lock()
	ss.state = stateClosed
	cancel, body := ss.cancel, ss.body
	ss.mu.Unlock()
	if cancel != nil {
		cancel() // the client went away: the command's context says so
	}
	if body != nil {
		body.end(&sdk.Error{Code: sdk.CodeCanceled, Message: "the client closed the connection"})
	}
	if ss.tracked {
		ss.srv.dropSession(ss)
	}
}
