//go:build !unix

package client

import (
	"errors"
	"os"
)

const noFollow = 0

// lockPart cannot lock here, so a download never shares a part file: each
// goes to a temporary file of its own and cannot be resumed.
func lockPart(*os.File) error { return errors.New("no file locks on this platform") }
