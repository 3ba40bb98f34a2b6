//go:build !unix

package staging

import (
	"errors"
	"os"
)

var errNoLocks = errors.New("staging: no file locks here")

// Hold cannot mark f here; sweeps fall back to the file's age.
func Hold(*os.File) error { return errNoLocks }

// Claim cannot tell here: callers keep the file (or, at start-up, go by
// its age).
func Claim(*os.Root, string) (*os.File, error) { return nil, errNoLocks }
