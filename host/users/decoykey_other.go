//go:build !unix

package users

import (
	"io/fs"
	"os"
)

// openDecoyKey opens the key; without unix there is no O_NOFOLLOW nor
// O_NONBLOCK to ask for.
func openDecoyKey(name string, named bool) (*os.File, error) { return os.Open(name) }

// isSymlinkRefusal is never true where openDecoyKey cannot refuse links.
func isSymlinkRefusal(error) bool { return false }

// checkDecoyKeyOwner has no owner to compare outside unix.
func checkDecoyKeyOwner(fs.FileInfo) error { return nil }
