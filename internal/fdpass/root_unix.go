//go:build linux || darwin || freebsd || netbsd || openbsd

package fdpass

import (
	"fmt"
	"os"
	"runtime"
	"syscall"

	"golang.org/x/sys/unix"
)

// OpenRoot makes an *os.Root of the directory dir refers to: the very
// directory, wherever it is now, never what its old path names today. The
// os package opens a Root only by name, so it goes through the descriptor's
// own name in /proc/self/fd (or /dev/fd), which the kernel resolves to the
// open directory itself, not to its path; the result is checked to be the
// same directory (device and inode) before it is used. The caller still
// closes dir.
func OpenRoot(dir *os.File) (*os.Root, error) {
	rc, err := dir.SyscallConn()
	if err != nil {
		return nil, err
	}
	var (
		root *os.Root
		want unix.Stat_t
		oerr error
	)
	cerr := rc.Control(func(fd uintptr) {
		if oerr = unix.Fstat(int(fd), &want); oerr != nil {
			oerr = os.NewSyscallError("fstat", oerr)
			return
		}
		if want.Mode&unix.S_IFMT != unix.S_IFDIR {
			oerr = fmt.Errorf("plugin root: the host passed %s, which is not a directory (file type %#o)", fdPath(fd), want.Mode&unix.S_IFMT)
			return
		}
		root, oerr = os.OpenRoot(fdPath(fd))
	})
	if cerr != nil {
		return nil, cerr
	}
	if oerr != nil {
		return nil, oerr
	}
	fi, err := root.Stat(".")
	if err != nil {
		root.Close()
		return nil, err
	}
	got, ok := fi.Sys().(*syscall.Stat_t)
	if !ok || uint64(got.Dev) != uint64(want.Dev) || uint64(got.Ino) != uint64(want.Ino) {
		root.Close()
		return nil, fmt.Errorf("plugin root: opening %s reached another directory than the descriptor the host passed (is /proc mounted in the plugin's view?)", root.Name())
	}
	return root, nil
}

// fdPath names descriptor fd of this process in the file system.
func fdPath(fd uintptr) string {
	if runtime.GOOS == "linux" {
		return fmt.Sprintf("/proc/self/fd/%d", fd)
	}
	return fmt.Sprintf("/dev/fd/%d", fd)
}
