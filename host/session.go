package host

import (
	"context"
	"encoding/json"
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

// bodyBufferSize bounds each upload's buffer between the loop and the
// command: deep enough that the loop and the command work on it at the same
// time (256 KiB made them take turns), small enough to bound a stalled
// upload.
const bodyBufferSize = 1 << 20

// bigBodyBuffer is the buffer of a large upload (declared over
// bigBodyAbove, or of unknown length): four times deeper, so the loop
// rarely pauses the socket while the command writes, which made 1 GiB
// uploads 30% faster here. At most maxBigBodies uploads hold one at a time
// (256 MiB in all); the rest get the ordinary buffer.
const (
	bigBodyBuffer = 4 << 20
	bigBodyAbove  = 16 << 20
	maxBigBodies  = 64
)

// handler adapts the Server to netpoll's callbacks. They run on the event
// loop, so nothing here blocks: requests run on their own goroutines.
type handler struct{ s *Server }

func (h *handler) OnOpen(c netpoll.Conn) {
	ss := &session{srv: h.s, c: c, num: h.s.nextID.Add(1), opened: time.Now().UnixNano()}
	ss.parser.MaxControl = h.s.maxHeader()
	ss.touch()
	c.SetContext(ss)
	if code, msg, ok := h.s.addSession(ss); !ok {
		ss.apply(sessEvent{kind: evFail, status: protocol.Status{Code: code, Message: msg}})
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

// Sink offers an upload's body buffer to the next read while a request
// body's Data frame is being received: the bytes then land where the
// command reads them, without the copy out of the loop's buffer.
func (h *handler) Sink(c netpoll.Conn) []byte {
	ss, _ := c.Context().(*session)
	if ss == nil {
		return nil
	}
	return ss.sink()
}

// Filled takes the n bytes a read put into Sink's buffer.
func (h *handler) Filled(c netpoll.Conn, n int) {
	if ss, _ := c.Context().(*session); ss != nil {
		ss.filled(n)
	}
}

func (h *handler) OnClose(c netpoll.Conn, err error) {
	ss, _ := c.Context().(*session)
	if ss == nil {
		return
	}
	ss.apply(sessEvent{kind: evClosed})
	ss.releaseUser()
	if ss.tracked {
		ss.srv.dropSession(ss)
	}
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

// session is one client connection. It has one owner: the connection's
// event loop. Its callbacks and the functions other goroutines post to it
// (netpoll's Conn.Post: a command's result, the sweeper's checks, Shutdown)
// are the only code that reads or changes the fields below, so they need no
// lock, and step alone decides every change of state.
type session struct {
	srv    *Server
	c      netpoll.Conn
	num    uint64 // names the session in logs: see id
	opened int64  // unix nanoseconds (times are int64s here: 16 bytes less each, per connection)

	// Owned by the event loop.
	st         sessState
	tracked    bool // counted in srv.sessions
	parser     protocol.Parser
	log        hclog.Logger  // see logger
	body       *bodyBuf      // the running request's body
	verb       string        // the running request's verb, for its timeout
	seq        uint64        // numbers requests, so the timers tell one from the next
	timedOut   uint64        // seq of the request the deadline cancelled
	lastActive int64         // unix nanoseconds
	frameStart int64         // when the pending partial frame began; 0: none
	bodyIn     int64         // body bytes received, for the minimum rate
	timers     *timerState   // the sweeper's windows; nil while idle
	extra      *sessionExtra // what a session rarely has; nil until it does

	// quiet says the session is between requests: the sweeper checks it
	// less often (see sweep).
	quiet atomic.Bool

	// progress is the last time the running request moved a byte; the
	// command's goroutine writes it (sdk.Progress, body reads).
	progress atomic.Int64

	// mu guards cancel for readers off the loop (tests); the loop alone
	// sets it.
	mu     sync.Mutex
	cancel context.CancelFunc
}

// sessionExtra is session state most connections never set, kept apart
// so that 10,000 idle connections do not each carry it.
type sessionExtra struct {
	dir   string    // the current folder, virtual ("/": the top)
	login *login    // the login under way
	user  *loggedIn // who logged in; nil: nobody (yet)
}

// dir is the session's current folder.
func (ss *session) dir() string {
	if ss.extra == nil || ss.extra.dir == "" {
		return "/"
	}
	return ss.extra.dir
}

// id names the session in logs and to commands, made when asked: most
// connections never need it, and 10,000 idle ones would each hold it.
func (ss *session) id() string { return "c" + strconv.FormatUint(ss.num, 10) }

// logger is the session's logger, made on first use: most connections
// never need one, and making it per request showed in profiles.
func (ss *session) logger() hclog.Logger {
	if ss.log == nil {
		ss.log = ss.srv.logger().With("session", ss.id())
		if ss.extra != nil && ss.extra.user != nil {
			ss.log = ss.log.With("user", ss.extra.user.user)
		}
	}
	return ss.log
}

func (ss *session) touch() { ss.lastActive = time.Now().UnixNano() }

// markProgress records that the running request moved a byte: the request
// deadline measures time without progress, not time since the start.
func (ss *session) markProgress() { ss.progress.Store(time.Now().UnixNano()) }

// post runs fn on the session's loop; a closed connection drops it, which
// is right for every caller: OnClose has already stopped the request.
func (ss *session) post(fn func()) { ss.c.Post(fn) }

// apply runs one event through step and does what it says, in step's
// order: a final status is queued before the running command hears of the
// cancellation, so its own answer ("canceled") cannot overtake it (after
// CloseWrite its writes fail).
func (ss *session) apply(e sessEvent) {
	if e.kind == evAuthDone && e.user != nil {
		e = ss.admitLogin(e) // the user's most sessions (limits.go)
	}
	next, acts, final := step(ss.st, e)
	ss.st = next
	ss.updateQuiet()
	if acts&actSendHello != 0 {
		ss.c.Enqueue(ss.srv.hello)
	}
	if acts&actAuth != 0 {
		ss.authStep(e.payload)
	}
	if acts&actAuthReply != 0 {
		ss.c.Enqueue(e.payload)
	}
	if acts&actLoggedIn != 0 {
		x := ss.ext()
		x.login, x.user = nil, e.user
		ss.log = nil // the next logger names the user
	}
	if acts&actStart != 0 {
		ss.start(e.req)
	}
	if acts&actContinue != 0 {
		ss.c.Enqueue(continueFrame)
	}
	if acts&(actBody|actCount) != 0 {
		ss.bodyIn += int64(len(e.payload))
	}
	if acts&actBody != 0 {
		ss.takeBody(e.payload)
	}
	if acts&actEndBody != 0 {
		ss.endBody(e.payload)
	}
	if acts&actStatus != 0 {
		ss.status(e.status)
	}
	if acts&actFinal != 0 {
		ss.status(final)
		ss.guardFinal(final)
	}
	if acts&actCloseWrite != 0 {
		ss.c.CloseWrite()
	}
	if acts&(actRelease|actAbort) != 0 {
		ss.mu.Lock()
		cancel := ss.cancel
		ss.cancel = nil
		ss.mu.Unlock()
		if cancel != nil {
			cancel()
		}
		if acts&actAbort != 0 && ss.body != nil {
			msg := final.Message
			if e.kind == evClosed {
				msg = "the client closed the connection"
			}
			ss.body.end(protocol.Trailer{}, &sdk.Error{Code: sdk.CodeCanceled, Message: msg})
		}
		ss.body = nil
	}
}

// sinkMin is the smallest read worth doing straight into a body buffer:
// below it the loop's own buffer, which may also take the next frames'
// headers in the same read, is as good.
const sinkMin = 16 << 10

// sink is where the next read of a body's Data payload may go directly:
// the body buffer's free space, no more than the frame still holds (nor
// past a declared size, whose overflow takes the ordinary path).
func (ss *session) sink() []byte {
	left := ss.parser.DataLeft()
	if ss.st.phase != phaseBody || left < sinkMin || ss.body == nil {
		return nil
	}
	b := ss.body
	if b.declared >= 0 {
		left = min(left, b.declared-b.received)
	}
	if left = int64(ss.paceUp(int(min(left, int64(b.size))))); left < sinkMin {
		return nil
	}
	return b.free(int(left))
}

// filled is onData for n payload bytes read straight into the buffer sink
// gave: the same step as a Data event, without the copy.
//
// The goroutine backend reads without holding the session, so the request
// may have ended meanwhile (draining: the bytes are counted and dropped,
// and the parser still skips them, or it would lose its place in the
// stream) or the connection closed (nothing matters any more).
func (ss *session) filled(n int) {
	ss.touch()
	switch ss.st.phase {
	case phaseBody, phaseDraining:
	default:
		return
	}
	ss.parser.SkipData(n)
	ss.bodyIn += int64(n)
	ss.chargeUp(n)
	if ss.st.phase == phaseBody && ss.body != nil {
		ss.body.received += int64(n)
		ss.body.commit(n)
		ss.progress.Store(ss.lastActive)
	}
	ss.frameStart = 0
	ss.updateQuiet()
}

// continueFrame tells a client that waits (Request.Expect) to send its body.
var continueFrame = protocol.AppendHeader(nil, protocol.TypeContinue, 0)

// takeBody passes a Data payload to the running command, unless the body
// outgrows the size its request declared: the frame that crosses it is
// dropped whole, the command reads an error after the bytes before it,
// and the rest of the body is discarded.
func (ss *session) takeBody(p []byte) {
	b := ss.body
	b.received += int64(len(p))
	ss.chargeUp(len(p))
	if b.declared >= 0 && b.received > b.declared {
		if b.received-int64(len(p)) <= b.declared { // say it once
			b.end(protocol.Trailer{}, sdk.Errorf(sdk.CodeChecksum,
				"the body is longer than the %d bytes its request declared", b.declared))
		}
		return
	}
	ss.body.write(p)
	ss.progress.Store(ss.lastActive) // onData just read the clock
}

// endBody ends the running command's body with the trailer End carried,
// or with the error that the body is short or the trailer unreadable.
func (ss *session) endBody(payload []byte) {
	t, err := protocol.DecodeTrailer(payload)
	switch {
	case err != nil:
		err = sdk.Errorf(sdk.CodeBadRequest, "%v", err)
	case t.Abort == "" && ss.body.declared >= 0 && ss.body.received < ss.body.declared:
		err = sdk.Errorf(sdk.CodeChecksum, "the body ended after %d bytes, short of the %d its request declared",
			ss.body.received, ss.body.declared)
	}
	ss.body.end(t, err)
}

func (ss *session) status(st protocol.Status) {
	// Marshal cuts a status message that would not fit its frame.
	if frame, err := protocol.Marshal(protocol.TypeStatus, st); err == nil {
		ss.c.Enqueue(frame)
	}
}

func (ss *session) onData(in []byte) int {
	ss.touch()
	n := ss.consume(in)
	// The half-sent-frame timer runs while a header or control frame is
	// incomplete, however consume stopped.
	if ss.parser.Pending() && !ss.parser.InData() {
		if ss.frameStart == 0 {
			ss.frameStart = time.Now().UnixNano()
		}
	} else {
		ss.frameStart = 0
	}
	ss.updateQuiet()
	return n
}

// updateQuiet publishes, for the sweeper, whether the session is between
// requests with no frame half-sent: such a session is checked only a few
// times per idle timeout, so a half-sent header must not count as quiet or
// the frame timer would wait for those rounds.
func (ss *session) updateQuiet() {
	if q := ss.st.phase == phaseIdle && ss.frameStart == 0; ss.quiet.Load() != q {
		ss.quiet.Store(q) // written on change only: onData runs per read
	}
}

// consume parses what in holds, as far as the body buffer and the output
// bound allow, and returns how much it used.
func (ss *session) consume(in []byte) int {
	consumed := 0
	for consumed < len(in) {
		ph := ss.st.phase
		if ph == phaseClosed {
			return len(in)
		}
		// Hand out no more body bytes than the buffer takes; headers and
		// End frames still get through.
		limit := len(in) - consumed
		if ph == phaseBody {
			limit = min(limit, ss.body.room())
			if limit == 0 && ss.parser.InData() {
				return consumed // paused until the command reads
			}
			if limit = ss.paceUp(limit); limit == 0 && ss.parser.InData() {
				return consumed // paused until the user's upload rate allows
			}
		}
		// A client that sends requests and never reads the answers must
		// not make us hold answers without bound: stop here, and the
		// connection hands back the rest once its output drains.
		if (ph == phaseIdle || ph == phaseHello || ph == phaseLogin) && ss.c.OutputFull() {
			return consumed
		}
		ev, n, err := ss.parser.NextLimit(in[consumed:], limit)
		consumed += n
		if err != nil {
			code := protocol.CodeProtocol
			if errors.Is(err, protocol.ErrTooLarge) {
				code = sdk.CodeTooLarge
			}
			ss.apply(sessEvent{kind: evFail, status: protocol.Status{Code: code, Message: err.Error()}})
			return len(in)
		}
		if ev.Kind != protocol.EventNone {
			ss.apply(ss.frameEvent(ev))
		} else if n == 0 {
			break
		}
	}
	return consumed
}

// frameEvent turns a parsed frame into the session's event, checking a
// Hello and decoding a Request on the way.
func (ss *session) frameEvent(ev protocol.Event) sessEvent {
	switch ev.Kind {
	case protocol.EventData:
		return sessEvent{kind: evData, payload: ev.Payload}
	case protocol.EventEnd:
		return sessEvent{kind: evEnd, payload: ev.Payload}
	}
	switch ev.Type {
	case protocol.TypeHello:
		if st, ok := checkHello(ev.Payload); !ok {
			return sessEvent{kind: evBadHello, status: st}
		}
		return sessEvent{kind: evHello, login: ss.srv.Users != nil}
	case protocol.TypeAuth:
		return sessEvent{kind: evAuth, payload: ev.Payload}
	case protocol.TypeRequest:
		q, err := protocol.DecodeRequest(ev.Payload)
		if err != nil {
			return sessEvent{kind: evBadRequest, expect: expects(ev.Payload),
				status: protocol.Status{Code: sdk.CodeBadRequest, Message: "invalid request: " + err.Error()}}
		}
		if msg := ss.srv.checkTransfer(q); msg != "" {
			return sessEvent{kind: evBadRequest, expect: q.Expect,
				status: protocol.Status{Code: sdk.CodeBadRequest, Message: msg}}
		}
		if st, ok := ss.checkDeclared(q); !ok {
			return sessEvent{kind: evBadRequest, expect: q.Expect, status: st}
		}
		return sessEvent{kind: evRequest, req: q, expect: q.Expect}
	}
	return sessEvent{kind: evControl, frame: ev.Type}
}

// expects reads only Expect from a request that did not decode, so that a
// refused request whose client holds its body back is not waited on for
// one. A payload that is not even a JSON object says nothing: the server
// then reads to End, as for any body.
func expects(payload []byte) bool {
	var q struct {
		Expect bool `json:"expect"`
	}
	return json.Unmarshal(payload, &q) == nil && q.Expect
}

// checkHello checks a client's Hello, and says why not when it fails.
func checkHello(payload []byte) (protocol.Status, bool) {
	var h protocol.Hello
	switch err := protocol.Unmarshal(protocol.TypeHello, payload, &h); {
	case err != nil:
		return protocol.Status{Code: sdk.CodeBadRequest, Message: err.Error()}, false
	case h.Protocol != protocol.ProtocolName:
		return protocol.Status{Code: protocol.CodeProtocol, Message: fmt.Sprintf("unknown protocol %q, want %q", h.Protocol, protocol.ProtocolName)}, false
	case !slices.Contains(h.Versions, protocol.Version):
		return protocol.Status{Code: protocol.CodeUnsupportedVersion, Message: fmt.Sprintf("client speaks versions %v; this server speaks %d", h.Versions, protocol.Version)}, false
	}
	return protocol.Status{}, true
}
