// Package ls is the "ls" verb of selectftp: it lists folders as NDJSON, one
// entry per line. README.md tells how to use it.
package ls

import (
	"bufio"
	"context"
	"encoding/json"
	"errors"
	"io"
	"io/fs"
	"os"
	"path"
	"slices"
	"strings"

	"github.com/selectftp/selectftp/plugins/internal/fileop"
	"github.com/selectftp/selectftp/plugins/internal/staging"
	"github.com/selectftp/selectftp/sdk"
)

const usage = `usage: ls [-l] [-a] [PATH|GLOB...]

Lists the folder PATH (the current folder when none is given), a file, or
the names a glob (*, ?, [...] in the last element) matches, sorted by
name. The body is one JSON object per line per entry: name, path, type
(file, dir, link, other), size, mode and mtime. Names starting with "."
are listed only with -a.

Options (or parameters):
  -l    long: the client shows type, mode, size and time (param long)
  -a    all: hidden names too (param all)

Examples:
  ls
  ls -a reports
  ls /reports/*.pdf
`

// chunk is how many names a folder is read at a time: memory holds the
// names of a folder, never all its entries' details.
const chunk = 1024

type ls struct{}

// New returns the "ls" command.
func New() sdk.Command { return ls{} }

func (ls) Describe() sdk.Description {
	return sdk.Description{Verb: "ls", Summary: "list folders and files (NDJSON)", Usage: usage,
		Options: []sdk.Option{{Short: "-l", Param: "long"}, {Short: "-a", Param: "all"}},
		Access:  []sdk.Access{{Perm: sdk.PermList, Glob: true}}}
}

func (ls) Run(ctx context.Context, req *sdk.Request, w sdk.ResponseWriter) error {
	a, err := fileop.Parse(req, "ls", fileop.Flag{Short: "-l", Param: "long"}, fileop.Flag{Short: "-a", Param: "all"})
	if err != nil {
		return err
	}
	if req.Root == nil {
		return sdk.Errorf(sdk.CodeInternal, "ls: the server gave no root folder (the host gives one only to a verb whose description declares file access: rebuild a plugin older than that)")
	}
	paths := a.Paths
	if len(paths) == 0 {
		paths = []string{"."}
	}
	l := &lister{ctx: ctx, root: req.Root, all: a.Has("all"), out: bufio.NewWriterSize(w, 32<<10)}
	for _, p := range paths {
		if err := l.list(req, p); err != nil {
			return err
		}
	}
	return l.out.Flush()
}

type lister struct {
	ctx  context.Context
	root *os.Root
	all  bool
	out  *bufio.Writer
	enc  *json.Encoder
}

func (l *lister) list(req *sdk.Request, p string) error {
	rel, err := fileop.Resolve(req, p)
	if err != nil {
		return err
	}
	dir, base := path.Split(rel)
	if rel != "." && hasMeta(base) {
		if _, err := path.Match(base, ""); err != nil {
			return sdk.Errorf(sdk.CodeBadRequest, "ls %s: a bad pattern", p)
		}
		dir = path.Clean("./" + dir)
		hidden := l.all || strings.HasPrefix(base, ".")
		n, err := l.folder(dir, func(name string) bool {
			ok, _ := path.Match(base, name)
			return ok && (hidden || !fileop.Hidden(name))
		})
		switch {
		case err != nil:
			return fileop.Fail("ls", p, err)
		case n == 0:
			return sdk.Errorf(sdk.CodeNotFound, "ls: no match for %s", p)
		}
		return nil
	}
	// The argument itself follows a symlink (a link to a folder lists the
	// folder), as ls does; the root keeps it inside.
	fi, err := l.root.Stat(rel)
	if err != nil {
		if fi, err = l.root.Lstat(rel); err != nil { // a dangling link lists itself
			return fileop.Fail("ls", p, err)
		}
	}
	if !fi.IsDir() {
		if fi, err = l.root.Lstat(rel); err != nil {
			return fileop.Fail("ls", p, err)
		}
		return l.emit(sdk.Virtual(rel), fi)
	}
	_, err = l.folder(rel, func(name string) bool { return l.all || !fileop.Hidden(name) })
	if err != nil {
		return fileop.Fail("ls", p, err)
	}
	return nil
}

// folder emits the entries of dir whose names keep accepts, sorted, and
// returns how many. It holds the names only: details are read per line.
func (l *lister) folder(dir string, keep func(string) bool) (int, error) {
	sub, err := l.root.OpenRoot(dir) // pins the folder against renames
	if err != nil {
		return 0, err
	}
	defer sub.Close()
	f, err := sub.Open(".")
	if err != nil {
		return 0, err
	}
	var names []string
	for {
		ents, err := f.ReadDir(chunk)
		for _, e := range ents {
			if n := e.Name(); !staging.Is(n) && keep(n) {
				names = append(names, n)
			}
		}
		if errors.Is(err, io.EOF) || (err == nil && len(ents) == 0) {
			break
		}
		if err != nil {
			f.Close()
			return 0, err
		}
		if err := l.ctx.Err(); err != nil {
			f.Close()
			return 0, err
		}
	}
	f.Close()
	slices.Sort(names)
	n := 0
	for i, name := range names {
		fi, err := sub.Lstat(name)
		if errors.Is(err, fs.ErrNotExist) {
			continue // removed since it was read: it is not there
		}
		if err != nil {
			return n, err
		}
		if err := l.emit(sdk.Virtual(path.Join(dir, name)), fi); err != nil {
			return n, err
		}
		n++
		if i%chunk == 0 {
			if err := l.ctx.Err(); err != nil {
				return n, err
			}
		}
	}
	return n, nil
}

func (l *lister) emit(vpath string, fi fs.FileInfo) error {
	if l.enc == nil {
		l.enc = json.NewEncoder(l.out)
		l.enc.SetEscapeHTML(false)
	}
	return l.enc.Encode(fileop.EntryOf(vpath, fi))
}

// hasMeta reports whether a path element is a glob pattern.
func hasMeta(s string) bool { return strings.ContainsAny(s, `*?[\`) }
