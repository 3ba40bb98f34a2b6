//go:build unix

package staging

import (
	"errors"
	"os"
	"syscall"
)

// Hold marks f, a staged file, as owned by a live upload until f's last
// descriptor is closed (or the process dies): an exclusive flock(2).
func Hold(f *os.File) error { return flock(f, syscall.LOCK_EX|syscall.LOCK_NB) }

// Orphaned reports whether the staged file at path under root has no live
// owner: nobody holds it (see Hold). It opens the file without following
// a symlink or blocking, and refuses anything but a regular file. An error
// means it cannot tell (a file system without locks, or the file is gone).
func Orphaned(root *os.Root, path string) (bool, error) {
	f, err := root.OpenFile(path, os.O_RDONLY|syscall.O_NONBLOCK|syscall.O_NOFOLLOW, 0)
	if err != nil {
		return false, err
	}
	defer f.Close() // drops the probe's lock, if it got one
	if fi, err := f.Stat(); err != nil || !fi.Mode().IsRegular() {
		return false, errors.New("not a regular file")
	}
	err = flock(f, syscall.LOCK_EX|syscall.LOCK_NB)
	switch {
	case err == nil:
		return true, nil
	case errors.Is(err, syscall.EWOULDBLOCK):
		return false, nil
	}
	return false, err
}

func flock(f *os.File, how int) error {
	rc, err := f.SyscallConn()
	if err != nil {
		return err
	}
	var ferr error
	if err := rc.Control(func(fd uintptr) {
		for {
			if ferr = syscall.Flock(int(fd), how); ferr != syscall.EINTR {
				return
			}
		}
	}); err != nil {
		return err
	}
	return ferr
}
