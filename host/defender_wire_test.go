package host

import (
	"bytes"
	"errors"
	"net"
	"strings"
	"sync"
	"sync/atomic"
	"syscall"
	"testing"
	"time"

	"github.com/xdg-go/scram"

	"github.com/selectftp/selectftp/protocol"
)

// dialFrom is dialRaw from a chosen loopback source address (127.0.0.2
// is another client as far as the server can tell).
func dialFrom(t *testing.T, src, addr string) *rawConn {
	t.Helper()
	d := net.Dialer{Timeout: 5 * time.Second, LocalAddr: &net.TCPAddr{IP: net.ParseIP(src)}}
	c, err := d.Dial("tcp", addr)
	if err != nil {
		t.Fatal(err)
	}
	c.SetDeadline(time.Now().Add(20 * time.Second))
	t.Cleanup(func() { c.Close() })
	return &rawConn{t: t, Conn: c, r: protocol.NewReader(c, 0)}
}

// tryLogin runs one login from src and returns the status that ended it:
// ok, auth_failed, or banned (at accept, before the Hello's answer, or at
// the login).
func tryLogin(t *testing.T, src, addr string, sc *scram.Client) (protocol.Status, *rawConn) {
	t.Helper()
	c := dialFrom(t, src, addr)
	st, err := loginOn(c.Conn, c.r, sc)
	if err != nil {
		t.Fatal(err)
	}
	return st, c
}

// loginAttempt is tryLogin for other goroutines than the test's: it
// reports errors rather than failing the test.
func loginAttempt(src, addr string, sc *scram.Client) (protocol.Status, error) {
	d := net.Dialer{Timeout: 5 * time.Second, LocalAddr: &net.TCPAddr{IP: net.ParseIP(src)}}
	c, err := d.Dial("tcp", addr)
	if err != nil {
		return protocol.Status{}, err
	}
	defer c.Close()
	c.SetDeadline(time.Now().Add(20 * time.Second))
	return loginOn(c, protocol.NewReader(c, 0), sc)
}

// loginOn says hello and logs in on c; a Status in place of the Hello
// or of server-first ends it early.
func loginOn(c net.Conn, r *protocol.Reader, sc *scram.Client) (protocol.Status, error) {
	send := func(typ protocol.Type, msg any) error {
		frame, err := protocol.Marshal(typ, msg)
		if err == nil {
			_, err = c.Write(frame)
		}
		return err
	}
	var st protocol.Status
	next := func() (protocol.Frame, bool, error) {
		f, err := r.Next()
		if err != nil {
			return f, false, err
		}
		if f.Type == protocol.TypeStatus {
			return f, true, protocol.Unmarshal(f.Type, f.Payload, &st)
		}
		return f, false, nil
	}
	if err := send(protocol.TypeHello, protocol.Hello{Protocol: protocol.ProtocolName, Versions: []int{protocol.Version}}); err != nil {
		return st, err
	}
	if _, done, err := next(); done || err != nil {
		return st, err
	}
	conv := sc.NewConversation()
	first, _ := conv.Step("")
	if err := send(protocol.TypeAuth, protocol.Auth{Mechanism: protocol.MechSCRAMSHA256, Data: first}); err != nil {
		return st, err
	}
	f, done, err := next()
	if done || err != nil {
		return st, err
	}
	var a protocol.Auth
	protocol.Unmarshal(f.Type, f.Payload, &a)
	final, err := conv.Step(a.Data)
	if err != nil {
		return st, err
	}
	if err := send(protocol.TypeAuth, protocol.Auth{Data: final}); err != nil {
		return st, err
	}
	for {
		if _, done, err := next(); done || err != nil {
			return st, err
		}
	}
}

