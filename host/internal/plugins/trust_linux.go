package plugins

import (
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"

	"golang.org/x/sys/unix"
)

// A plugin runs as the server's user, so whoever can write its file, or any
// folder on the way to it, owns the server. The checks below are OpenSSH's
// StrictModes applied to the plugins folder, done on open descriptors so
// that nothing can be swapped between the check and the exec.

// openat is unix.Openat, a variable so that tests can inject the passing
// errors (EMFILE under a connection flood) a rescan must survive.
var openat = unix.Openat

// maxLinks bounds the symbolic links one walk follows, as the kernel's 40.
const maxLinks = 40

// openTrustedDir opens the plugins folder, checking every folder from / down
// to it: each must be owned by root or the server's user and not writable
// by group or others. A sticky world-writable folder such as /tmp may be on
// the way, since only the owner of the entry below it (checked next) can
// rename or remove that entry; the plugins folder itself may not be one.
//
// The configured path is walked one name at a time, never handing the
// kernel more than one: a symbolic link on the way is followed only if it
// is owned by root or the server's user, since in a sticky folder another
// user's link could be retargeted between two scans to any folder with a
// trusted chain. Its target is then walked and checked the same way.
func openTrustedDir(dir string) (*os.File, error) {
	// Not cleaned: "link/.." is the link target's parent, as for the
	// kernel and ls, not the folder holding the link.
	abs := dir
	if !filepath.IsAbs(dir) {
		wd, err := os.Getwd()
		if err != nil {
			return nil, err
		}
		abs = wd + "/" + dir
	}
	const flags = unix.O_PATH | unix.O_DIRECTORY | unix.O_NOFOLLOW | unix.O_CLOEXEC
	fd, err := openat(unix.AT_FDCWD, "/", flags, 0)
	if err != nil {
		return nil, &os.PathError{Op: "open", Path: "/", Err: err}
	}
	at := "/"          // the folder fd is, as walked: no link in it
	todo := split(abs) // names still to walk from at
	links := 0
	for {
		if err := checkDirFD(fd, at, len(todo) == 0); err != nil {
			unix.Close(fd)
			return nil, err
		}
		if len(todo) == 0 {
			break
		}
		name := todo[0]
		todo = todo[1:]
		next := filepath.Join(at, name) // ".." too: at holds no link
		var st unix.Stat_t
		if err := unix.Fstatat(fd, name, &st, unix.AT_SYMLINK_NOFOLLOW); err != nil {
			unix.Close(fd)
			return nil, &os.PathError{Op: "stat", Path: next, Err: err}
		}
		if st.Mode&unix.S_IFMT == unix.S_IFLNK {
			target, err := followLink(fd, next, name, st.Uid, &links)
			if err != nil {
				unix.Close(fd)
				return nil, err
			}
			todo = append(split(target), todo...)
			if filepath.IsAbs(target) {
				unix.Close(fd)
				if fd, err = openat(unix.AT_FDCWD, "/", flags, 0); err != nil {
					return nil, &os.PathError{Op: "open", Path: "/", Err: err}
				}
				at = "/"
			}
			continue // the folder fd is was checked already
		}
		nfd, err := openat(fd, name, flags, 0)
		unix.Close(fd)
		if err != nil {
			return nil, &os.PathError{Op: "open", Path: next, Err: err}
		}
		fd, at = nfd, next
	}
	// O_PATH cannot list: open the checked folder itself for reading.
	rfd, err := openat(fd, ".", unix.O_RDONLY|unix.O_DIRECTORY|unix.O_CLOEXEC, 0)
	unix.Close(fd)
	if err != nil {
		return nil, &os.PathError{Op: "open", Path: at, Err: err}
	}
	return os.NewFile(uintptr(rfd), at), nil
}

// followLink reads the link name in the checked folder dirfd, if it may be
// followed: it must be owned by root or the server's user, and the walk may
// follow at most maxLinks.
func followLink(dirfd int, path, name string, uid uint32, links *int) (string, error) {
	if *links++; *links > maxLinks {
		return "", &os.PathError{Op: "open", Path: path, Err: unix.ELOOP}
	}
	if me := uint32(os.Getuid()); uid != me && uid != 0 {
		return "", refusef("symbolic link %s on the plugins path is owned by uid %d, not by root or this server's user (uid %d): it is not followed", path, uid, me)
	}
	buf := make([]byte, unix.PathMax)
	n, err := unix.Readlinkat(dirfd, name, buf)
	if err != nil {
		return "", &os.PathError{Op: "readlink", Path: path, Err: err}
	}
	if n == 0 {
		return "", &os.PathError{Op: "readlink", Path: path, Err: unix.ENOENT}
	}
	if n == len(buf) {
		return "", &os.PathError{Op: "readlink", Path: path, Err: unix.ENAMETOOLONG}
	}
	return string(buf[:n]), nil
}

