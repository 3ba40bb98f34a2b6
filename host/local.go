package host

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"os"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/selectftp/selectftp/host/auth"
	"github.com/selectftp/selectftp/protocol"
	"github.com/selectftp/selectftp/sdk"
)

// A Local is a front end's session (the FTP front's, say): the same
// dispatch, permissions, limits, quotas, audit log and defender as a
// network session, reached by method calls instead of frames. The front
// keeps the connection; the host keeps every decision.

// ErrAuthFailed is LoginPlain's answer to a wrong password, an unknown
// user, an empty password, and any other name than the anonymous ones on
// a server without users: one answer, so a guesser learns nothing.
var ErrAuthFailed error = &sdk.Error{Code: protocol.CodeAuthFailed, Message: "authentication failed"}

// ErrLocalClosed is Call's error after Close.
var ErrLocalClosed = errors.New("host: the session is closed")

// ErrNotServing is LoginPlain's error before Serve has started the server
// (or after it stopped): there is no tree and no plugin to serve from.
var ErrNotServing = errors.New("host: the server is not serving")

// Output receives a Call's response body.
type Output interface {
	io.Writer
	// SendFile writes n bytes of f from off. The host calls it where a
	// network session would sendfile a command's sdk.SendFile (a plugin's
	// descriptor, an in-process io.Copy of a file), so a front can
	// sendfile to its own socket (zero copy). f is valid only during the
	// call, and the range must be written before it returns.
	SendFile(f *os.File, off, n int64) (int64, error)
}

// Call is one request of a Local session.
type Call struct {
	Verb   string
	Args   []string
	Params map[string]any
	// Body is the request body (nil: none). The host verifies nothing
	// (FTP carries no digest) but hashes it, holds it to the user's
	// quota, largest file and upload rate, and a Body whose Read returns
	// an error other than io.EOF aborts the request: the command reads
	// canceled, and put keeps nothing. A Read in progress when the
	// command returns may end after Call returns (close the source to
	// end it); Call starts no Read after it returns.
	Body io.Reader
	// Size is the body's length if known, else -1 (0 with a non-nil
	// Body means empty). A body longer or shorter than Size fails.
	Size int64
	// Out receives the response body; nil discards it.
	Out Output
}

// Result is how a Call ended.
type Result struct {
	// Meta is the command's response metadata (nil: none). Numbers a
	// plugin sent are float64, as JSON decodes them.
	Meta map[string]any
	// Status is ok, or the code and message a native client would get;
	// Fallback names the verb that answered for an unknown one. An ok
	// status carries the body's Size; Digest only when the command
	// knew it (the host does not read a sent file back to hash it).
	Status protocol.Status
}

// Local is a front end's logged-in session: see LoginPlain. One caller at
// a time may use it (a front runs one command at a time per session);
// Close may come from any goroutine.
type Local struct {
	srv    *Server
	id     string   // "f" and a number: the audit log's and the server log's session
	remote net.Addr // the front's client
	user   *loggedIn
	name   string // the name given at login, for the audit log

	mu     sync.Mutex
	dir    string
	closed bool
	cancel context.CancelFunc // the running call's; nil between calls
}

// User is the account's name; "" when anonymous.
func (l *Local) User() string {
	if l.user == nil {
		return ""
	}
	return l.user.user
}

// Dir is the session's current folder as the user sees it ("/" at first);
// the cd verb moves it.
func (l *Local) Dir() string {
	l.mu.Lock()
	defer l.mu.Unlock()
	if l.dir == "" {
		return "/"
	}
	return l.dir
}

// Close ends the session: a running call is cancelled and the user's
// session slot given back. It is idempotent.
func (l *Local) Close() {
	l.mu.Lock()
	if l.closed {
		l.mu.Unlock()
		return
	}
	l.closed = true
	cancel := l.cancel
	var ul *userLimits
	if l.user != nil && l.user.limits != nil && l.user.limits.held {
		ul = l.user.limits
		ul.held = false
	}
	l.mu.Unlock()
	if cancel != nil {
		cancel()
	}
	if ul != nil {
		ul.u.mu.Lock()
		ul.u.conns--
		ul.u.mu.Unlock()
	}
}

// anonymousName reports whether a name logs in anonymously on a server
// without users: the two names FTP clients send for it.
func anonymousName(user string) bool {
	return strings.EqualFold(user, "anonymous") || strings.EqualFold(user, "ftp")
}

