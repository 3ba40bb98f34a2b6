package put

import (
	"errors"
	"io/fs"
	"os"
	"syscall"

	"github.com/selectftp/selectftp/protocol"
	"github.com/selectftp/selectftp/sdk"
)

// placement is what a commit did: whether the staged file took its name
// (it may have, even when a later folder sync failed) and the size of the
// regular file it displaced, -1 for none.
type placement struct {
	placed   bool
	replaced int64
}

// idOf is fi's identity (sweep.go's fileID), ok false where the system does not tell it.
func idOf(fi fs.FileInfo) (fileID, bool) {
	st, ok := fi.Sys().(*syscall.Stat_t)
	if !ok {
		return fileID{}, false
	}
	return fileID{dev: uint64(st.Dev), ino: uint64(st.Ino)}, true // Dev is uint32 on some systems
}

// movedError is the error of an append whose file (name) left its name,
// or was replaced, while the append ran: the copy it kept would land as a
// new file, counted as such nowhere (the host reserved only its body).
func movedError(name string) error {
	return sdk.Errorf(protocol.CodeBusy, "%s was moved, removed or replaced while it was appended to; nothing was stored, try again", name)
}

// noSwapError is the error of an append that kept bytes, on a file system
// that cannot swap two names atomically: it could not tell that the file
// it replaces is the one it copied.
func noSwapError(name string) error {
	return sdk.Errorf(sdk.CodeUnavailable, "%s: this file system cannot replace a file atomically, so appends that keep the current file's bytes (APPE, REST then STOR) are refused here; upload the whole file instead", name)
}

// errSwapped is the error of a commit whose target turned into a folder
// since the upload was checked: the folder stays, the upload fails.
var errSwapped = errors.New("the target became a folder during the upload")

// placeByRename is placeOver where the system cannot swap two names
// atomically: it measures the target by name, then renames over it. A rm
// or put of the same name between the two can make the user's usage
// count the old file's removal twice (see placeOver): this is the
// fallback, not the rule.
//
// An append that kept bytes (want set) is refused here: between the
// measure and the rename another file can take the name, and the kept
// copy would replace it, or land on an empty name, as if it were new.
func placeByRename(root *os.Root, dir, from, to string, want *fileID) (placement, error) {
	if want != nil {
		return placement{replaced: -1}, noSwapError(to)
	}
	replaced := int64(-1)
	if fi, err := root.Lstat(dir + "/" + to); err == nil && fi.Mode().IsRegular() {
		replaced = fi.Size()
	} else if err != nil && !errors.Is(err, fs.ErrNotExist) {
		return placement{replaced: -1}, err
	}
	if err := root.Rename(dir+"/"+from, dir+"/"+to); err != nil {
		return placement{replaced: -1}, err
	}
	return placement{placed: true, replaced: replaced}, nil
}
