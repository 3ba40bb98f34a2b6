package host

import (
	"testing"
	"time"

	"github.com/selectftp/selectftp/protocol"
)

// TestLoginRightProofAfterBanRefused: a SCRAM login whose final step was
// under way when the address's other sessions got it banned is answered
// banned, not ok, even with the right proof (finding 4, the native path).
func TestLoginRightProofAfterBanRefused(t *testing.T) {
	forEachBackend(t, func(t *testing.T, backend string) {
		inStep, proceed := make(chan struct{}), make(chan struct{})
		s, addr := startUsersServer(t, backend, func(s *Server) {
			s.Defender = NewDefender(DefenderConfig{Threshold: 6, LoginDelay: -1})
		})
		hook := func(ev sessEvent) {
			if ev.user != nil {
				close(inStep)
				<-proceed
			}
		}
		waitCond(t, "the server serving", s.localServing) // s.logins is made at start
		s.logins.stepHook.Store(&hook)
		type outcome struct {
			st  protocol.Status
			err error
		}
		right := make(chan outcome, 1)
		go func() {
			st, err := loginAttempt("127.0.0.9", addr, scramClient(t, "alice", "alice-pw"))
			right <- outcome{st, err}
		}()
		select {
		case <-inStep:
		case o := <-right:
			t.Fatalf("the right login ended before its final step: %+v %v", o.st, o.err)
		case <-time.After(20 * time.Second):
			t.Fatal("the right login's final step did not run")
		}
		for i := range 3 {
			st, c := tryLogin(t, "127.0.0.9", addr, scramClient(t, "alice", "guess"))
			c.Close()
			if st.Code != protocol.CodeAuthFailed {
				t.Fatalf("wrong password %d: %+v", i+1, st)
			}
		}
		close(proceed)
		o := <-right
		if o.err != nil {
			t.Fatal(o.err)
		}
		if o.st.Code != protocol.CodeBanned {
			t.Fatalf("the right proof checked across the ban: %+v, want banned", o.st)
		}
	})
}
