package host

import (
	"context"
	"errors"
	"sync/atomic"
	"testing"
	"time"

	"github.com/xdg-go/scram"

	"github.com/selectftp/selectftp/host/auth"
	"github.com/selectftp/selectftp/protocol"
	"github.com/selectftp/selectftp/sdk"
)

// Finding 4: parallel plain logins from one address. Each test holds the
// password checks on a channel, so the logins pile up exactly where the
// code lets them (in a check, at the address's gate, in the queue), then
// lets them go.

// waitCond polls cond until it holds, failing the test after 10 s.
func waitCond(t *testing.T, what string, cond func() bool) {
	t.Helper()
	for deadline := time.Now().Add(10 * time.Second); !cond(); {
		if time.Now().After(deadline) {
			t.Fatalf("timed out waiting: %s", what)
		}
		time.Sleep(time.Millisecond)
	}
}

// TestLocalParallelGuessesPerBan: 64 wrong passwords sent at once from one
// address are checked and answered no more than the defender's threshold
// allows (8 failures at the default 15 points, 2 a failure), plus the one
// check the address's second place had under way; the rest are told
// banned without a check. Before the fix all 64 were checked and told
// "authentication failed" (in production, up to the queue's 256).
func TestLocalParallelGuessesPerBan(t *testing.T) {
	const n = 64
	var checks atomic.Int32
	release := make(chan struct{})
	swapPool(t, n, 256, func(scram.StoredCredentials, string) bool {
		checks.Add(1)
		<-release
		return false
	})
	s := localServer(t, localUsers(t, auth.Limits{}), func(s *Server) {
		s.Defender = NewDefender(DefenderConfig{LoginDelay: -1})
	})
	errs := make(chan error, n)
	for range n {
		go func() {
			_, err := s.LoginPlain(context.Background(), fromIP("127.0.0.9"), "alice", "guess")
			errs <- err
		}()
	}
	waitCond(t, "every login checking or at its address's gate", func() bool {
		return int(checks.Load()+plainPool.gated.Load()) == n
	})
	close(release)
	var failed, banned int
	for range n {
		select {
		case err := <-errs:
			switch {
			case errors.Is(err, ErrAuthFailed):
				failed++
			case sdk.CodeOf(err) == protocol.CodeBanned:
				banned++
			default:
				t.Fatalf("a login: %v", err)
			}
		case <-time.After(30 * time.Second):
			t.Fatal("logins did not return")
		}
	}
	perBan := DefaultBanThreshold/DefaultLoginScore + 1 // 8
	// The other of the address's two places may have a check under way
	// when the ban comes; it is answered banned.
	maxChecked := perBan + 1
	t.Logf("%d parallel wrong passwords from one address: %d checked, %d answered failed, %d banned",
		n, checks.Load(), failed, banned)
	if failed != perBan || int(checks.Load()) > maxChecked {
		t.Fatalf("%d checked and %d answered failed; want at most %d checked and %d answered failed",
			checks.Load(), failed, maxChecked, perBan)
	}
}

// TestLocalRightGuessAfterBanRefused: the right password, whose check was
// under way when the address's other failures banned it, does not log in:
// it is answered banned.
func TestLocalRightGuessAfterBanRefused(t *testing.T) {
	inCheck, proceed := make(chan struct{}), make(chan struct{})
	swapPool(t, 2, 16, func(c scram.StoredCredentials, pw string) bool {
		if pw == "alice-pw" {
			close(inCheck)
			<-proceed
		}
		return auth.CheckPassword(c, pw)
	})
	s := localServer(t, localUsers(t, auth.Limits{}), func(s *Server) {
		s.Defender = NewDefender(DefenderConfig{Threshold: 6, LoginDelay: -1})
	})
	ctx := context.Background()
	type outcome struct {
		l   *Local
		err error
	}
	right := make(chan outcome, 1)
	go func() {
		l, err := s.LoginPlain(ctx, fromIP("127.0.0.9"), "alice", "alice-pw")
		right <- outcome{l, err}
	}()
	<-inCheck
	for i := range 3 {
		if _, err := s.LoginPlain(ctx, fromIP("127.0.0.9"), "alice", "guess"); !errors.Is(err, ErrAuthFailed) {
			t.Fatalf("wrong password %d: %v", i+1, err)
		}
	}
	if _, ok := s.guard().Banned(fromIP("127.0.0.9")); !ok {
		t.Fatal("3 failures at threshold 6 did not ban the address")
	}
	close(proceed)
	o := <-right
	if o.l != nil {
		o.l.Close()
	}
	if sdk.CodeOf(o.err) != protocol.CodeBanned {
		t.Fatalf("the right password checked across the ban: session %v, error %v; want banned", o.l != nil, o.err)
	}
}

// TestLocalOneAddressCannotFillQueue: an address with many logins at once
// holds at most its two places of the shared queue, so another address's
// login waits its turn and succeeds instead of being told busy.
func TestLocalOneAddressCannotFillQueue(t *testing.T) {
	const n, queue = 20, 8
	var entered atomic.Int32
	release := make(chan struct{})
	swapPool(t, 1, queue, func(c scram.StoredCredentials, pw string) bool {
		entered.Add(1)
		<-release
		return auth.CheckPassword(c, pw)
	})
	s := localServer(t, localUsers(t, auth.Limits{}), func(s *Server) {
		s.Defender = NewDefender(DefenderConfig{Threshold: -1})
	})
	var busy atomic.Int32
	errs := make(chan error, n)
	for range n {
		go func() {
			_, err := s.LoginPlain(context.Background(), fromIP("127.0.0.9"), "alice", "guess")
			if sdk.CodeOf(err) == protocol.CodeBusy {
				busy.Add(1)
			}
			errs <- err
		}()
	}
	waitCond(t, "the flood queued, gated or told busy", func() bool {
		return entered.Load() == 1 && int(busy.Load()+plainPool.gated.Load())+len(plainPool.waiting) == n
	})
	queued := len(plainPool.waiting)
	type outcome struct {
		l   *Local
		err error
	}
	other := make(chan outcome, 1)
	go func() {
		l, err := s.LoginPlain(context.Background(), fromIP("127.0.0.10"), "alice", "alice-pw")
		other <- outcome{l, err}
	}()
	waitCond(t, "the other address queued or answered", func() bool {
		return len(plainPool.waiting) > queued || len(other) > 0
	})
	close(release)
	o := <-other
	if o.err != nil {
		t.Fatalf("another address's login while one address flooded (%d of it told busy): %v", busy.Load(), o.err)
	}
	o.l.Close()
	for range n {
		<-errs
	}
}
