// Package mv is the "mv" verb of selectftp: an atomic rename within the
// session root. README.md tells how to use it.
package mv

import (
	"context"
	"errors"
	"io/fs"
	"path"
	"strings"
	"syscall"

	"github.com/selectftp/selectftp/plugins/internal/fileop"
	"github.com/selectftp/selectftp/sdk"
)

const usage = `usage: mv [-n] FROM TO

Renames FROM to TO within the tree, atomically. When TO is an existing
folder, FROM moves into it. An existing file TO is replaced, unless -n;
a folder is never replaced by a file nor a file by a folder. FROM = TO,
TO inside FROM and the top of the tree are refused.

Options (or parameters):
  -n    no clobber: refuse when TO exists (param no_clobber)

Examples:
  mv draft.txt final.txt
  mv final.txt reports
  mv -n new.txt old.txt
`

type mv struct{}

// New returns the "mv" command.
func New() sdk.Command { return mv{} }

func (mv) Describe() sdk.Description {
	return sdk.Description{Verb: "mv", Summary: "rename or move a file or folder", Usage: usage,
		Options: []sdk.Option{{Short: "-n", Param: "no_clobber"}},
		// A folder moves with what is below it, so its sub-paths' own
		// permissions must allow the move too; and both ends are renamed.
		Access: []sdk.Access{{Perm: sdk.PermRename, Tree: true}}}
}

func (mv) Run(ctx context.Context, req *sdk.Request, w sdk.ResponseWriter) error {
	a, err := fileop.Parse(req, "mv", fileop.Flag{Short: "-n", Param: "no_clobber"})
	if err != nil {
		return err
	}
	if len(a.Paths) != 2 {
		return sdk.Errorf(sdk.CodeBadRequest, "mv takes FROM and TO, got %d paths", len(a.Paths))
	}
	if req.Root == nil {
		return sdk.Errorf(sdk.CodeInternal, "mv: the server gave no root folder (the host gives one only to a verb whose description declares file access: rebuild a plugin older than that)")
	}
	fromArg, toArg := a.Paths[0], a.Paths[1]
	from, err := fileop.Resolve(req, fromArg)
	if err != nil {
		return err
	}
	to, err := fileop.Resolve(req, toArg)
	if err != nil {
		return err
	}
	if from == "." {
		return sdk.Errorf(sdk.CodePermission, "mv %s: the top of the tree cannot be moved", fromArg)
	}
	root := req.Root
	src, err := root.Lstat(from)
	if err != nil {
		return fileop.Fail("mv", fromArg, err)
	}
	// Into an existing folder, as mv(1) does (a symlink to a folder
	// counts; the root keeps it inside the tree).
	if fi, err := root.Stat(to); err == nil && fi.IsDir() && to != from {
		to = path.Join(to, path.Base(from))
		toArg = sdk.Virtual(to)
	}
	switch {
	case to == from:
		return sdk.Errorf(sdk.CodeBadRequest, "mv %s %s: the same path", fromArg, toArg)
	case strings.HasPrefix(to, from+"/"):
		return sdk.Errorf(sdk.CodeBadRequest, "mv %s %s: a folder cannot move into itself", fromArg, toArg)
	case to == ".":
		return sdk.Errorf(sdk.CodePermission, "mv %s %s: the top of the tree cannot be replaced", fromArg, toArg)
	}
	dst, err := root.Lstat(to)
	switch {
	case err == nil && a.Has("no_clobber"):
		return sdk.Errorf(sdk.CodeExists, "mv %s: %s exists (-n)", fromArg, toArg)
	case err == nil && dst.IsDir() && !src.IsDir():
		return sdk.Errorf(sdk.CodeExists, "mv %s: %s is a folder; a file cannot replace it", fromArg, toArg)
	case err == nil && !dst.IsDir() && src.IsDir():
		return sdk.Errorf(sdk.CodeExists, "mv %s: %s is a file; a folder cannot replace it", fromArg, toArg)
	case err != nil && !errors.Is(err, fs.ErrNotExist):
		return fileop.Fail("mv", toArg, err)
	}
	if a.Has("no_clobber") && !src.IsDir() {
		return noClobber(req, fromArg, toArg, from, to)
	}
	if err := root.Rename(from, to); err != nil {
		if errors.Is(err, syscall.ENOTEMPTY) || errors.Is(err, syscall.EEXIST) {
			return sdk.Errorf(sdk.CodeExists, "mv %s: %s is a folder that is not empty", fromArg, toArg)
		}
		return fileop.Fail("mv", fromArg+" "+toArg, err)
	}
	return nil
}

// noClobber moves a file with no window in which a TO made meanwhile
// would be replaced: link(2) refuses an existing name atomically, then
// FROM's name goes. (os.Root has no RENAME_NOREPLACE.)
func noClobber(req *sdk.Request, fromArg, toArg, from, to string) error {
	err := req.Root.Link(from, to)
	if errors.Is(err, fs.ErrExist) {
		return sdk.Errorf(sdk.CodeExists, "mv %s: %s exists (-n)", fromArg, toArg)
	}
	if err != nil {
		return fileop.Fail("mv", fromArg+" "+toArg, err)
	}
	if err := req.Root.Remove(from); err != nil {
		req.Root.Remove(to) // leave it as it was
		return fileop.Fail("mv", fromArg, err)
	}
	return nil
}
