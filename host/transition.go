package host

import (
	"fmt"

	"github.com/selectftp/selectftp/protocol"
)

// phase is where a session stands in the protocol.
type phase uint8

const (
	phaseHello    phase = iota // waiting for the client's Hello
	phaseLogin                 // a server with users waits for the client's next A frame
	phaseAuthWait              // a login step runs; the client waits for its answer
	phaseIdle                  // between requests
	phaseExpect                // a request runs; its client waits for Continue before the body
	phaseBody                  // a request runs and its body streams in
	phaseRunning               // a request runs, its body has ended
	phaseDraining              // the response is done, the body is not: discard to End
	phaseClosed                // a final status was queued, or the connection closed
)

var phaseNames = [...]string{"hello", "login", "auth-wait", "idle", "expect", "body", "running", "draining", "closed"}

func (p phase) String() string { return phaseNames[p] }

// sessState is a session's protocol state. Only the connection's event
// loop holds one, and only step changes it.
type sessState struct {
	phase    phase
	stopping bool // the server shuts down: close once the request ends
}

// loggingIn reports whether the session waits for, or runs, a login step.
func (s sessState) loggingIn() bool { return s.phase == phaseLogin || s.phase == phaseAuthWait }

// running reports whether a command is running.
func (s sessState) running() bool {
	return s.phase == phaseExpect || s.phase == phaseBody || s.phase == phaseRunning
}

// eventKind names what happened to a session.
type eventKind uint8

const (
	evHello      eventKind = iota // a Hello frame that checks out
	evBadHello                    // a Hello frame that does not; status says why
	evRequest                     // a Request frame that decodes
	evBadRequest                  // a Request frame that does not; status answers it
	evData                        // a Data frame
	evEnd                         // an End frame
	evContinue                    // the running command asked for its body
	evControl                     // any other control frame from a client (frame: its type)
	evDone                        // the running command returned; status is its answer
	evShutdown                    // the server shuts down
	evFail                        // a timer fired or the input broke the framing; status is final
	evAuth                        // an A frame: a step of a login
	evAuthDone                    // a login step ended: status (ok, or a failure) or an A frame to send (payload)
	evClosed                      // the connection closed
)

// sessEvent is one input to step.
type sessEvent struct {
	kind   eventKind
	frame  protocol.Type   // evControl
	status protocol.Status // evBadHello, evBadRequest, evDone, evFail

	expect bool // evRequest, evBadRequest: the client waits for Continue before its body
	login  bool // evHello: the server has users, so requests wait for a login

	// Carried for the actions; step does not look at them.
	req     protocol.Request // evRequest
	payload []byte           // evData: valid during the OnData call only; evEnd: the trailer; evAuth: the A frame's; evAuthDone: the A frame to send
	user    *loggedIn        // evAuthDone after a successful login
}

// action is a set of things the session must do after a step, done in the
// order listed here.
type action uint16

const (
	actSendHello  action = 1 << iota // queue the Hello reply
	actAuth                          // run a login step on the A frame's payload
	actAuthReply                     // queue the login step's A frame
	actLoggedIn                      // the login succeeded: the session takes its user's tree
	actStart                         // start the command on its own goroutine
	actContinue                      // queue Continue: the client may send the body
	actBody                          // pass the Data payload to the body buffer
	actCount                         // count the Data payload as body received, but drop it
	actEndBody                       // the body is complete
	actStatus                        // queue the request's status (the event's)
	actFinal                         // queue the final status step returned
	actCloseWrite                    // close once the queued output is sent
	actRelease                       // the request is over: release its context and body
	actAbort                         // cancel the running command and fail its body
)

var shuttingDown = protocol.Status{Code: protocol.CodeShuttingDown, Message: "the server is shutting down"}

