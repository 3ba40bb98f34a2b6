// Package openfile opens files under a root without letting a special file
// block the caller: a FIFO (or a device) swapped in for a regular file
// between a check and the open must not hang a plugin in open(2).
package openfile

import (
	"errors"
	"io/fs"
	"os"
	"syscall"

	"github.com/selectftp/selectftp/sdk"
)

// Regular opens name under root for reading and returns it with its Stat,
// or refuses it unless it is a regular file. The open is non-blocking (a
// FIFO without a writer would otherwise block forever) and the check is
// made on the open descriptor, so nothing swapped in after it can matter.
// The descriptor is then made blocking again: it may be handed to the host,
// which shares its file status flags.
func Regular(root *os.Root, name string) (*os.File, os.FileInfo, error) {
	f, err := root.OpenFile(name, os.O_RDONLY|syscall.O_NONBLOCK, 0)
	switch {
	case errors.Is(err, fs.ErrNotExist):
		return nil, nil, sdk.Errorf(sdk.CodeNotFound, "no file %q", name)
	case err != nil:
		return nil, nil, err
	}
	fi, err := f.Stat()
	if err == nil {
		err = regular(name, fi)
	}
	if err == nil {
		err = setBlocking(f)
	}
	if err != nil {
		f.Close()
		return nil, nil, err
	}
	return f, fi, nil
}

func regular(name string, fi os.FileInfo) error {
	switch {
	case fi.IsDir():
		return sdk.Errorf(sdk.CodeBadRequest, "%s is a directory", name)
	case !fi.Mode().IsRegular():
		return sdk.Errorf(sdk.CodeBadRequest, "%s is not a regular file (%s)", name, kind(fi.Mode()))
	}
	return nil
}

func kind(m fs.FileMode) string {
	switch {
	case m&fs.ModeNamedPipe != 0:
		return "a FIFO"
	case m&fs.ModeSocket != 0:
		return "a socket"
	case m&fs.ModeDevice != 0:
		return "a device"
	}
	return "a special file"
}

// setBlocking clears O_NONBLOCK. os does not poll regular files, so the
// flag is still set on the descriptor and nothing else would clear it.
func setBlocking(f *os.File) error {
	rc, err := f.SyscallConn()
	if err != nil {
		return err
	}
	var serr error
	if err := rc.Control(func(fd uintptr) { serr = syscall.SetNonblock(int(fd), false) }); err != nil {
		return err
	}
	return serr
}
