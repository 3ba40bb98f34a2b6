package auth

import (
	"fmt"
	"strings"

	"github.com/selectftp/selectftp/sdk"
)

// allPerms is every permission, in the order lists print them.
var allPerms = []Perm{PermList, PermRead, PermWrite, PermDelete, PermMkdir, PermRename}

// AllPerms returns every permission, in a fresh slice the caller may keep.
func AllPerms() []Perm {
	return append([]Perm(nil), allPerms...)
}

// ParsePerms reads a comma-separated list such as "list,read,write".
// Spaces around names are ignored, a repeated name counts once, and ""
// is no permission at all. An unknown name is an error naming it, so a
// typo never silently grants or denies.
func ParsePerms(s string) ([]Perm, error) {
	if strings.TrimSpace(s) == "" {
		return []Perm{}, nil
	}
	return checkPerms(strings.Split(s, ","))
}

// CheckPerms validates permission names (as a file lists them) and
// returns them as Perms without repeats.
func CheckPerms(names []string) ([]Perm, error) {
	return checkPerms(names)
}

func checkPerms(names []string) ([]Perm, error) {
	out := make([]Perm, 0, len(names))
	for _, n := range names {
		p := Perm(strings.TrimSpace(n))
		known := false
		for _, k := range allPerms {
			known = known || p == k
		}
		if !known {
			return nil, fmt.Errorf("auth: unknown permission %q (known: %s)", n, FormatPerms(allPerms))
		}
		if !hasPerm(out, p) {
			out = append(out, p)
		}
	}
	return out, nil
}

// FormatPerms is ParsePerms' inverse: "list,read".
func FormatPerms(ps []Perm) string {
	s := make([]string, len(ps))
	for i, p := range ps {
		s[i] = string(p)
	}
	return strings.Join(s, ",")
}

func hasPerm(ps []Perm, p Perm) bool {
	for _, q := range ps {
		if q == p {
			return true
		}
	}
	return false
}

// Allows reports whether a may do p at virtualPath (a path in a's tree,
// "/" its top). The PathPerms entry with the longest path that is
// virtualPath or one of its parents decides, whole elements only: an entry
// for "/inc" says nothing about "/incoming". Without one, Perms decides.
// Paths are cleaned first, so "/a/../incoming" is "/incoming". It is
// sdk.User.Allows, so a command asking and the host checking agree.
func (a Account) Allows(p Perm, virtualPath string) bool {
	return (&sdk.User{Name: a.Name, Perms: a.Perms, PathPerms: a.PathPerms}).Allows(p, virtualPath)
}
