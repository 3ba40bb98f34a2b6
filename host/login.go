package host

import (
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"sync/atomic"

	"github.com/xdg-go/scram"

	"github.com/selectftp/selectftp/host/auth"
	"github.com/selectftp/selectftp/protocol"
	"github.com/selectftp/selectftp/sdk"
)

// authFailed is the one answer to every failed login: a wrong password, an
// unknown user, a malformed SCRAM message. Telling them apart would tell a
// guesser which names exist.
var authFailed = protocol.Status{Code: protocol.CodeAuthFailed, Message: "authentication failed"}

// unauthenticated answers a request sent before the login a server with
// users requires; the connection closes after it.
var unauthenticated = protocol.Status{Code: protocol.CodeUnauthenticated, Message: "log in first"}

// logins is what a server with users keeps for them: the decoy
// credentials of unknown names, and each account's open tree.
type logins struct {
	decoys *auth.Decoys // they advertise auth.DefaultIterations, whatever the accounts have

	mu    sync.Mutex
	roots map[string]*os.Root // by the account's root as configured

	limits limitTable // per-user limits' state, by name (limits.go)

	// stepHook, when set (tests only), runs on a login step's worker
	// between the step and finishAuthStep: the window in which another
	// session's failure may ban the address.
	stepHook atomic.Pointer[func(sessEvent)]
}

// login is one session's login: the SCRAM conversation and, once the
// client-first message named a known user, the account. The loop owns it
// between steps; a step's goroutine owns it while the step runs (the post
// back to the loop orders the two).
type login struct {
	conv *scram.ServerConversation
	acct *auth.Account
	// name is the name the client gave, for the audit log: set on the
	// step's worker, read on the loop (a timeout may come mid-step).
	name atomic.Pointer[string]
	mech string // the mechanism it chose
	// scored says the defender has counted this login's failure (on the
	// step's worker, so that a timeout during the delay cannot undo it).
	scored atomic.Bool
}

// loggedIn is what a session keeps of its login: its own tree and the
// account's name (for logs). A reload of the users file changes neither:
// a session keeps the account it logged in with.
type loggedIn struct {
	user string
	root *os.Root
	acct *auth.Account // what the host checks permissions against (perms.go)
	who  *sdk.User     // the account as commands see it

	// limits is the account's limits as it logged in; nil: none.
	limits *userLimits
}

// authStep runs one step of the session's login (step said actAuth): it
// decodes the A frame on the loop, runs the SCRAM step on a worker (a
// Store may be slow: a database, a file) and posts the outcome back as
// evAuthDone.
func (ss *session) authStep(payload []byte) {
	var a protocol.Auth
	if err := protocol.Unmarshal(protocol.TypeAuth, payload, &a); err != nil {
		ss.apply(sessEvent{kind: evAuthDone, status: protocol.Status{Code: protocol.CodeBadRequest, Message: err.Error()}})
		return
	}
	if ss.authBanned() {
		return
	}
	x := ss.ext()
	if x.login == nil {
		l, err := ss.srv.newLogin(ss, a.Mechanism)
		if err != nil {
			ss.apply(sessEvent{kind: evAuthDone, status: protocol.Status{Code: protocol.CodeAuthFailed,
				Message: fmt.Sprintf("unknown mechanism %q; this server takes %s", a.Mechanism, strings.Join(ss.srv.authMechs(), ", "))}})
			return
		}
		x.login = l
		x.login.mech = a.Mechanism
	} else if a.Mechanism != "" {
		ss.apply(sessEvent{kind: evAuthDone, status: protocol.Status{Code: protocol.CodeProtocol,
			Message: "only the first auth frame names the mechanism"}})
		return
	}
	l, s, addr := x.login, ss.srv, ss.c.RemoteAddr()
	s.workers.Go(func() {
		ev := s.runAuthStep(l, a.Data)
		if h := s.logins.stepHook.Load(); h != nil {
			(*h)(ev)
		}
		ss.finishAuthStep(l, ev, addr)
	})
}