// step is the session's whole protocol as a pure function: the state and an
// event in, the next state, what to do, and (with actFinal) the final status
// out. It touches nothing, so a table tests it without sockets.
func step(s sessState, e sessEvent) (sessState, action, protocol.Status) {
	if s.phase == phaseClosed {
		return s, 0, protocol.Status{} // nothing more is said; late input is dropped
	}
	switch e.kind {
	case evClosed:
		if s.running() {
			return sessState{phase: phaseClosed}, actAbort, protocol.Status{}
		}
		return sessState{phase: phaseClosed}, 0, protocol.Status{}
	case evFail:
		return fail(s, e.status)
	case evShutdown:
		if s.phase == phaseHello || s.phase == phaseIdle || s.loggingIn() {
			return fail(s, shuttingDown)
		}
		s.stopping = true // the running request, or its body, ends first
		return s, 0, protocol.Status{}
	case evHello, evBadHello:
		switch {
		case s.phase != phaseHello:
			return protocolError(s, "unexpected %v frame from a client", protocol.TypeHello)
		case e.kind == evBadHello:
			return fail(s, e.status)
		}
		s.phase = phaseIdle
		if e.login {
			s.phase = phaseLogin
		}
		return s, actSendHello, protocol.Status{}
	case evAuth:
		switch s.phase {
		case phaseHello:
			return protocolError(s, "expected a hello frame, got %v", protocol.TypeAuth)
		case phaseLogin:
			s.phase = phaseAuthWait
			return s, actAuth, protocol.Status{}
		case phaseAuthWait:
			return protocolError(s, "an auth frame before the server answered the last one")
		}
		return protocolError(s, "unexpected %v frame: no login is under way", protocol.TypeAuth)
	case evAuthDone:
		switch {
		case s.phase != phaseAuthWait:
			return s, 0, protocol.Status{} // not ours to answer (cannot happen: the loop orders them)
		case e.status.Code == "":
			s.phase = phaseLogin
			return s, actAuthReply, protocol.Status{}
		case e.status.Code == protocol.CodeOK:
			s.phase = phaseIdle
			return s, actLoggedIn | actStatus, protocol.Status{}
		}
		return fail(s, e.status)
	case evRequest, evBadRequest:
		switch s.phase {
		case phaseHello:
			return protocolError(s, "expected a hello frame, got %v", protocol.TypeRequest)
		case phaseLogin, phaseAuthWait:
			// No request runs, and no body is read, for a client that
			// has not logged in.
			return fail(s, unauthenticated)
		case phaseIdle:
		default:
			return protocolError(s, "a request arrived while another was running")
		}
		if e.kind == evBadRequest {
			s.phase = phaseDraining // its body still follows: drop it up to End
			if e.expect {
				s.phase = phaseIdle // refused before the body: none follows
			}
			return s, actStatus, protocol.Status{}
		}
		s.phase = phaseBody
		if e.expect {
			s.phase = phaseExpect
		}
		return s, actStart, protocol.Status{}
	case evContinue:
		if s.phase != phaseExpect {
			return s, 0, protocol.Status{} // the body was not held back, or the request ended
		}
		s.phase = phaseBody
		return s, actContinue, protocol.Status{}
	case evControl:
		if s.phase == phaseHello {
			return protocolError(s, "expected a hello frame, got %v", e.frame)
		}
		return protocolError(s, "unexpected %v frame from a client", e.frame)
	case evData:
		switch s.phase {
		case phaseBody:
			return s, actBody, protocol.Status{}
		case phaseDraining:
			return s, actCount, protocol.Status{}
		case phaseExpect:
			return protocolError(s, "a data frame before the server's continue")
		}
		return protocolError(s, "data frame outside a request body")
	case evEnd:
		switch s.phase {
		case phaseBody:
			s.phase = phaseRunning
			return s, actEndBody, protocol.Status{}
		case phaseDraining:
			if s.stopping {
				return fail(s, shuttingDown)
			}
			s.phase = phaseIdle
			return s, 0, protocol.Status{}
		case phaseExpect:
			return protocolError(s, "an end frame before the server's continue")
		}
		return protocolError(s, "end frame outside a request body")
	case evDone:
		switch s.phase {
		case phaseBody:
			// The answer goes now; the body's rest is dropped up to End,
			// and a stopping session closes there.
			s.phase = phaseDraining
			return s, actStatus | actRelease, protocol.Status{}
		case phaseRunning, phaseExpect:
			// Done before asking for a held-back body: the client sends
			// none, so the next frame is a request.
			if s.stopping {
				s.phase = phaseClosed
				return s, actStatus | actFinal | actCloseWrite | actRelease, shuttingDown
			}
			s.phase = phaseIdle
			return s, actStatus | actRelease, protocol.Status{}
		}
	}
	return s, 0, protocol.Status{} // evDone without a request: nothing to do
}

// fail closes the session with a final status, stopping a running command.
func fail(s sessState, st protocol.Status) (sessState, action, protocol.Status) {
	acts := actFinal | actCloseWrite
	if s.running() {
		acts |= actAbort
	}
	return sessState{phase: phaseClosed, stopping: s.stopping}, acts, st
}

func protocolError(s sessState, format string, args ...any) (sessState, action, protocol.Status) {
	return fail(s, protocol.Status{Code: protocol.CodeProtocol, Message: fmt.Sprintf(format, args...)})
}
