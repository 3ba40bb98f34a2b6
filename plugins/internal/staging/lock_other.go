//go:build !unix

package staging

import (
	"errors"
	"os"
)

var errNoLocks = errors.New("staging: no file locks here")

// Hold cannot mark f here; sweeps fall back to the file's age.
func Hold(*os.File) error { return errNoLocks }

// Orphaned cannot tell here.
func Orphaned(*os.Root, string) (bool, error) { return false, errNoLocks }
