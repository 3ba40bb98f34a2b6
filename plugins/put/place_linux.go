package put

import (
	"errors"
	"os"

	"golang.org/x/sys/unix"
)

// placeOver renames from onto to, both names in the folder d (opened
// through root as dir), and returns the size of the regular file it
// displaced, -1 for none.
//
// The displaced file is measured after it left the name, not before: an
// empty name is taken with RENAME_NOREPLACE, a taken one is swapped with
// RENAME_EXCHANGE, which leaves the old file under from (a staging name no
// verb serves), where it is measured and unlinked. Whoever moves a file
// out of a name accounts for it, so a rm or another put of the same name
// racing this one can never count the same file as freed twice. A folder
// swapped in for the target is swapped back and refused, as rename(2)
// would. A file system without these flags falls back to placeByRename.
//
// want, when set, is the file an append copied its kept bytes from: only
// that file may be replaced. The host counted the kept bytes as that
// file's, not as new ones, so placing them on an empty name, or over
// another file, would store them past the quota (mv the file away during
// each append and it doubles). Such a commit only exchanges, and swaps
// back and fails if the name is empty or holds another file.
func placeOver(root *os.Root, d *os.File, dir, from, to string, want *fileID) (placement, error) {
	fd := int(d.Fd())
	if want != nil {
		return placeAppend(root, fd, dir, from, to, want)
	}
	for try := 0; try < 8; try++ {
		err := unix.Renameat2(fd, from, fd, to, unix.RENAME_NOREPLACE)
		if err == nil {
			return placement{placed: true, replaced: -1}, nil
		}
		if unsupported(err) {
			return placeByRename(root, dir, from, to, nil)
		}
		if !errors.Is(err, unix.EEXIST) {
			return placement{replaced: -1}, &os.LinkError{Op: "rename", Old: from, New: to, Err: err}
		}
		err = unix.Renameat2(fd, from, fd, to, unix.RENAME_EXCHANGE)
		switch {
		case errors.Is(err, unix.ENOENT):
			continue // the target went meanwhile: take the empty name
		case unsupported(err):
			return placeByRename(root, dir, from, to, nil)
		case err != nil:
			return placement{replaced: -1}, &os.LinkError{Op: "rename", Old: from, New: to, Err: err}
		}
		return takeVictim(fd, from, to)
	}
	return placement{replaced: -1}, &os.LinkError{Op: "rename", Old: from, New: to, Err: unix.EBUSY}
}

// placeAppend is placeOver for an append that kept the bytes of want.
func placeAppend(root *os.Root, fd int, dir, from, to string, want *fileID) (placement, error) {
	err := unix.Renameat2(fd, from, fd, to, unix.RENAME_EXCHANGE)
	switch {
	case errors.Is(err, unix.ENOENT):
		return placement{replaced: -1}, movedError(to)
	case unsupported(err):
		return placeByRename(root, dir, from, to, want)
	case err != nil:
		return placement{replaced: -1}, &os.LinkError{Op: "rename", Old: from, New: to, Err: err}
	}
	var st unix.Stat_t
	if err := unix.Fstatat(fd, from, &st, unix.AT_SYMLINK_NOFOLLOW); err == nil &&
		(fileID{dev: st.Dev, ino: st.Ino}) != *want {
		if err := unix.Renameat2(fd, from, fd, to, unix.RENAME_EXCHANGE); err == nil {
			return placement{replaced: -1}, movedError(to)
		}
		// Cannot swap back: the append has the name. Count what it
		// displaced as any replacement does, so usage stays true.
	}
	return takeVictim(fd, from, to)
}

// takeVictim measures and removes what an exchange left under from: the
// file that had the name to. The staged file has the name now.
func takeVictim(fd int, from, to string) (placement, error) {
	var st unix.Stat_t
	if err := unix.Fstatat(fd, from, &st, unix.AT_SYMLINK_NOFOLLOW); err != nil {
		// Gone already (a sweep took it for a leftover): not ours to
		// count, and the usage errs high, never low.
		return placement{placed: true, replaced: -1}, nil
	}
	if st.Mode&unix.S_IFMT == unix.S_IFDIR {
		if err := unix.Renameat2(fd, from, fd, to, unix.RENAME_EXCHANGE); err != nil {
			return placement{placed: true, replaced: -1}, &os.LinkError{Op: "rename", Old: to, New: from, Err: err}
		}
		return placement{replaced: -1}, &os.PathError{Op: "rename", Path: to, Err: errSwapped}
	}
	if err := unix.Unlinkat(fd, from, 0); err != nil {
		// Still on disk under a staging name, still in the usage: the
		// sweep removes it later.
		return placement{placed: true, replaced: -1}, nil
	}
	if st.Mode&unix.S_IFMT != unix.S_IFREG {
		return placement{placed: true, replaced: -1}, nil // a link or the like: no file freed
	}
	return placement{placed: true, replaced: st.Size}, nil
}

// unsupported tells a file system or kernel without renameat2's flags.
func unsupported(err error) bool {
	return errors.Is(err, unix.EINVAL) || errors.Is(err, unix.ENOSYS) || errors.Is(err, unix.EOPNOTSUPP)
}
