//go:build unix

package users

import (
	"errors"
	"fmt"
	"io/fs"
	"os"
	"syscall"
)

// openDecoyKey opens the key without blocking: a FIFO swapped in would
// otherwise hold the start forever. The default path is opened without
// following a symlink, since it sits in the users file's folder where a
// link could point anywhere; a named one may be a link.
func openDecoyKey(name string, named bool) (*os.File, error) {
	flags := os.O_RDONLY | syscall.O_NONBLOCK | syscall.O_CLOEXEC
	if !named {
		flags |= syscall.O_NOFOLLOW
	}
	return os.OpenFile(name, flags, 0)
}

// isSymlinkRefusal tells O_NOFOLLOW's refusal (ELOOP) of a symlink.
func isSymlinkRefusal(err error) bool { return errors.Is(err, syscall.ELOOP) }

// checkDecoyKeyOwner refuses a key owned by another user than the
// server's or root: that user could read or replace it.
func checkDecoyKeyOwner(st fs.FileInfo) error {
	sys, ok := st.Sys().(*syscall.Stat_t)
	if !ok {
		return nil
	}
	if euid := os.Geteuid(); int(sys.Uid) != euid && sys.Uid != 0 {
		return fmt.Errorf("owned by uid %d, not the server's (%d) nor root (chown it)", sys.Uid, euid)
	}
	return nil
}
