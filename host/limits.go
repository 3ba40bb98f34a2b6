package host

import (
	"fmt"
	"io/fs"
	"os"
	"sync"

	"github.com/selectftp/selectftp/host/auth"
	"github.com/selectftp/selectftp/protocol"
	"github.com/selectftp/selectftp/sdk"
)

// Per-user limits (auth.Limits): the server keeps one userState per user
// name, shared by all of that user's sessions, for what must be summed
// over them: sessions logged in, the rate buckets, and the storage in use.
// A session keeps the limits it logged in with (a reload of the users file
// applies at the next login), as it keeps its account.

// The metadata keys a command reports a change of the user's storage in:
// signed byte and file counts (put: the new size minus the replaced one,
// and 1 for a new file; rm: minus what it freed). The host adds them to
// the user's usage after the command returns, whatever its status, since
// a command that failed half-way may have changed the tree.
const (
	MetaUsageBytes = "usage_bytes"
	MetaUsageFiles = "usage_files"
)

// userState is what the server knows of one user across their sessions.
type userState struct {
	mu    sync.Mutex
	conns int // sessions logged in
	// The tree's use, known once scanned: regular files and their bytes,
	// plus what uploads in progress have reserved (see bodyQuota).
	scanned            bool
	bytes, files       int64
	resBytes, resFiles int64
	up, down           *bucket // nil: no rate

	scanMu sync.Mutex // one walk of the tree at a time
}

// limitTable is the server's userStates, by user name.
type limitTable struct {
	mu    sync.Mutex
	users map[string]*userState
}

// get returns name's state, made on first use, with buckets for the
// rates in l (a changed rate takes effect for new logins).
func (t *limitTable) get(name string, l auth.Limits) *userState {
	t.mu.Lock()
	defer t.mu.Unlock()
	if t.users == nil {
		t.users = map[string]*userState{}
	}
	u := t.users[name]
	if u == nil {
		u = &userState{}
		t.users[name] = u
	}
	u.mu.Lock()
	u.up = u.up.withRate(l.RateUp)
	u.down = u.down.withRate(l.RateDown)
	u.mu.Unlock()
	return u
}

// userLimits is a logged-in session's view of its user's limits. The loop
// owns the fields below lim; the rest are set at login and never change.
type userLimits struct {
	lim      auth.Limits
	u        *userState
	up, down *bucket

	held    bool // counted in u.conns: OnClose gives it back
	upTimer bool // a timer will resume reading (upload pacing)
}

// loginLimits runs on the login's worker once the password is proven: it
// finds the user's state and, for a user with a quota, walks their tree
// the first time, so the usage is known before their first upload.
func (s *Server) loginLimits(a auth.Account, root *os.Root) *userLimits {
	if a.Limits.IsZero() {
		return nil
	}
	u := s.logins.limits.get(a.Name, a.Limits)
	if a.Limits.HasQuota() {
		if err := u.scan(root); err != nil {
			go s.logger().Warn("could not measure a user's tree in full; their usage counts what was seen", "user", a.Name, "error", err)
		}
	}
	u.mu.Lock()
	up, down := u.up, u.down
	u.mu.Unlock()
	return &userLimits{lim: a.Limits, u: u, up: up, down: down}
}

// scan counts the regular files under root and their bytes, once per user
// and server: later changes come from the commands' usage reports.
// Symlinks are not followed (os.Root would refuse those leaving the tree
// anyway), and what cannot be read is skipped and reported.
func (u *userState) scan(root *os.Root) error {
	u.scanMu.Lock()
	defer u.scanMu.Unlock()
	u.mu.Lock()
	done := u.scanned
	u.mu.Unlock()
	if done {
		return nil
	}
	var bytes, files int64
	var first error
	err := fs.WalkDir(root.FS(), ".", func(p string, d fs.DirEntry, err error) error {
		if err != nil {
			if first == nil {
				first = err
			}
			if d != nil && d.IsDir() && p != "." {
				return fs.SkipDir
			}
			return nil
		}
		if d.Type().IsRegular() {
			if fi, err := d.Info(); err == nil {
				bytes += fi.Size()
				files++
			}
		}
		return nil
	})
	if err == nil {
		err = first
	}
	u.mu.Lock()
	u.bytes, u.files, u.scanned = u.bytes+bytes, u.files+files, true
	u.mu.Unlock()
	return err
}

// admitLogin runs on the loop before a successful login takes effect: a
// user at their most sessions is refused (busy) and the connection
// closes. The slot taken here is given back by OnClose, which runs after
// every posted function, so none is lost.
func (ss *session) admitLogin(ev sessEvent) sessEvent {
	if ev.user == nil || ev.user.limits == nil {
		return ev
	}
	ul := ev.user.limits
	ul.u.mu.Lock()
	full := ul.lim.MaxConns > 0 && ul.u.conns >= ul.lim.MaxConns
	if !full {
		ul.u.conns++
		ul.held = true
	}
	ul.u.mu.Unlock()
	if full {
		return sessEvent{kind: evAuthDone, status: protocol.Status{Code: protocol.CodeBusy,
			Message: fmt.Sprintf("user %s has %d connections already, the most allowed; close one and try again", ev.user.user, ul.lim.MaxConns)}}
	}
	return ev
}

// releaseUser gives the session's slot back when its connection closes.
func (ss *session) releaseUser() {
	if ss.extra == nil || ss.extra.user == nil || ss.extra.user.limits == nil {
		return
	}
	ul := ss.extra.user.limits
	if ul.held {
		ul.held = false
		ul.u.mu.Lock()
		ul.u.conns--
		ul.u.mu.Unlock()
	}
}

// userLimitsOf is the session's limits; nil without any.
func (ss *session) userLimitsOf() *userLimits {
	if ss.extra == nil || ss.extra.user == nil {
		return nil
	}
	return ss.extra.user.limits
}

// checkDeclared refuses, before its body, a request whose declared size
// is over the user's largest file or does not fit in their quota.
func (ss *session) checkDeclared(q protocol.Request) (protocol.Status, bool) {
	ul := ss.userLimitsOf()
	if ul == nil || q.Size == nil || *q.Size <= 0 {
		return protocol.Status{}, true
	}
	size := *q.Size
	if m := ul.lim.MaxFileSize; m > 0 && size > m {
		return protocol.Status{Code: sdk.CodeTooLarge,
			Message: fmt.Sprintf("%d bytes is over your largest file of %d bytes", size, m)}, false
	}
	if qb := ul.lim.QuotaBytes; qb > 0 {
		ul.u.mu.Lock()
		used := ul.u.bytes + ul.u.resBytes
		ul.u.mu.Unlock()
		if used+size > qb {
			return quotaStatus(size, used, qb), false
		}
	}
	return protocol.Status{}, true
}

func quotaStatus(size, used, quota int64) protocol.Status {
	return protocol.Status{Code: protocol.CodeQuotaExceeded,
		Message: fmt.Sprintf("%d bytes do not fit in your quota: %d of %d bytes used", size, max(used, 0), quota)}
}
