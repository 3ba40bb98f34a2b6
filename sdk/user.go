package sdk

import (
	"path"
	"strings"
)

// Perm is one thing a user may do; the host checks the ones a verb's
// Access declares before the command runs.
type Perm string

// The permissions, one per kind of access or change.
const (
	PermList   Perm = "list"   // ls, stat, cd
	PermRead   Perm = "read"   // get, sum
	PermWrite  Perm = "write"  // put (new files and overwrites)
	PermDelete Perm = "delete" // rm
	PermMkdir  Perm = "mkdir"  // mkdir
	PermRename Perm = "rename" // mv, at both ends
)

// User is who sent a request, as the host logged them in. The host has
// already checked what the verb's Access declares; a command that does
// more (a path it finds itself, such as a folder's entries) asks Allows.
// A User is shared by the session's requests: do not modify it.
type User struct {
	// Name is the account's name.
	Name string
	// Perms apply everywhere in the user's tree unless PathPerms says
	// otherwise for a sub-path.
	Perms []Perm
	// PathPerms maps a virtual path ("/incoming") to the permissions at
	// and below it; the longest matching path wins, whole elements only.
	PathPerms map[string][]Perm
}

// Allows reports whether u may do p at virtualPath ("/" is the top of the
// user's tree). A nil User is anonymous: a server without users grants
// everything. Paths are cleaned first, so "/a/../incoming" is "/incoming".
func (u *User) Allows(p Perm, virtualPath string) bool {
	if u == nil {
		return true
	}
	vp := path.Clean("/" + virtualPath)
	best, found := -1, []Perm(nil)
	for k, ps := range u.PathPerms {
		k = path.Clean("/" + k)
		switch {
		case !under(vp, k):
		case len(k) > best:
			best, found = len(k), ps
		case len(k) == best:
			// "/a" and "/a/" in one map: map order must not decide,
			// so only what both grant is granted.
			found = intersectPerms(found, ps)
		}
	}
	if best >= 0 {
		return hasPerm(found, p)
	}
	return hasPerm(u.Perms, p)
}

// AllowsTree reports whether u may do p at virtualPath and at every
// sub-path below it that has permissions of its own: what a recursive
// remove or a move of a folder needs.
func (u *User) AllowsTree(p Perm, virtualPath string) bool {
	if !u.Allows(p, virtualPath) {
		return false
	}
	vp := path.Clean("/" + virtualPath)
	for k := range u.PathPerms {
		if k = path.Clean("/" + k); under(k, vp) && !u.Allows(p, k) {
			return false
		}
	}
	return true
}

// Allows reports whether the request's user may do p at the path as the
// client typed it (resolved as Resolve does). A path Resolve refuses is
// not allowed.
func (r *Request) Allows(p Perm, clientPath string) bool {
	rel, err := r.Resolve(clientPath)
	if err != nil {
		return false
	}
	return r.User.Allows(p, Virtual(rel))
}

// under reports whether p is dir or inside it; both are clean and absolute.
func under(p, dir string) bool {
	if dir == "/" || p == dir {
		return true
	}
	return strings.HasPrefix(p, dir) && p[len(dir)] == '/'
}

func hasPerm(ps []Perm, p Perm) bool {
	for _, q := range ps {
		if q == p {
			return true
		}
	}
	return false
}

func intersectPerms(a, b []Perm) []Perm {
	var out []Perm
	for _, p := range a {
		if hasPerm(b, p) {
			out = append(out, p)
		}
	}
	return out
}
