//go:build unix

package plugins

import (
	"os"
	"syscall"
)

// checkSafe refuses plugin files that someone other than us (or root) could
// have written: running them would hand that someone the server.
func checkSafe(path string, fi os.FileInfo) error {
	if fi.Mode().Perm()&0o022 != 0 {
		return errorf("%s is writable by group or others (mode %v); chmod go-w it", path, fi.Mode().Perm())
	}
	if st, ok := fi.Sys().(*syscall.Stat_t); ok {
		if uid := uint32(os.Getuid()); st.Uid != uid && st.Uid != 0 {
			return errorf("%s is owned by uid %d, not by this server's user or root", path, st.Uid)
		}
	}
	return nil
}

func identify(fi os.FileInfo) fileID {
	id := fileID{size: fi.Size(), mtime: fi.ModTime()}
	if st, ok := fi.Sys().(*syscall.Stat_t); ok {
		id.ino = st.Ino
	}
	return id
}