// 1,000 failed logins from 127.0.0.1: the address is banned after the
// threshold's worth and refused at accept from then on, while a client
// at 127.0.0.2 logs in and transfers throughout, promptly.
func TestDefenderFloodBansOthersUnaffected(t *testing.T) {
	forEachBackend(t, func(t *testing.T, backend string) {
		_, addr := startUsersServer(t, backend, func(s *Server) {
			s.Defender = NewDefender(DefenderConfig{LoginDelay: 5 * time.Millisecond,
				MaxLoginDelay: 20 * time.Millisecond, BanTime: time.Minute})
		})
		bad := scramClient(t, "alice", "guess")
		good := scramClient(t, "alice", "alice-pw")
		payload := bytes.Repeat([]byte("selectftp"), 32<<10) // 288 KiB each way
		var failed, banned, resets atomic.Int32
		var wg sync.WaitGroup
		next := make(chan int)
		for range 16 {
			wg.Go(func() {
				for range next {
					st, err := loginAttempt("127.0.0.1", addr, bad)
					switch {
					case err != nil && errors.Is(err, syscall.ECONNRESET):
						resets.Add(1) // refused: the server closed before our Hello came
					case err != nil:
						t.Errorf("flood login: %v", err)
					case st.Code == protocol.CodeAuthFailed:
						failed.Add(1)
					case st.Code == protocol.CodeBanned:
						banned.Add(1)
					default:
						t.Errorf("flood login = %+v", st)
					}
				}
			})
		}
		// The other client logs in and echoes a body, again and again,
		// while the flood runs (and once before, for comparison).
		round := func() time.Duration {
			t0 := time.Now()
			st, c := tryLogin(t, "127.0.0.2", addr, good)
			if !st.OK() {
				t.Fatalf("127.0.0.2's login during the flood = %+v", st)
			}
			r := c.request("echo", nil, nil, payload)
			c.Close()
			if !r.status.OK() || !bytes.Equal(r.body, payload) {
				t.Fatalf("127.0.0.2's transfer during the flood = %d bytes, %+v", len(r.body), r.status)
			}
			return time.Since(t0)
		}
		alone := round()
		flooded := make(chan struct{})
		begin := time.Now()
		go func() {
			for i := range 1000 {
				next <- i
			}
			close(next)
			wg.Wait()
			close(flooded)
		}()
		var rounds int
		var slowest time.Duration
		for done := false; !done; {
			select {
			case <-flooded:
				done = rounds >= 3
			default:
			}
			slowest = max(slowest, round())
			rounds++
		}
		t.Logf("%s: 1000 logins in %v: %d auth_failed, %d banned, %d reset; 127.0.0.2: %d rounds, slowest %v (%v before the flood)",
			backend, time.Since(begin), failed.Load(), banned.Load(), resets.Load(), rounds, slowest, alone)
		// The threshold (15) takes 8 failures; logins already past their
		// Hello when the ban came still end as auth_failed (16 at most).
		if f := failed.Load(); f < 8 || f > 8+16 {
			t.Errorf("%d logins failed before the ban, want 8 to 24", f)
		}
		if banned.Load()+resets.Load() < 1000-8-16 || banned.Load() < 900 {
			t.Errorf("only %d of 1000 logins were refused as banned (%d reset)", banned.Load(), resets.Load())
		}
		// Loose: the machine may be loaded; a login stuck behind the
		// flood's delays or bans would take the hello timeout (10 s).
		if slowest > 8*time.Second {
			t.Errorf("127.0.0.2: slowest round %v: the flood held it back", slowest)
		}
	})
}

// A failed login's answer waits, longer after each failure; the wait
// holds neither the loop nor a worker: another client logs in and is
// served meanwhile. A successful login is not delayed.
func TestDefenderDelaysFailedLogins(t *testing.T) {
	forEachBackend(t, func(t *testing.T, backend string) {
		const d = 500 * time.Millisecond
		_, addr := startUsersServer(t, backend, func(s *Server) {
			s.Defender = NewDefender(DefenderConfig{Threshold: 100, LoginDelay: d, MaxLoginDelay: 4 * d})
		})
		bad := scramClient(t, "alice", "guess")
		for i, want := range []time.Duration{d, 2 * d} {
			begin := time.Now()
			st, _ := tryLogin(t, "127.0.0.1", addr, bad)
			if took := time.Since(begin); st.Code != protocol.CodeAuthFailed || took < want {
				t.Fatalf("failure %d: %+v after %v, want auth_failed after at least %v", i+1, st, took, want)
			}
		}
		// Twenty failures wait 4d at once; another client logs in and is
		// served before the first of them is answered.
		var wg sync.WaitGroup
		var mu sync.Mutex
		var firstAnswer time.Time
		for range 20 {
			wg.Go(func() {
				loginAttempt("127.0.0.1", addr, bad)
				mu.Lock()
				if firstAnswer.IsZero() {
					firstAnswer = time.Now()
				}
				mu.Unlock()
			})
		}
		time.Sleep(100 * time.Millisecond) // let them reach their wait
		st, c := tryLogin(t, "127.0.0.2", addr, scramClient(t, "bob", "bob-pw"))
		r := c.request("echo", nil, nil, []byte("bob"))
		served := time.Now()
		wg.Wait()
		if !st.OK() || !r.status.OK() || !served.Before(firstAnswer) {
			t.Errorf("another client: login %+v, echo %+v, done %v after the waiting failures' first answer",
				st, r.status, served.Sub(firstAnswer))
		}
	})
}

