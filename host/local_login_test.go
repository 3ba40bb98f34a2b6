package host

import (
	"context"
	"errors"
	"fmt"
	"io"
	"slices"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/xdg-go/scram"

	"github.com/selectftp/selectftp/host/auth"
	"github.com/selectftp/selectftp/protocol"
	"github.com/selectftp/selectftp/sdk"
)

// swapPool replaces the process's password pool for one test (these
// tests are not parallel, so no other login runs meanwhile) and counts
// the checks it runs, by the iteration count they were asked for.
func swapPool(t *testing.T, size, queue int, verify func(scram.StoredCredentials, string) bool) {
	old := plainPool
	plainPool = newPasswordPool(size, queue)
	if verify != nil {
		plainPool.verify = verify
	}
	t.Cleanup(func() { plainPool = old })
}

// TestLocalLoginDecoys: a wrong password and an unknown name both run the
// full check and get the same error, the unknown name at the decoys' one
// count (auth.DefaultIterations); the right password logs in.
func TestLocalLoginDecoys(t *testing.T) {
	var mu sync.Mutex
	var iters []int
	swapPool(t, 2, 16, func(c scram.StoredCredentials, pw string) bool {
		mu.Lock()
		iters = append(iters, c.Iters)
		mu.Unlock()
		if c.Iters == auth.DefaultIterations {
			return false // a decoy: it would cost its 0.1 s and fail
		}
		return auth.CheckPassword(c, pw)
	})
	s := localServer(t, localUsers(t, auth.Limits{}), func(s *Server) {
		s.Defender = NewDefender(DefenderConfig{LoginDelay: -1})
	})
	localLogin(t, s, "127.0.0.1", "alice", "alice-pw") // the known count is learnt from a real login
	_, wrong := s.LoginPlain(context.Background(), fromIP("127.0.0.1"), "alice", "nope")
	_, unknown := s.LoginPlain(context.Background(), fromIP("127.0.0.1"), "mallory", "nope")
	if !errors.Is(wrong, ErrAuthFailed) || !errors.Is(unknown, ErrAuthFailed) || wrong.Error() != unknown.Error() {
		t.Fatalf("wrong password: %v; unknown user: %v; want the same ErrAuthFailed", wrong, unknown)
	}
	mu.Lock()
	defer mu.Unlock()
	// The unknown name is checked at the decoys' fixed count, not at the
	// count of the account last seen (alice's): that would change with
	// the accounts that log in and tell the names apart (finding 5).
	if want := []int{auth.MinIterations, auth.MinIterations, auth.DefaultIterations}; !slices.Equal(iters, want) {
		t.Fatalf("checks ran at iteration counts %v; want %v", iters, want)
	}
}

// TestLocalLoginDefender: failed plain logins are delayed and scored as
// SCRAM failures are; the address is banned at the threshold (code
// banned, no password check), another address still logs in, and the
// audit log has the failures and the ban.
func TestLocalLoginDefender(t *testing.T) {
	var checks atomic.Int32
	swapPool(t, 2, 16, func(c scram.StoredCredentials, pw string) bool {
		checks.Add(1)
		return auth.CheckPassword(c, pw)
	})
	rec := &auditRecorder{}
	const delay = 40 * time.Millisecond
	s := localServer(t, localUsers(t, auth.Limits{}), func(s *Server) {
		s.Defender = NewDefender(DefenderConfig{Threshold: 6, LoginDelay: delay, MaxLoginDelay: 4 * delay})
		s.Audit = rec
	})
	ctx := context.Background()
	for i := range 3 {
		start := time.Now()
		_, err := s.LoginPlain(ctx, fromIP("127.0.0.7"), "alice", "guess")
		if !errors.Is(err, ErrAuthFailed) {
			t.Fatalf("failure %d: %v", i+1, err)
		}
		if took, want := time.Since(start), delay<<i; took < want {
			t.Fatalf("failure %d answered after %v, want the defender's %v", i+1, took, want)
		}
	}
	before := checks.Load()
	_, err := s.LoginPlain(ctx, fromIP("127.0.0.7"), "alice", "alice-pw")
	if sdk.CodeOf(err) != protocol.CodeBanned {
		t.Fatalf("after 3 failures at threshold 6: %v, want banned", err)
	}
	if checks.Load() != before {
		t.Fatal("a banned address's password was checked")
	}
	localLogin(t, s, "127.0.0.8", "alice", "alice-pw")
	var failed, banned int
	for _, e := range rec.all() {
		switch {
		case e.Event == AuditLogin && e.Result == "failed" && e.IP == "127.0.0.7":
			failed++
		case e.Event == AuditBan && e.IP == "127.0.0.7":
			banned++
		}
	}
	if failed != 3 || banned != 1 {
		t.Fatalf("audit: %d failed logins and %d bans, want 3 and 1", failed, banned)
	}
}

