//go:build unix

package client

import (
	"os"
	"syscall"
)

// noFollow keeps a part file's name from being a symbolic link planted to
// make a download write elsewhere.
const noFollow = syscall.O_NOFOLLOW

// lockPart takes f's lock without waiting: a part another download is
// writing is not this one's to truncate or append to.
func lockPart(f *os.File) error {
	return syscall.Flock(int(f.Fd()), syscall.LOCK_EX|syscall.LOCK_NB)
}
