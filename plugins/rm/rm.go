// Package rm is the "rm" verb of selectftp: it removes files and folders
// under the session root. README.md tells how to use it.
package rm

import (
	"context"
	"errors"
	"io/fs"
	"os"
	"path"
	"strings"
	"syscall"

	"github.com/selectftp/selectftp/plugins/internal/fileop"
	"github.com/selectftp/selectftp/plugins/internal/staging"
	"github.com/selectftp/selectftp/protocol"
	"github.com/selectftp/selectftp/sdk"
)

const usage = `usage: rm [-r] PATH...

Removes each PATH: a file, a symlink (not what it points to), an empty
folder, or with -r a folder and everything in it. The top of the tree
cannot be removed. Stops at the first failure, which the status names;
the paths before it are removed.

Options (or parameters):
  -r    recursive: remove folders and their contents (param recursive)

Examples:
  rm notes.txt
  rm -r old-reports
`

type rm struct{}

// New returns the "rm" command.
func New() sdk.Command { return rm{} }

func (rm) Describe() sdk.Description {
	return sdk.Description{Verb: "rm", Summary: "remove files and folders", Usage: usage,
		Options: []sdk.Option{{Short: "-r", Param: "recursive"}},
		Access:  []sdk.Access{{Perm: sdk.PermDelete, TreeIf: "recursive"}}}
}

func (rm) Run(ctx context.Context, req *sdk.Request, w sdk.ResponseWriter) error {
	a, err := fileop.Parse(req, "rm", fileop.Flag{Short: "-r", Param: "recursive"})
	if err != nil {
		return err
	}
	if len(a.Paths) == 0 {
		return sdk.Errorf(sdk.CodeBadRequest, "rm needs a path")
	}
	if req.Root == nil {
		return sdk.Errorf(sdk.CodeInternal, "rm: the server gave no root folder (the host gives one only to a verb whose description declares file access: rebuild a plugin older than that)")
	}
	// Every path is checked before any is removed: a typo in the last
	// one must not leave the first ones gone.
	rels := make([]string, len(a.Paths))
	for i, p := range a.Paths {
		if rels[i], err = fileop.Resolve(req, p); err != nil {
			return err
		}
		if rels[i] == "." {
			return sdk.Errorf(sdk.CodePermission, "rm %s: the top of the tree cannot be removed", p)
		}
	}
	// The host keeps a user's storage for their quota: say what went, on
	// failure too, since the paths before the failing one are gone.
	var freed storage
	defer func() {
		if req.User != nil && (freed.files > 0 || freed.bytes > 0) { // anonymous: no quota
			w.SetMeta("usage_bytes", -freed.bytes)
			w.SetMeta("usage_files", -freed.files)
		}
	}()
	for i, p := range a.Paths {
		if err := ctx.Err(); err != nil {
			return err
		}
		if err := remove(req, p, rels[i], a.Has("recursive"), &freed); err != nil {
			return err
		}
	}
	return nil
}

// storage counts regular files and their bytes.
type storage struct{ bytes, files int64 }

// count is what rel holds: itself if a regular file, else the regular
// files under it, symlinks not followed.
func count(root *os.Root, rel string) storage {
	var u storage
	fs.WalkDir(root.FS(), rel, func(_ string, d fs.DirEntry, err error) error {
		if err == nil && d.Type().IsRegular() {
			if fi, err := d.Info(); err == nil {
				u.bytes += fi.Size()
				u.files++
			}
		}
		return nil
	})
	return u
}

func remove(req *sdk.Request, p, rel string, recursive bool, freed *storage) error {
	fi, err := req.Root.Lstat(rel)
	if err != nil {
		return fileop.Fail("rm", p, err)
	}
	if fi.IsDir() && recursive {
		before := count(req.Root, rel)
		// RemoveAll works through the root: a symlink inside is removed,
		// never followed, and nothing outside is reached.
		err := req.Root.RemoveAll(rel)
		left := storage{}
		if err != nil {
			left = count(req.Root, rel) // what a failure left
		}
		freed.bytes += before.bytes - left.bytes
		freed.files += before.files - left.files
		if err != nil {
			return fileop.Fail("rm", p, err)
		}
		return nil
	}
	if fi.Mode().IsRegular() {
		if n, ok, err := take(req.Root, rel); ok {
			if err != nil {
				return fileop.Fail("rm", p, err)
			}
			if n >= 0 {
				freed.bytes += n
				freed.files++
			}
			return nil
		}
	}
	err = req.Root.Remove(rel)
	if errors.Is(err, syscall.ENOTEMPTY) || errors.Is(err, syscall.EEXIST) {
		return sdk.Errorf(sdk.CodeBadRequest, "rm %s: is a folder; use rm -r", p)
	}
	if err != nil {
		return fileop.Fail("rm", p, err)
	}
	return nil
}

// take removes the regular file at rel and returns its size (-1: no
// regular file was freed), measured once it left the name: it is first
// renamed to a staging name (which no verb serves), so a put replacing rel
// meanwhile, which accounts for the file it displaces, can never have its
// new file removed under the old one's size. ok is false if rel could not
// be taken that way (gone, or swapped for a folder, which goes back): the
// caller removes it by name.
//
// The file is held (staging.Claim) before it takes the staging name, when
// it can be opened: a put's sweep, in another process, takes an unheld
// staging file for a dead upload's and would remove it first, leaving
// nothing counted (finding 6 of session 15). A file rm cannot open is
// not held: should a sweep take it first, rm counts nothing and the
// usage errs high, never low.
func take(root *os.Root, rel string) (size int64, ok bool, err error) {
	if held, err := staging.Claim(root, rel); err == nil {
		defer held.Close() // after the remove
	}
	tmp := path.Join(path.Dir(rel), staging.Name())
	if root.Rename(rel, tmp) != nil {
		return -1, false, nil
	}
	if afterRename != nil {
		afterRename(rel)
	}
	fi, err := root.Lstat(tmp)
	switch {
	case err != nil:
		return -1, true, nil // gone already: not ours to count
	case fi.IsDir():
		if err := putBack(root, tmp, rel); err != nil {
			return -1, true, err
		}
		return -1, false, nil
	}
	if err := root.Remove(tmp); err != nil {
		return -1, true, err
	}
	if !fi.Mode().IsRegular() {
		return -1, true, nil // a link or the like swapped in: no file freed
	}
	return fi.Size(), true, nil
}

// afterRename, when set by a test, runs between take's rename and its
// look at what it moved: the window a client swaps a folder in.
var afterRename func(rel string)

// putBack gives a folder that was swapped in for rel, and that take moved
// to tmp, its name back. If rel was taken again meanwhile the folder goes
// beside it under a name of its own: left under the staging name it would
// be invisible, never swept, and still counted (finding 7 of session 15).
func putBack(root *os.Root, tmp, rel string) error {
	if _, err := root.Lstat(rel); errors.Is(err, fs.ErrNotExist) && root.Rename(tmp, rel) == nil {
		return nil
	}
	for range 8 {
		kept := rel + ".rm-kept-" + strings.TrimPrefix(staging.Name(), staging.Prefix)
		if _, err := root.Lstat(kept); !errors.Is(err, fs.ErrNotExist) {
			continue
		}
		if root.Rename(tmp, kept) == nil {
			return sdk.Errorf(protocol.CodeBusy, "rm %s: a folder took its place during the remove and the name was taken again; the folder is kept as %s", rel, kept)
		}
	}
	return sdk.Errorf(sdk.CodeInternal, "rm %s: a folder took its place during the remove and could not be given a name back; it is under %s", rel, tmp)
}