// A ban ends: the address logs in again. A connection opened before the
// ban is refused when it tries to log in.
func TestDefenderBanExpires(t *testing.T) {
	forEachBackend(t, func(t *testing.T, backend string) {
		_, addr := startUsersServer(t, backend, func(s *Server) {
			s.Defender = NewDefender(DefenderConfig{Threshold: 2, LoginScore: 2, LoginDelay: -1,
				BanTime: 500 * time.Millisecond})
		})
		early := dialFrom(t, "127.0.0.1", addr).hello()
		if st, _ := tryLogin(t, "127.0.0.1", addr, scramClient(t, "alice", "guess")); st.Code != protocol.CodeAuthFailed {
			t.Fatalf("login = %+v", st)
		}
		st, _ := tryLogin(t, "127.0.0.1", addr, scramClient(t, "alice", "alice-pw"))
		if st.Code != protocol.CodeBanned || !strings.Contains(st.Message, "try again in") {
			t.Fatalf("login while banned = %+v, want banned", st)
		}
		first, _ := scramClient(t, "alice", "alice-pw").NewConversation().Step("")
		early.send(protocol.TypeAuth, protocol.Auth{Mechanism: protocol.MechSCRAMSHA256, Data: first})
		if st := early.status(); st.Code != protocol.CodeBanned {
			t.Fatalf("a connection from before the ban = %+v, want banned", st)
		}
		deadline := time.Now().Add(10 * time.Second)
		for {
			st, _ := tryLogin(t, "127.0.0.1", addr, scramClient(t, "alice", "alice-pw"))
			if st.OK() {
				break
			}
			if st.Code != protocol.CodeBanned || time.Now().After(deadline) {
				t.Fatalf("after the ban: %+v", st)
			}
			time.Sleep(50 * time.Millisecond)
		}
	})
}

// Protocol errors before the login count too (a request before it, here);
// a server without users scores nothing.
func TestDefenderCountsProtocolErrors(t *testing.T) {
	forEachBackend(t, func(t *testing.T, backend string) {
		_, addr := startUsersServer(t, backend, func(s *Server) {
			s.Defender = NewDefender(DefenderConfig{Threshold: 3, ProtocolScore: 1, BanTime: time.Minute})
		})
		for range 3 {
			c := dialRaw(t, addr).hello()
			if r := c.request("echo", nil, nil, nil); r.status.Code != protocol.CodeUnauthenticated {
				t.Fatalf("request before login = %+v", r.status)
			}
		}
		if st, _ := tryLogin(t, "127.0.0.1", addr, scramClient(t, "alice", "alice-pw")); st.Code != protocol.CodeBanned {
			t.Fatalf("after 3 protocol errors: %+v, want banned", st)
		}
		_, anon := startServer(t, backend, func(s *Server) {
			s.Defender = NewDefender(DefenderConfig{Threshold: 1, BanTime: time.Minute})
		})
		for range 3 {
			c := dialRaw(t, anon).hello()
			c.send(protocol.TypeHello, protocol.Hello{Protocol: protocol.ProtocolName, Versions: []int{protocol.Version}})
			c.status()
		}
		if r := dialRaw(t, anon).hello().request("upper", []string{"x"}, nil, nil); !r.status.OK() {
			t.Fatalf("anonymous server after protocol errors: %+v", r.status)
		}
	})
}