// LoginPlain checks a plain password (FTP's USER/PASS) for a front end's
// session from remote, and returns the session.
//
// With Users, the password is checked with auth.CheckPassword (the full
// PBKDF2) on a bounded pool shared by the process, so a flood of logins
// costs a few cores, never the event loops; an unknown name is checked
// against its decoy credentials (the same work) and fails the same. A
// failure returns ErrAuthFailed after the defender's delay, and scores
// remote's address as a failed SCRAM login does; a banned address gets an
// error with code banned before any work, and so does a login whose
// address was banned while its password was checked (right or wrong).
// One address (an IPv6 /64) checks at most plainPerAddr passwords at once;
// its other logins wait (bounded by ctx), outside the shared queue. The user's most sessions count
// this one (busy when full) until Close.
//
// Without Users, "anonymous" and "ftp" (any case, any password) get the
// anonymous session, as a native client does; other names fail.
func (s *Server) LoginPlain(ctx context.Context, remote net.Addr, user, password string) (*Local, error) {
	if !s.localServing() {
		return nil, ErrNotServing
	}
	l := &Local{srv: s, id: "f" + strconv.FormatUint(s.nextID.Add(1), 10), remote: remote, name: cut(user, 128)}
	if s.Users == nil {
		if !anonymousName(user) {
			l.auditLogin("failed", protocol.CodeAuthFailed)
			return nil, ErrAuthFailed
		}
		l.auditLogin("ok", protocol.CodeOK)
		return l, nil
	}
	// One address checks at most plainPool.perAddr passwords at once, the
	// rest wait here and not in the pool's queue: parallel guesses cannot
	// outrun the defender's count, nor take the queue from other clients.
	// The slot is held through the failure's delay, so the delay slows a
	// guesser however many connections it opens.
	release, err := plainPool.enter(ctx, peerIP(remote))
	if err != nil {
		return nil, err
	}
	defer release()
	if err := l.refuseBanned(); err != nil {
		return nil, err
	}
	acct, err := s.checkPlain(ctx, user, password)
	if err != nil {
		return nil, err // ctx done, or the pool is full: not the client's password
	}
	if acct == nil {
		// Delay as the SCRAM path does, from the score before this
		// failure; then the failure counts. A failure that finds the
		// address banned meanwhile (by a sibling's failure) is answered as
		// banned: only failures the defender counted are told failed, so
		// no more guesses are answered per ban than its threshold allows.
		d := s.guard().loginDelay(remote)
		if s.guard().record(remote, true) == 0 {
			if err := l.refuseBanned(); err != nil {
				return nil, err
			}
		}
		l.auditLogin("failed", protocol.CodeAuthFailed)
		if d > 0 {
			t := time.NewTimer(d)
			defer t.Stop()
			select {
			case <-t.C:
			case <-ctx.Done():
			}
		}
		return nil, ErrAuthFailed
	}
	// The right password, checked while the address was banned by
	// failures that finished first, does not log in: a guess queued
	// before a ban must not be answered after it.
	if err := l.refuseBanned(); err != nil {
		return nil, err
	}
	root, err := s.userRoot(*acct)
	if err != nil {
		go s.logger().Error("cannot open a user's folder", "user", acct.Name, "error", err)
		return nil, sdk.Errorf(sdk.CodeInternal, "the server cannot open your folder")
	}
	l.user = &loggedIn{user: acct.Name, root: root, acct: acct, who: userOf(*acct),
		limits: s.loginLimits(*acct, root)}
	if err := l.admit(); err != nil {
		l.auditLogin("failed", protocol.CodeBusy)
		return nil, err
	}
	l.auditLogin("ok", protocol.CodeOK)
	return l, nil
}

// refuseBanned audits and returns the banned error when the session's
// address is banned now; nil otherwise.
func (l *Local) refuseBanned() error {
	until, banned := l.srv.guard().Banned(l.remote)
	if !banned {
		return nil
	}
	l.auditLogin("banned", protocol.CodeBanned)
	return &sdk.Error{Code: protocol.CodeBanned, Message: banMessage(until)}
}

// admit takes one of the user's sessions (admitLogin's rule), or says
// busy.
func (l *Local) admit() error {
	ul := l.user.limits
	if ul == nil {
		return nil
	}
	ul.u.mu.Lock()
	full := ul.lim.MaxConns > 0 && ul.u.conns >= ul.lim.MaxConns
	if !full {
		ul.u.conns++
		ul.held = true
	}
	ul.u.mu.Unlock()
	if full {
		return sdk.Errorf(protocol.CodeBusy, "user %s has %d connections already, the most allowed; close one and try again",
			l.user.user, ul.lim.MaxConns)
	}
	return nil
}

// localServing reports whether the server is serving (so its tree, its
// plugins and, with Users, its logins are there) and not closing.
func (s *Server) localServing() bool {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.serving && !s.closing.Load()
}

// auditLogin audits the session's login.
func (l *Local) auditLogin(result string, code protocol.Code) {
	l.srv.audit(AuditEvent{Event: AuditLogin, User: l.name, IP: hostOf(l.remote), Session: l.id,
		Result: result, Mechanism: "PLAIN", Code: string(code)})
}

// cut shortens s to at most n bytes, for a log.
func cut(s string, n int) string {
	if len(s) > n {
		return s[:n]
	}
	return s
}

// checkPlain finds name's account and checks password on the pool: the
// account, or nil for a wrong password or an unknown name (checked against
// its decoy, the same work). Its error is only for the pool (ctx done,
// full).
func (s *Server) checkPlain(ctx context.Context, name, password string) (*auth.Account, error) {
	var acct *auth.Account
	creds := s.logins.decoys.For(name)
	a, err := s.Users.Lookup(name)
	switch {
	case err == nil:
		acct, creds = &a, a.Credentials
	case !errors.Is(err, auth.ErrUnknownUser):
		go s.logger().Error("looking up a user failed; the login fails", "error", err)
	}
	ok, err := plainPool.check(ctx, creds, password)
	if err != nil || !ok {
		return nil, err
	}
	return acct, nil
}

// String names the session, for logs.
func (l *Local) String() string { return fmt.Sprintf("session %s from %s", l.id, l.remote) }
