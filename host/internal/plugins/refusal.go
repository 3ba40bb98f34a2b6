package plugins

import (
	"errors"
	"fmt"
	"io/fs"
	"syscall"
)

// errUntrusted marks a refusal by the trust checks (owner, mode, a link
// that may not be followed): the file or folder is not run, whatever runs
// from it now is stopped.
var errUntrusted = errors.New("refused by the plugin trust checks")

// refusal is a trust check's verdict, said in its own words.
type refusal struct{ msg string }

func (r *refusal) Error() string        { return r.msg }
func (r *refusal) Is(target error) bool { return target == errUntrusted }

func refusef(format string, args ...any) error {
	return &refusal{msg: fmt.Sprintf(format, args...)}
}

// settled tells whether an error opening the plugins folder or a plugin
// says something lasting about it: refused by the checks, not a plugin, or
// really gone. Anything else (EMFILE or ENFILE under a connection flood,
// ENOMEM, EINTR, EIO) says nothing about the plugin: a rescan that meets
// one keeps what runs as it is and tries again next time, rather than
// killing healthy plugins and failing their requests.
func settled(err error) bool {
	return errors.Is(err, errUntrusted) || errors.Is(err, errNotPlugin) ||
		errors.Is(err, fs.ErrNotExist) || errors.Is(err, syscall.ENOTDIR) ||
		errors.Is(err, syscall.ELOOP)
}