// TestLocalPasswordPoolBounded: however many logins come at once, no more
// password checks run together than the pool's size, and logins beyond
// its queue are told busy at once rather than waiting.
func TestLocalPasswordPoolBounded(t *testing.T) {
	var running, most atomic.Int32
	release := make(chan struct{})
	swapPool(t, 2, 6, func(c scram.StoredCredentials, pw string) bool {
		n := running.Add(1)
		for m := most.Load(); n > m && !most.CompareAndSwap(m, n); m = most.Load() {
		}
		<-release
		running.Add(-1)
		return false
	})
	s := localServer(t, localUsers(t, auth.Limits{}), func(s *Server) {
		s.Defender = NewDefender(DefenderConfig{Threshold: -1})
	})
	errs := make(chan error, 10)
	for i := range 10 {
		go func() {
			// Ten addresses: one address gets no more than its two places.
			_, err := s.LoginPlain(context.Background(), fromIP(fmt.Sprintf("127.0.0.%d", i+1)), "alice", "x")
			errs <- err
		}()
	}
	busy := 0
	for deadline := time.Now().Add(10 * time.Second); busy < 4; {
		select {
		case err := <-errs:
			if sdk.CodeOf(err) != protocol.CodeBusy {
				t.Fatalf("a login returned %v while the pool was full", err)
			}
			busy++
		case <-time.After(time.Until(deadline)):
			t.Fatalf("%d logins told busy, want 4 (queue 6 of 10)", busy)
		}
	}
	for deadline := time.Now().Add(10 * time.Second); running.Load() < 2; {
		if time.Now().After(deadline) {
			t.Fatal("the pool did not start 2 checks")
		}
		time.Sleep(time.Millisecond)
	}
	close(release)
	for range 6 {
		if err := <-errs; !errors.Is(err, ErrAuthFailed) {
			t.Fatalf("a queued login: %v", err)
		}
	}
	if m := most.Load(); m != 2 {
		t.Fatalf("%d password checks ran at once, want at most the pool's 2", m)
	}
}

// TestLocalCallCancelled: a call whose context ends stops its command and
// says so, and the session goes on.
func TestLocalCallCancelled(t *testing.T) {
	s := localServer(t, nil, nil)
	l := localLogin(t, s, "127.0.0.1", "anonymous", "")
	ctx, cancel := context.WithCancel(context.Background())
	pr, pw := io.Pipe()
	defer pw.Close()
	done := make(chan struct{})
	var r Result
	var err error
	go func() {
		r, err = l.Call(ctx, Call{Verb: "put", Args: []string{"slow"}, Body: pr, Size: -1})
		close(done)
	}()
	pw.Write(make([]byte, 1000))
	cancel()
	select {
	case <-done:
	case <-time.After(10 * time.Second):
		t.Fatal("a cancelled call did not return")
	}
	if !errors.Is(err, context.Canceled) || r.Status.Code != protocol.CodeCanceled {
		t.Fatalf("cancelled call: %v, status %s", err, r.Status.Code)
	}
	wantCode(t, call(t, l, Call{Verb: "pwd"}), protocol.CodeOK)
}
