package put

import (
	"errors"
	"io/fs"
	"os"
)

// placement is what a commit did: whether the staged file took its name
// (it may have, even when a later folder sync failed) and the size of the
// regular file it displaced, -1 for none.
type placement struct {
	placed   bool
	replaced int64
}

// errSwapped is the error of a commit whose target turned into a folder
// since the upload was checked: the folder stays, the upload fails.
var errSwapped = errors.New("the target became a folder during the upload")

// placeByRename is placeOver where the system cannot swap two names
// atomically: it measures the target by name, then renames over it. A rm
// or put of the same name between the two can make the user's usage
// count the old file's removal twice (see placeOver): this is the
// fallback, not the rule.
func placeByRename(root *os.Root, dir, from, to string) (placement, error) {
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
