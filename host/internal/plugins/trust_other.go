//go:build !linux

package plugins

import (
	"errors"
	"os"
)

// errUnsupported: the trust checks execute the checked descriptor through
// /proc/self/fd, which only Linux has. Running a plugin by its path would
// reopen the race those checks close, so plugins do not run here.
var errUnsupported error = &refusal{msg: "plugin processes need Linux (they run from a checked descriptor via /proc/self/fd); serve verbs in-process with --builtin"}

// errNotPlugin marks entries that are quietly not plugins.
var errNotPlugin = errors.New("not a plugin")

func openTrustedDir(string) (*os.File, error) { return nil, errUnsupported }

func openPlugin(*os.File, string) (*os.File, fileID, error) { return nil, fileID{}, errUnsupported }

func execPath(*os.File) (string, *os.File, error) { return "", nil, errUnsupported }

func isScript(*os.File) bool { return false }