// newLogin starts a conversation whose lookup records the account it
// found. An unknown name (or a Store that fails) gets the name's decoy
// credentials: the conversation goes on and fails where a wrong password
// fails, with the same answer, after the same work.
func (s *Server) newLogin(ss *session, mech string) (*login, error) {
	l := &login{}
	srv, _ := scram.SHA256.NewServer(func(name string) (scram.StoredCredentials, error) {
		l.name.Store(&name)
		a, err := s.Users.Lookup(name)
		if err != nil {
			if !errors.Is(err, auth.ErrUnknownUser) {
				go s.logger().Error("looking up a user failed; the login fails", "error", err)
			}
			return s.logins.decoys.For(name), nil
		}
		l.acct = &a
		return a.Credentials, nil
	})
	conv, err := ss.conversation(srv, mech)
	if err != nil {
		return nil, err
	}
	l.conv = conv
	return l, nil
}

// runAuthStep feeds one client message to the conversation, off the loop,
// and says what the session does next: send the server's answer in an A
// frame (status empty), end the login with ok and server-final, or fail.
func (s *Server) runAuthStep(l *login, data string) sessEvent {
	out, err := l.conv.Step(data)
	switch {
	case err != nil:
		return sessEvent{kind: evAuthDone, status: authFailed}
	case !l.conv.Done():
		frame, err := protocol.Marshal(protocol.TypeAuth, protocol.Auth{Data: out})
		if err != nil {
			return sessEvent{kind: evAuthDone, status: authFailed}
		}
		return sessEvent{kind: evAuthDone, payload: frame}
	case !l.conv.Valid() || l.acct == nil:
		return sessEvent{kind: evAuthDone, status: authFailed}
	}
	root, err := s.userRoot(*l.acct)
	if err != nil {
		go s.logger().Error("cannot open a user's folder", "user", l.acct.Name, "error", err)
		return sessEvent{kind: evAuthDone, status: protocol.Status{Code: sdk.CodeInternal,
			Message: "the server cannot open your folder"}}
	}
	return sessEvent{kind: evAuthDone, status: protocol.Status{Code: protocol.CodeOK, Data: out},
		user: &loggedIn{user: l.acct.Name, root: root, acct: l.acct, who: userOf(*l.acct),
			limits: s.loginLimits(*l.acct, root)}}
}

// userRoot is the account's tree, opened at its first login and kept: a
// relative root is opened through the server's own (it cannot leave it),
// an absolute one as it is. A missing one is created, readable by the
// server's group at most.
func (s *Server) userRoot(a auth.Account) (*os.Root, error) {
	dir := a.Root
	if dir == "" {
		dir = a.Name
	}
	s.logins.mu.Lock()
	defer s.logins.mu.Unlock()
	if r, ok := s.logins.roots[dir]; ok {
		return r, nil
	}
	var r *os.Root
	var err error
	if filepath.IsAbs(dir) {
		if err = os.MkdirAll(dir, 0o750); err == nil {
			r, err = os.OpenRoot(dir)
		}
	} else {
		if err = s.root.MkdirAll(dir, 0o750); err == nil {
			r, err = s.root.OpenRoot(dir)
		}
	}
	if err != nil {
		return nil, err
	}
	s.logins.roots[dir] = r
	return r, nil
}

// closeRoots closes the users' trees when the server stops.
func (l *logins) closeRoots() {
	if l == nil {
		return
	}
	l.mu.Lock()
	defer l.mu.Unlock()
	for _, r := range l.roots {
		r.Close()
	}
}

// ext is the session's rarely used state, made on first use.
func (ss *session) ext() *sessionExtra {
	if ss.extra == nil {
		ss.extra = new(sessionExtra)
	}
	return ss.extra
}

// root is the tree the session's requests run on: its user's, or the
// server's when it has no users.
func (ss *session) root() *os.Root {
	if ss.extra != nil && ss.extra.user != nil {
		return ss.extra.user.root
	}
	return ss.srv.root
}

// helloMessage is the server's Hello: with users, the login it takes;
// without, that it serves anonymously.
func (s *Server) helloMessage() protocol.Hello {
	h := protocol.Hello{Protocol: protocol.ProtocolName, Version: protocol.Version,
		Server: "selectftpd/" + Version, Checksums: s.sums}
	if s.Users != nil {
		h.Auth = s.authMechs()
	} else {
		h.Anonymous = true
	}
	return h
}
