package sdk

import (
	"path"
	"strings"
	"unicode"
)

// Resolve turns a path as a client typed it into the path under Root it
// names, for Root's methods. Paths are virtual: "/" is the top of the tree
// the session sees, a relative path starts at the session's current
// folder (Dir), and ".." stops at the top, as in sftp and FTP. The result
// is clean, relative to Root ("." for the top) and never starts with "..".
// Root itself still refuses what a symlink would take outside.
//
// A path with a control character (a newline, a tab, a NUL) is refused
// with CodeBadRequest: such names are never stored, so listings stay one
// name per line.
func (r *Request) Resolve(p string) (string, error) {
	if p == "" {
		return "", Errorf(CodeBadRequest, "an empty path")
	}
	if i := strings.IndexFunc(p, unicode.IsControl); i >= 0 {
		return "", Errorf(CodeBadRequest, "%q contains a control character: such names are not allowed", shortPath(p))
	}
	v := p
	if !strings.HasPrefix(p, "/") {
		v = path.Join(r.dir(), p)
	}
	rel := strings.TrimPrefix(path.Clean("/"+v), "/")
	if rel == "" {
		return ".", nil
	}
	return rel, nil
}

// Virtual is the path as the client sees it ("/a/b") of a path Resolve
// returned, for messages and listings.
func Virtual(rel string) string {
	if rel == "." || rel == "" {
		return "/"
	}
	return "/" + strings.TrimPrefix(rel, "/")
}

// dir is the session's current folder, "/" when none was set.
func (r *Request) dir() string {
	if r.Dir == "" {
		return "/"
	}
	return r.Dir
}

// SetDir makes dir the session's current folder for the requests that
// follow this one, once it ends ok: what a "cd" command does. dir is
// virtual, absolute and clean (Virtual of a path Resolve returned); the
// command checks it is a folder first.
func SetDir(w ResponseWriter, dir string) error {
	if !path.IsAbs(dir) || path.Clean(dir) != dir {
		return Errorf(CodeInternal, "SetDir: %q is not an absolute, clean path", dir)
	}
	ds, ok := w.(dirSetter)
	if !ok {
		return Errorf(CodeInternal, "SetDir: this server keeps no current folder")
	}
	return ds.SetSessionDir(dir)
}

// dirSetter is a response writer that can change the session's folder:
// the host's, and the plugin runtime's (which asks the host).
type dirSetter interface {
	SetSessionDir(dir string) error
}
