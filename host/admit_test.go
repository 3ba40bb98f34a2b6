package host

import (
	"net"
	"testing"

	"github.com/selectftp/selectftp/host/auth"
	"github.com/selectftp/selectftp/protocol"
	"github.com/selectftp/selectftp/sdk"
)

// serving waits (bounded) until s serves.
func serving(t *testing.T, s *Server) {
	t.Helper()
	waitFor(t, "the server to serve", s.localServing)
}

// A front's connections take the same slots as native sessions: per
// address and in total, either kind counts against the other, and a
// released slot is free again.
func TestAdmitSharesConnectionLimits(t *testing.T) {
	s, addr := startServer(t, BackendGoroutine, func(s *Server) { s.MaxConnsPerIP, s.MaxConns = 2, 3 })
	serving(t, s)
	lo := &net.TCPAddr{IP: net.IPv4(127, 0, 0, 1), Port: 50000}
	release, err := s.Admit(lo)
	if err != nil {
		t.Fatalf("first front connection: %v", err)
	}
	dialRaw(t, addr).hello() // a native session from the same address: the second slot
	if _, err := s.Admit(lo); sdk.CodeOf(err) != protocol.CodeBusy {
		t.Fatalf("a third connection from one address (one front, one native) was not refused busy: %v", err)
	}
	c := dialRaw(t, addr)
	c.send(protocol.TypeHello, protocol.Hello{Protocol: protocol.ProtocolName, Versions: []int{protocol.Version}})
	if st := c.status(); st.Code != protocol.CodeBusy {
		t.Fatalf("a native third connection with a front one open: %+v", st)
	}
	// The total: a third address fills it, a fourth is refused.
	if _, err := s.Admit(fromIP("192.0.2.1")); err != nil {
		t.Fatalf("another address, under the total: %v", err)
	}
	if _, err := s.Admit(fromIP("192.0.2.2")); sdk.CodeOf(err) != protocol.CodeBusy {
		t.Fatalf("over MaxConns: %v", err)
	}
	release()
	release() // idempotent: must not free a second slot
	if _, err := s.Admit(fromIP("192.0.2.2")); err != nil {
		t.Fatalf("a released slot is not free again: %v", err)
	}
	if _, err := s.Admit(fromIP("192.0.2.3")); sdk.CodeOf(err) != protocol.CodeBusy {
		t.Fatalf("a release called twice freed two slots: %v", err)
	}
}

// A banned address is refused at admission; protocol errors before a
// login, as the front reports them, score toward that ban on a server with
// users, and not without (there is nothing to guess).
func TestAdmitRefusesBannedAndScoresProtocolErrors(t *testing.T) {
	def := NewDefender(DefenderConfig{Threshold: 3, LoginDelay: -1})
	s := localServer(t, localUsers(t, auth.Limits{}), func(s *Server) { s.Defender = def })
	bad := fromIP("192.0.2.9")
	for i := range 2 {
		if s.ProtocolError(bad) {
			t.Fatalf("banned after %d protocol errors, threshold 3", i+1)
		}
		if _, err := s.Admit(bad); err != nil {
			t.Fatalf("admission before the ban: %v", err)
		}
	}
	if !s.ProtocolError(bad) {
		t.Fatal("not banned at the threshold")
	}
	_, err := s.Admit(bad)
	if sdk.CodeOf(err) != protocol.CodeBanned {
		t.Fatalf("a banned address was admitted: %v", err)
	}
	if _, err := s.Admit(fromIP("192.0.2.10")); err != nil {
		t.Fatalf("another address is refused with the first banned: %v", err)
	}

	anon := localServer(t, nil, func(s *Server) { s.Defender = NewDefender(DefenderConfig{Threshold: 1}) })
	if anon.ProtocolError(bad) {
		t.Fatal("a server without users banned for a protocol error")
	}
}

// Admission before the server serves is refused (no slots to count in).
func TestAdmitBeforeServing(t *testing.T) {
	s := &Server{}
	if _, err := s.Admit(fromIP("127.0.0.1")); sdk.CodeOf(err) != protocol.CodeShuttingDown {
		t.Fatalf("Admit on a server not serving: %v", err)
	}
}
