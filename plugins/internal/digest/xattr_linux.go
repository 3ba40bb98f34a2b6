package digest

import (
	"os"

	"golang.org/x/sys/unix"
)

func getAttr(f *os.File, name string) (string, error) {
	rc, err := f.SyscallConn()
	if err != nil {
		return "", err
	}
	buf := make([]byte, 160)
	var n int
	var gerr error
	if err := rc.Control(func(fd uintptr) { n, gerr = unix.Fgetxattr(int(fd), name, buf) }); err != nil {
		return "", err
	}
	if gerr != nil {
		return "", gerr
	}
	return string(buf[:n]), nil
}

func setAttr(f *os.File, name, v string) error {
	rc, err := f.SyscallConn()
	if err != nil {
		return err
	}
	var serr error
	if err := rc.Control(func(fd uintptr) { serr = unix.Fsetxattr(int(fd), name, []byte(v), 0) }); err != nil {
		return err
	}
	return serr
}

func removeAttr(f *os.File, name string) error {
	rc, err := f.SyscallConn()
	if err != nil {
		return err
	}
	var rerr error
	if err := rc.Control(func(fd uintptr) { rerr = unix.Fremovexattr(int(fd), name) }); err != nil {
		return err
	}
	return rerr
}
