package host

import (
	"testing"

	"github.com/selectftp/selectftp/protocol"
)

// TestStepLogin drives the login's part of the protocol from a table.
func TestStepLogin(t *testing.T) {
	st := func(p phase) sessState { return sessState{phase: p} }
	ok := protocol.Status{Code: protocol.CodeOK, Data: "v=proof"}
	const final = actFinal | actCloseWrite
	tests := []struct {
		name string
		from sessState
		ev   sessEvent
		to   sessState
		acts action
		code protocol.Code
	}{
		{"hello with users", st(phaseHello), sessEvent{kind: evHello, login: true}, st(phaseLogin), actSendHello, ""},
		{"auth step", st(phaseLogin), sessEvent{kind: evAuth}, st(phaseAuthWait), actAuth, ""},
		{"server-first", st(phaseAuthWait), sessEvent{kind: evAuthDone, payload: []byte("A")}, st(phaseLogin), actAuthReply, ""},
		{"logged in", st(phaseAuthWait), sessEvent{kind: evAuthDone, status: ok}, st(phaseIdle), actLoggedIn | actStatus, ""},
		{"failed", st(phaseAuthWait), sessEvent{kind: evAuthDone, status: authFailed}, st(phaseClosed), final, protocol.CodeAuthFailed},
		{"request before login", st(phaseLogin), sessEvent{kind: evRequest}, st(phaseClosed), final, protocol.CodeUnauthenticated},
		{"request during a step", st(phaseAuthWait), sessEvent{kind: evRequest, expect: true}, st(phaseClosed), final, protocol.CodeUnauthenticated},
		{"bad request before login", st(phaseLogin), sessEvent{kind: evBadRequest}, st(phaseClosed), final, protocol.CodeUnauthenticated},
		{"auth before hello", st(phaseHello), sessEvent{kind: evAuth}, st(phaseClosed), final, protocol.CodeProtocol},
		{"auth during a step", st(phaseAuthWait), sessEvent{kind: evAuth}, st(phaseClosed), final, protocol.CodeProtocol},
		{"auth after login", st(phaseIdle), sessEvent{kind: evAuth}, st(phaseClosed), final, protocol.CodeProtocol},
		{"data before login", st(phaseLogin), sessEvent{kind: evData}, st(phaseClosed), final, protocol.CodeProtocol},
		{"shutdown during login", st(phaseLogin), sessEvent{kind: evShutdown}, st(phaseClosed), final, protocol.CodeShuttingDown},
		{"shutdown during a step", st(phaseAuthWait), sessEvent{kind: evShutdown}, st(phaseClosed), final, protocol.CodeShuttingDown},
		{"a late step after close", st(phaseClosed), sessEvent{kind: evAuthDone, status: ok}, st(phaseClosed), 0, ""},
	}
	for _, tt := range tests {
		to, acts, fin := step(tt.from, tt.ev)
		if to != tt.to || acts != tt.acts || (acts&actFinal != 0 && fin.Code != tt.code) {
			t.Errorf("%s: step(%v) = %v, %b, %q; want %v, %b, %q", tt.name, tt.from.phase, to.phase, acts, fin.Code, tt.to.phase, tt.acts, tt.code)
		}
	}
}
