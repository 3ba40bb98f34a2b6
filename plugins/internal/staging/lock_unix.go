//go:build unix

package staging

import (
	"errors"
	"os"
	"syscall"
)

// Hold marks f, a staged file, as owned by a live upload until f's last
// descriptor is closed (or the process dies): an exclusive flock(2). f
// must be open for writing: NFS emulates flock with a POSIX write lock.
// ErrHeld means a sweep claimed the file between its creation and Hold:
// the caller must give it up and create another.
func Hold(f *os.File) error {
	err := flock(f, syscall.LOCK_EX|syscall.LOCK_NB)
	if errors.Is(err, syscall.EWOULDBLOCK) {
		return ErrHeld
	}
	return err
}

// Claim opens the staged file at path and takes its lock, so that nobody
// can Hold it while the caller removes it; closing the returned file lets
// go. ErrHeld means a live upload holds it (see Hold); any other error
// means Claim cannot tell (a file system without locks, a file gone or
// not regular), and the caller must keep the file or go by its age.
//
// The probe opens the file for writing, as an exclusive lock on NFS needs
// (opened read-only, it failed with EBADF and every file looked
// unknowable), without blocking on a FIFO or device swapped in; anything
// but a regular file, a symlink included, is refused.
func Claim(root *os.Root, path string) (*os.File, error) {
	lfi, err := root.Lstat(path)
	if err != nil {
		return nil, err
	}
	if !lfi.Mode().IsRegular() {
		return nil, errNotRegular
	}
	f, err := root.OpenFile(path, os.O_RDWR|syscall.O_NONBLOCK|syscall.O_NOFOLLOW, 0)
	if err != nil {
		return nil, err
	}
	// The root follows a symlink swapped in since the Lstat: the open
	// file must be the one looked at.
	if fi, err := f.Stat(); err != nil || !fi.Mode().IsRegular() || !os.SameFile(fi, lfi) {
		f.Close()
		return nil, errNotRegular
	}
	if err := Hold(f); err != nil {
		f.Close()
		return nil, err
	}
	return f, nil
}

var errNotRegular = errors.New("staging: not a regular file")

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
