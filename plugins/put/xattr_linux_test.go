package put

import (
	"os"
	"syscall"
)

// hasXattrs reports whether f's file system keeps user xattrs.
func hasXattrs(f *os.File) bool {
	return syscall.Setxattr(f.Name(), "user.selectftp.probe", []byte("1"), 0) == nil
}
