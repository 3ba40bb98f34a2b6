package put

import (
	"os"
	"syscall"

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

// onDisk returns the bytes of the blocks f holds, delayed allocations
// included. AT_STATX_DONT_SYNC spares a network file system a flush of
// f's dirty pages: an older, lower figure only makes admit more careful.
func onDisk(f *os.File) (int64, bool) {
	rc, err := f.SyscallConn()
	if err != nil {
		return 0, false
	}
	var st unix.Statx_t
	var serr error
	if err := rc.Control(func(fd uintptr) {
		serr = unix.Statx(int(fd), "", unix.AT_EMPTY_PATH|unix.AT_STATX_DONT_SYNC, unix.STATX_BLOCKS, &st)
	}); err != nil {
		return 0, false
	}
	if serr == nil && st.Mask&unix.STATX_BLOCKS != 0 {
		return clampMul(st.Blocks, 512), true
	}
	fi, err := f.Stat() // statx missing (before Linux 4.11)
	if err != nil {
		return 0, false
	}
	sys, ok := fi.Sys().(*syscall.Stat_t)
	if !ok {
		return 0, false
	}
	return clampMul(uint64(sys.Blocks), 512), true
}
