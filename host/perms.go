package host

import (
	"context"
	"io/fs"
	"maps"
	"os"
	"path"
	"slices"
	"strings"

	"github.com/selectftp/selectftp/host/auth"
	"github.com/selectftp/selectftp/sdk"
)

// The host checks permissions before a command runs, by what the verb's
// description declares (sdk.Access): a plugin that forgets a check cannot
// grant what the account does not, and a verb that declares no access gets
// no root at all.

// accountKey carries a request's account in its context from the loop
// (start) to dispatch: the host's own copy, which no command can change.
type accountKey struct{}

// withAccount returns ctx carrying a (nil: anonymous, every permission).
func withAccount(ctx context.Context, a *auth.Account) context.Context {
	if a == nil {
		return ctx
	}
	return context.WithValue(ctx, accountKey{}, a)
}

// authorize checks that req's account may do what d declares, before the
// command runs. A verb that declares nothing runs with no Root. Anonymous
// sessions may do everything, but the paths are still read as declared, so
// a request the host cannot read is refused the same with or without users.
func authorize(ctx context.Context, d sdk.Description, req *sdk.Request) error {
	if len(d.Access) == 0 {
		req.Root = nil
		return nil
	}
	needs, err := d.Needs(req)
	if err != nil {
		return err
	}
	a, _ := ctx.Value(accountKey{}).(*auth.Account)
	if a == nil {
		return nil
	}
	for _, n := range needs {
		if n.IfMissing && a.Allows(auth.Perm(n.Perm), n.Path) {
			continue
		}
		if n.IfMissing && exists(req.Root, n.Path) {
			continue // made already: the command will not make it
		}
		if n.IfMissing {
			return sdk.Errorf(sdk.CodePermission, "%s: permission denied (needs %s: it does not exist, and would be made)", n.Path, n.Perm)
		}
		if err := allowed(a, n); err != nil {
			return err
		}
	}
	if len(a.PathPerms) == 0 {
		return nil
	}
	for _, n := range needs {
		if err := noSymlink(req.Root, n.Path); err != nil {
			return err
		}
	}
	return nil
}

// noSymlink refuses a path that passes through a symlink, the last
// element too. Path rules are checked at the path the client names; a link
// would take the command to a place under other rules (say /pub/x to
// /private/x), so where rules differ within a tree links are not followed
// at all. Without rules every place in the tree grants the same, and the
// session's root keeps a link inside the tree, so links are followed.
// Elements are looked at one by one from the top, each only after the one
// above it was found not to be a link; the walk stops at the first that
// does not exist, since nothing below it does either.
func noSymlink(root *os.Root, v string) error {
	if root == nil || v == "/" {
		return nil
	}
	for i := 1; i <= len(v); i++ {
		if i < len(v) && v[i] != '/' {
			continue
		}
		fi, err := root.Lstat(virtualRel(v[:i]))
		if err != nil {
			return nil // missing, or not a folder: the command fails there itself
		}
		if fi.Mode()&fs.ModeSymlink != 0 {
			return sdk.Errorf(sdk.CodePermission, "%s: permission denied (%s is a symlink, not followed where paths have permissions of their own)", v, v[:i])
		}
	}
	return nil
}

// exists reports whether something is at the virtual path v under root
// (nil: nothing can be known, so nothing is there). Any error counts as
// missing: a check that cannot look refuses.
func exists(root *os.Root, v string) bool {
	if root == nil {
		return false
	}
	_, err := root.Lstat(virtualRel(v))
	return err == nil
}

// virtualRel is the virtual path v (clean, absolute) relative to the
// tree's top, as os.Root takes it: "/" is ".".
func virtualRel(v string) string {
	if v == "/" {
		return "."
	}
	return strings.TrimPrefix(v, "/")
}

// allowed checks one need: at its path, and for a tree below it wherever a
// sub-path has permissions of its own.
func allowed(a *auth.Account, n sdk.Need) error {
	p := auth.Perm(n.Perm)
	if !a.Allows(p, n.Path) {
		return sdk.Errorf(sdk.CodePermission, "%s: permission denied (needs %s)", n.Path, n.Perm)
	}
	if !n.Tree {
		return nil
	}
	// Sorted, so that a refusal names the same sub-path every time.
	for _, k := range slices.Sorted(maps.Keys(a.PathPerms)) {
		k = path.Clean("/" + k)
		if strictlyUnder(k, n.Path) && !a.Allows(p, k) {
			return sdk.Errorf(sdk.CodePermission, "%s: permission denied (needs %s at %s, below it)", n.Path, n.Perm, k)
		}
	}
	return nil
}

// strictlyUnder reports whether p is inside dir (not dir itself); both
// are clean and absolute.
func strictlyUnder(p, dir string) bool {
	if p == dir {
		return false
	}
	return dir == "/" || strings.HasPrefix(p, dir+"/")
}

// account is the session's account; nil when it logged in to no one (a
// server without users).
func (ss *session) account() *auth.Account {
	if ss.extra != nil && ss.extra.user != nil {
		return ss.extra.user.acct
	}
	return nil
}

// sdkUser is the session's user as commands see it (nil: anonymous).
func (ss *session) sdkUser() *sdk.User {
	if ss.extra != nil && ss.extra.user != nil {
		return ss.extra.user.who
	}
	return nil
}

// userOf is an account as commands see it: a copy, so that nothing a
// command does to it changes what the host checks.
func userOf(a auth.Account) *sdk.User {
	u := &sdk.User{Name: a.Name, Perms: sdkPerms(a.Perms)}
	if len(a.PathPerms) > 0 {
		u.PathPerms = make(map[string][]sdk.Perm, len(a.PathPerms))
		for k, ps := range a.PathPerms {
			u.PathPerms[k] = sdkPerms(ps)
		}
	}
	return u
}

func sdkPerms(ps []auth.Perm) []sdk.Perm {
	out := make([]sdk.Perm, len(ps))
	for i, p := range ps {
		out[i] = sdk.Perm(p)
	}
	return out
}
