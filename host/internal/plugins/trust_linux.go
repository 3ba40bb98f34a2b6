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

// openTrustedDir opens the plugins folder, checking every folder from / down
// to it: each must be owned by root or the server's user and not writable
// by group or others. A sticky world-writable folder such as /tmp may be on
// the way, since only the owner of the entry below it (checked next) can
// rename or remove that entry; the plugins folder itself may not be one.
func openTrustedDir(dir string) (*os.File, error) {
	abs, err := filepath.Abs(dir)
	if err != nil {
		return nil, err
	}
	// Symlinks on the way (say /var -> /private/var) are resolved once;
	// the walk below then refuses to follow any, so a link retargeted
	// meanwhile fails the walk instead of escaping it.
	real, err := filepath.EvalSymlinks(abs)
	if err != nil {
		return nil, err
	}
	fd, err := unix.Open("/", unix.O_RDONLY|unix.O_DIRECTORY|unix.O_CLOEXEC, 0)
	if err != nil {
		return nil, &os.PathError{Op: "open", Path: "/", Err: err}
	}
	at := "/"
	var parts []string
	if rest := strings.Trim(real, "/"); rest != "" {
		parts = strings.Split(rest, "/")
	}
	for i := 0; ; i++ {
		last := i == len(parts)
		if err := checkDirFD(fd, at, last); err != nil {
			unix.Close(fd)
			return nil, err
		}
		if last {
			return os.NewFile(uintptr(fd), real), nil
		}
		next, err := unix.Openat(fd, parts[i], unix.O_RDONLY|unix.O_DIRECTORY|unix.O_NOFOLLOW|unix.O_CLOEXEC, 0)
		unix.Close(fd)
		at = filepath.Join(at, parts[i])
		if err != nil {
			return nil, &os.PathError{Op: "open", Path: at, Err: err}
		}
		fd = next
	}
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
	return fmt.Errorf("folder %s is writable by group or others (mode %#o); chmod go-w it", path, st.Mode&0o7777)
}

func checkOwner(path string, uid uint32) error {
	if me := uint32(os.Getuid()); uid != me && uid != 0 {
		return fmt.Errorf("%s is owned by uid %d, not by root or this server's user (uid %d)", path, uid, me)
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
	fd, err := unix.Openat(int(dir.Fd()), name, unix.O_RDONLY|unix.O_NOFOLLOW|unix.O_CLOEXEC|unix.O_NONBLOCK|unix.O_NOCTTY, 0)
	if errors.Is(err, unix.ELOOP) {
		return nil, fileID{}, fmt.Errorf("%s is a symbolic link; links in the plugins folder are not followed: copy the binary in", path)
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
		return fileID{}, fmt.Errorf("%s is writable by group or others (mode %#o); chmod go-w it", path, st.Mode&0o7777)
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
