package put

import (
	"os"

	"golang.org/x/sys/unix"
)

// statfs returns the room on d's file system: blocks an unprivileged user
// may still use, so root's reserved blocks count as full.
func statfs(d *os.File) (space, error) {
	rc, err := d.SyscallConn()
	if err != nil {
		return space{}, err
	}
	var st unix.Statfs_t
	var serr error
	if err := rc.Control(func(fd uintptr) { serr = unix.Fstatfs(int(fd), &st) }); err != nil {
		return space{}, err
	}
	if serr != nil {
		return space{}, serr
	}
	bs := st.Frsize
	if bs <= 0 {
		bs = st.Bsize
	}
	return space{avail: clampMul(st.Bavail, bs), total: clampMul(st.Blocks, bs), ok: true}, nil
}

// clampMul is n*size in bytes, at most the largest int64.
func clampMul(n uint64, size int64) int64 {
	if size <= 0 {
		return 0
	}
	if n > uint64(1<<63-1)/uint64(size) {
		return 1<<63 - 1
	}
	return int64(n) * size
}
