package host

import (
	"bytes"
	"net"
	"strings"
	"testing"
	"time"

	"github.com/selectftp/selectftp/host/auth"
	"github.com/selectftp/selectftp/protocol"
)

// serverFirst starts a SCRAM login as name and returns the server-first
// message's salt (s) and iteration count (i), as a prober sees them.
func serverFirst(t *testing.T, addr, name string) (salt, iters string) {
	t.Helper()
	c := dialRaw(t, addr).hello()
	defer c.Close()
	first, _ := scramClient(t, name, "any-pw").NewConversation().Step("")
	c.send(protocol.TypeAuth, protocol.Auth{Mechanism: protocol.MechSCRAMSHA256, Data: first})
	f := c.next()
	if f.Type != protocol.TypeAuth {
		t.Fatalf("no server-first for %s: %s", name, f.Payload)
	}
	var a protocol.Auth
	protocol.Unmarshal(f.Type, f.Payload, &a)
	for _, kv := range strings.Split(a.Data, ",") {
		k, v, _ := strings.Cut(kv, "=")
		switch k {
		case "s":
			salt = v
		case "i":
			iters = v
		}
	}
	return salt, iters
}

// TestLoginDecoyCountFixed: an unknown name's server-first advertises
// auth.DefaultIterations even after an account with another count logged
// in; a count copied from the last account seen would change as accounts
// log in, and tell which names are real (finding 5).
func TestLoginDecoyCountFixed(t *testing.T) {
	_, addr := startUsersServer(t, BackendGoroutine, nil)
	if st, _ := dialRaw(t, addr).hello().login(scramClient(t, "alice", "alice-pw")); st.Code != protocol.CodeOK {
		t.Fatalf("alice (at %d iterations): %+v", auth.MinIterations, st)
	}
	if _, i := serverFirst(t, addr, "mallory"); i != "600000" {
		t.Fatalf("an unknown name advertises i=%s after alice logged in; want the fixed %d", i, auth.DefaultIterations)
	}
}

// TestLoginDecoyKeyKeepsSalts: two servers (a restart) with one DecoyKey
// give an unknown name the same salt, as a real account keeps its own;
// without a key each process has its own (finding 5).
func TestLoginDecoyKeyKeepsSalts(t *testing.T) {
	key := bytes.Repeat([]byte{0x5a}, auth.DecoyKeySize)
	withKey := func(s *Server) { s.DecoyKey = key }
	_, a1 := startUsersServer(t, BackendGoroutine, withKey)
	_, a2 := startUsersServer(t, BackendGoroutine, withKey)
	_, a3 := startUsersServer(t, BackendGoroutine, nil)
	s1, _ := serverFirst(t, a1, "mallory")
	s2, _ := serverFirst(t, a2, "mallory")
	s3, _ := serverFirst(t, a3, "mallory")
	if s1 == "" || s1 != s2 {
		t.Fatalf("one DecoyKey, two servers: mallory's salt %q then %q; a restart tells the name is unknown", s1, s2)
	}
	if s3 == s1 {
		t.Fatal("a server without DecoyKey gave the keyed servers' salt")
	}
}

// TestLoginDecoyKeyWrongSize: a DecoyKey of the wrong size stops Serve
// with a clear error rather than serving with another key.
func TestLoginDecoyKeyWrongSize(t *testing.T) {
	s := &Server{Root: t.TempDir(), Backend: BackendGoroutine, Users: loginUsers(t), DecoyKey: []byte("short")}
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	served := make(chan error, 1)
	go func() { served <- s.Serve(ln) }()
	select {
	case err = <-served:
	case <-time.After(10 * time.Second):
		s.Close()
		<-served
		t.Fatal("Serve with a 5-byte DecoyKey served")
	}
	if err == nil || !strings.Contains(err.Error(), "DecoyKey") {
		t.Fatalf("Serve with a 5-byte DecoyKey: %v", err)
	}
}
