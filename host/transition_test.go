package host

import (
	"testing"

	"github.com/selectftp/selectftp/protocol"
)

// TestStep drives the session's protocol from a table, without sockets.
func TestStep(t *testing.T) {
	st := func(p phase) sessState { return sessState{phase: p} }
	stopping := func(p phase) sessState { return sessState{phase: p, stopping: true} }
	boom := protocol.Status{Code: "timeout", Message: "no hello within 10s"}
	answer := protocol.Status{Code: protocol.CodeOK}
	ev := func(k eventKind) sessEvent { return sessEvent{kind: k, status: answer} }
	failWith := func(s protocol.Status) sessEvent { return sessEvent{kind: evFail, status: s} }
	expecting := func(k eventKind) sessEvent { return sessEvent{kind: k, status: answer, expect: true} }
	const final = actFinal | actCloseWrite
	tests := []struct {
		name     string
		from     sessState
		ev       sessEvent
		to       sessState
		acts     action
		code     protocol.Code // of the final status, with actFinal
		protoMsg string        // the protocol error's message, if one
	}{
		// The handshake.
		{name: "hello", from: st(phaseHello), ev: ev(evHello), to: st(phaseIdle), acts: actSendHello},
		{name: "bad hello", from: st(phaseHello), ev: sessEvent{kind: evBadHello, status: protocol.Status{Code: protocol.CodeUnsupportedVersion}},
			to: st(phaseClosed), acts: final, code: protocol.CodeUnsupportedVersion},
		{name: "request before hello", from: st(phaseHello), ev: ev(evRequest), to: st(phaseClosed), acts: final,
			code: protocol.CodeProtocol, protoMsg: "expected a hello frame, got request"},
		{name: "data before hello", from: st(phaseHello), ev: ev(evData), to: st(phaseClosed), acts: final, code: protocol.CodeProtocol},
		{name: "second hello", from: st(phaseIdle), ev: ev(evHello), to: st(phaseClosed), acts: final,
			code: protocol.CodeProtocol, protoMsg: "unexpected hello frame from a client"},
		{name: "a server frame from a client", from: st(phaseIdle), ev: sessEvent{kind: evControl, frame: protocol.TypeStatus},
			to: st(phaseClosed), acts: final, code: protocol.CodeProtocol, protoMsg: "unexpected status frame from a client"},

		// A request's life.
		{name: "request", from: st(phaseIdle), ev: ev(evRequest), to: st(phaseBody), acts: actStart},
		{name: "bad request drops its body", from: st(phaseIdle), ev: ev(evBadRequest), to: st(phaseDraining), acts: actStatus},
		{name: "body data", from: st(phaseBody), ev: ev(evData), to: st(phaseBody), acts: actBody},
		{name: "end of body", from: st(phaseBody), ev: ev(evEnd), to: st(phaseRunning), acts: actEndBody},
		{name: "done", from: st(phaseRunning), ev: ev(evDone), to: st(phaseIdle), acts: actStatus | actRelease},
		{name: "done before the body ended", from: st(phaseBody), ev: ev(evDone), to: st(phaseDraining), acts: actStatus | actRelease},
		{name: "data after the answer is dropped", from: st(phaseDraining), ev: ev(evData), to: st(phaseDraining), acts: actCount},
		{name: "end after the answer", from: st(phaseDraining), ev: ev(evEnd), to: st(phaseIdle)},
		{name: "a request while one runs", from: st(phaseRunning), ev: ev(evRequest), to: st(phaseClosed), acts: final | actAbort,
			code: protocol.CodeProtocol, protoMsg: "a request arrived while another was running"},
		{name: "a request while a body drains", from: st(phaseDraining), ev: ev(evRequest), to: st(phaseClosed), acts: final, code: protocol.CodeProtocol},
		{name: "data between requests", from: st(phaseIdle), ev: ev(evData), to: st(phaseClosed), acts: final,
			code: protocol.CodeProtocol, protoMsg: "data frame outside a request body"},
		{name: "end between requests", from: st(phaseIdle), ev: ev(evEnd), to: st(phaseClosed), acts: final,
			code: protocol.CodeProtocol, protoMsg: "end frame outside a request body"},
		{name: "end while running", from: st(phaseRunning), ev: ev(evEnd), to: st(phaseClosed), acts: final | actAbort, code: protocol.CodeProtocol},

		// Version 2: a client that holds its body back until Continue.
		{name: "request waiting for continue", from: st(phaseIdle), ev: expecting(evRequest), to: st(phaseExpect), acts: actStart},
		{name: "the command asks for the body", from: st(phaseExpect), ev: ev(evContinue), to: st(phaseBody), acts: actContinue},
		{name: "a late ask is nothing", from: st(phaseRunning), ev: ev(evContinue), to: st(phaseRunning)},
		{name: "an ask after the answer is nothing", from: st(phaseIdle), ev: ev(evContinue), to: st(phaseIdle)},
		{name: "refused before the body: no body follows", from: st(phaseExpect), ev: ev(evDone), to: st(phaseIdle), acts: actStatus | actRelease},
		{name: "bad request waiting: no body follows", from: st(phaseIdle), ev: expecting(evBadRequest), to: st(phaseIdle), acts: actStatus},
		{name: "data before continue", from: st(phaseExpect), ev: ev(evData), to: st(phaseClosed), acts: final | actAbort,
			code: protocol.CodeProtocol, protoMsg: "a data frame before the server's continue"},
		{name: "end before continue", from: st(phaseExpect), ev: ev(evEnd), to: st(phaseClosed), acts: final | actAbort,
			code: protocol.CodeProtocol, protoMsg: "an end frame before the server's continue"},
		{name: "stopping: refused before the body closes", from: stopping(phaseExpect), ev: ev(evDone), to: sessState{phase: phaseClosed, stopping: true},
			acts: actStatus | final | actRelease, code: protocol.CodeShuttingDown},
		{name: "closed while waiting", from: st(phaseExpect), ev: ev(evClosed), to: st(phaseClosed), acts: actAbort},
		{name: "shutdown while waiting", from: st(phaseExpect), ev: ev(evShutdown), to: stopping(phaseExpect)},

		// Timers and broken framing: the final status goes before the
		// command is stopped (the order of the action bits).
		{name: "timer when idle", from: st(phaseIdle), ev: failWith(boom), to: st(phaseClosed), acts: final, code: boom.Code},
		{name: "timer while running", from: st(phaseBody), ev: failWith(boom), to: st(phaseClosed), acts: final | actAbort, code: boom.Code},

		// Shutdown: idle sessions close now, busy ones when the request ends.
		{name: "shutdown idle", from: st(phaseIdle), ev: ev(evShutdown), to: st(phaseClosed), acts: final, code: protocol.CodeShuttingDown},
		{name: "shutdown before hello", from: st(phaseHello), ev: ev(evShutdown), to: st(phaseClosed), acts: final, code: protocol.CodeShuttingDown},
		{name: "shutdown running", from: st(phaseRunning), ev: ev(evShutdown), to: stopping(phaseRunning)},
		{name: "shutdown draining", from: st(phaseDraining), ev: ev(evShutdown), to: stopping(phaseDraining)},
		{name: "stopping: done closes after the answer", from: stopping(phaseRunning), ev: ev(evDone), to: sessState{phase: phaseClosed, stopping: true},
			acts: actStatus | final | actRelease, code: protocol.CodeShuttingDown},
		{name: "stopping: done mid-body waits for End", from: stopping(phaseBody), ev: ev(evDone), to: stopping(phaseDraining), acts: actStatus | actRelease},
		{name: "stopping: End after the answer closes", from: stopping(phaseDraining), ev: ev(evEnd), to: sessState{phase: phaseClosed, stopping: true},
			acts: final, code: protocol.CodeShuttingDown},

		// The connection closing, and anything after the end.
		{name: "closed while running", from: st(phaseBody), ev: ev(evClosed), to: st(phaseClosed), acts: actAbort},
		{name: "closed when idle", from: st(phaseIdle), ev: ev(evClosed), to: st(phaseClosed)},
		{name: "done after close", from: st(phaseClosed), ev: ev(evDone), to: st(phaseClosed)},
		{name: "input after close", from: st(phaseClosed), ev: ev(evRequest), to: st(phaseClosed)},
		{name: "timer after close", from: st(phaseClosed), ev: failWith(boom), to: st(phaseClosed)},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			to, acts, fin := step(tt.from, tt.ev)
			if to != tt.to || acts != tt.acts {
				t.Fatalf("step(%v, %v) = %v, %b; want %v, %b", tt.from, tt.ev.kind, to, acts, tt.to, tt.acts)
			}
			if acts&actFinal != 0 && fin.Code != tt.code {
				t.Fatalf("final status %+v, want code %s", fin, tt.code)
			}
			if tt.protoMsg != "" && fin.Message != tt.protoMsg {
				t.Fatalf("message %q, want %q", fin.Message, tt.protoMsg)
			}
		})
	}
}

// TestStepNeverLeavesClosed walks every event from every state: once
// closed, a session stays closed and does nothing more.
func TestStepNeverLeavesClosed(t *testing.T) {
	for p := phaseHello; p <= phaseClosed; p++ {
		for k := evHello; k <= evClosed; k++ {
			to, _, _ := step(sessState{phase: p}, sessEvent{kind: k})
			if p == phaseClosed && to.phase != phaseClosed {
				t.Fatalf("closed session moved to %v on event %d", to.phase, k)
			}
			if k == evClosed && to.phase != phaseClosed {
				t.Fatalf("%v: the connection closed but the session is %v", p, to.phase)
			}
			if _, acts, _ := step(to, sessEvent{kind: k}); to.phase == phaseClosed && acts != 0 {
				t.Fatalf("a closed session acted (%b) on event %d", acts, k)
			}
		}
	}
}