// split returns p's names, dropping empty ones and "." (".." stays: it is
// walked like a name, from a folder reached without links).
func split(p string) []string {
	var names []string
	for _, n := range strings.Split(p, "/") {
		if n != "" && n != "." {
			names = append(names, n)
		}
	}
	return names
}

func checkDirFD(fd int, path string, last bool) error {
	var st unix.Stat_t
	if err := unix.Fstat(fd, &st); err != nil {
		return &os.PathError{Op: "fstat", Path: path, Err: err}
	}
	if err := checkOwner(path, st.Uid); err != nil {
		return err
	}
	if st.Mode&0o022 == 0 {
		return nil
	}
	if st.Mode&unix.S_ISVTX != 0 && !last {
		return nil // like /tmp: the next folder's owner is checked next
	}
	return refusef("folder %s is writable by group or others (mode %#o); chmod go-w it", path, st.Mode&0o7777)
}

func checkOwner(path string, uid uint32) error {
	if me := uint32(os.Getuid()); uid != me && uid != 0 {
		return refusef("%s is owned by uid %d, not by root or this server's user (uid %d)", path, uid, me)
	}
	return nil
}

// errNotPlugin marks entries that are quietly not plugins: folders,
// settings files, READMEs (anything not executable).
var errNotPlugin = errors.New("not a plugin")

// openPlugin opens name in the checked folder dir without following a
// symlink and checks what was opened: a regular executable file owned by
// root or the server's user and writable by nobody else. The returned file
// is the one to execute (see execPath); its identity tells a rescan whether
// the binary changed.
func openPlugin(dir *os.File, name string) (*os.File, fileID, error) {
	path := filepath.Join(dir.Name(), name)
	// O_NONBLOCK: a FIFO planted in the folder must not block the scan.
	fd, err := openat(int(dir.Fd()), name, unix.O_RDONLY|unix.O_NOFOLLOW|unix.O_CLOEXEC|unix.O_NONBLOCK|unix.O_NOCTTY, 0)
	if errors.Is(err, unix.ELOOP) {
		return nil, fileID{}, refusef("%s is a symbolic link; links in the plugins folder are not followed: copy the binary in", path)
	}
	if err != nil {
		return nil, fileID{}, &os.PathError{Op: "open", Path: path, Err: err}
	}
	f := os.NewFile(uintptr(fd), path)
	id, err := checkPluginFD(f, path)
	if err != nil {
		f.Close()
		return nil, fileID{}, err
	}
	return f, id, nil
}

func checkPluginFD(f *os.File, path string) (fileID, error) {
	var st unix.Stat_t
	if err := unix.Fstat(int(f.Fd()), &st); err != nil {
		return fileID{}, &os.PathError{Op: "fstat", Path: path, Err: err}
	}
	if st.Mode&unix.S_IFMT != unix.S_IFREG || st.Mode&0o111 == 0 {
		return fileID{}, errNotPlugin
	}
	if err := checkOwner(path, st.Uid); err != nil {
		return fileID{}, err
	}
	if st.Mode&0o022 != 0 {
		return fileID{}, refusef("%s is writable by group or others (mode %#o); chmod go-w it", path, st.Mode&0o7777)
	}
	return fileID{dev: st.Dev, ino: st.Ino, size: st.Size, mode: st.Mode, uid: st.Uid,
		mtime: st.Mtim.Nano(), ctime: st.Ctim.Nano()}, nil
}

// isScript tells whether f starts with "#!". The kernel runs a script's
// interpreter on the path it was given, and /proc/self/fd/N is closed by
// then, so a script plugin fails to start; this says why.
func isScript(f *os.File) bool {
	var magic [2]byte
	n, _ := f.ReadAt(magic[:], 0)
	return n == 2 && string(magic[:]) == "#!"
}

// execFD is the lowest descriptor number execPath uses: os/exec's child
// shuffles descriptors up from the number of files it passes (four here),
// and must not overwrite the one it is about to execute.
const execFD = 64

// execPath returns a path that executes exactly the checked file f, not
// whatever its name points to by then, and a copy of f to close once the
// process has started. execve resolves /proc/self/fd/N before the
// close-on-exec descriptor goes away.
func execPath(f *os.File) (string, *os.File, error) {
	fd, err := unix.FcntlInt(f.Fd(), unix.F_DUPFD_CLOEXEC, execFD)
	if err != nil {
		return "", nil, fmt.Errorf("duplicate the plugin's descriptor: %w", err)
	}
	p := fmt.Sprintf("/proc/self/fd/%d", fd)
	if _, err := os.Stat(p); err != nil {
		unix.Close(fd)
		return "", nil, fmt.Errorf("plugins run from their checked descriptor through /proc/self/fd, which is unavailable: %w", err)
	}
	return p, os.NewFile(uintptr(fd), f.Name()), nil
}
