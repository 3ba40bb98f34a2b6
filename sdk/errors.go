package sdk

import (
	"context"
	"errors"
	"fmt"
	"github.com/selectftp/selectftp/protocol"
	"io/fs"
	"os"
	"strings"
	"syscall"
	"unicode/utf8"
)

// Code is a status code as clients see it: the protocol's one list of
// codes (protocol.Code), which docs/PROTOCOL.md explains.
type Code = protocol.Code

// Status codes a command may return. Only internal and unavailable mean
// the server is at fault; the host logs only those at ERROR, so a client's
// mistake must map to one of the others.
const (
	CodeOK          = protocol.CodeOK
	CodeBadRequest  = protocol.CodeBadRequest // also a name with a NUL byte, or a symlink loop
	CodeTooLarge    = protocol.CodeTooLarge
	CodeNameTooLong = protocol.CodeNameTooLong // a path or name longer than the file system takes
	CodeUnknownVerb = protocol.CodeUnknownVerb
	CodeNotFound    = protocol.CodeNotFound
	CodeExists      = protocol.CodeExists
	CodePermission  = protocol.CodePermission
	CodeChecksum    = protocol.CodeChecksum
	CodeNoSpace     = protocol.CodeNoSpace
	CodeUnavailable = protocol.CodeUnavailable
	CodeCanceled    = protocol.CodeCanceled
	CodeTimeout     = protocol.CodeTimeout
	CodeInternal    = protocol.CodeInternal
)

// Error is an error with a status code. Message is shown to the client.
type Error struct {
	Code    Code
	Message string
	// Err is the cause, kept for errors.Is and logs.
	Err error
}

// Error returns the code and message, prefixed with "sdk:".
func (e *Error) Error() string { return "sdk: " + string(e.Code) + ": " + e.Message }

// Unwrap returns the cause.
func (e *Error) Unwrap() error { return e.Err }

// Errorf returns an *Error with a formatted message. A %w verb records the
// cause.
func Errorf(code Code, format string, args ...any) error {
	err := fmt.Errorf(format, args...)
	return &Error{Code: code, Message: err.Error(), Err: errors.Unwrap(err)}
}

// CodeOf maps an error to the status code a client sees: the code of an
// *Error in its chain, or one inferred from well-known errors.
func CodeOf(err error) Code {
	var e *Error
	var se *protocol.StatusError
	switch {
	case err == nil:
		return CodeOK
	case errors.As(err, &e):
		return e.Code
	case errors.As(err, &se): // a status from the host, passed on
		return se.Code
	case errors.Is(err, context.Canceled):
		return CodeCanceled
	case errors.Is(err, context.DeadlineExceeded):
		return CodeTimeout
	case errors.Is(err, fs.ErrNotExist), errors.Is(err, syscall.ENOTDIR):
		// ENOTDIR: "a.txt/b" where a.txt is a file; nothing is there.
		return CodeNotFound
	case errors.Is(err, fs.ErrExist):
		return CodeExists
	case errors.Is(err, syscall.ENOSPC), errors.Is(err, syscall.EDQUOT):
		return CodeNoSpace
	case errors.Is(err, fs.ErrPermission), isEscape(err):
		return CodePermission
	case errors.Is(err, syscall.ENAMETOOLONG):
		return CodeNameTooLong
	case badName(err):
		return CodeBadRequest
	}
	return CodeInternal
}

// badName reports the errors a client causes with the name it sends: a
// symlink loop (ELOOP), a name the file system refuses as a byte sequence
// (EILSEQ), or a NUL byte, which the kernel cannot be given and Go reports
// as EINVAL.
func badName(err error) bool {
	switch {
	case errors.Is(err, syscall.ELOOP), errors.Is(err, syscall.EILSEQ):
		return true
	case errors.Is(err, syscall.EINVAL):
		return hasNUL(err)
	}
	return false
}

// hasNUL reports whether the path a *fs.PathError or *os.LinkError names
// holds a NUL byte.
func hasNUL(err error) bool {
	var pe *fs.PathError
	if errors.As(err, &pe) {
		return strings.ContainsRune(pe.Path, 0)
	}
	var le *os.LinkError
	if errors.As(err, &le) {
		return strings.ContainsRune(le.Old, 0) || strings.ContainsRune(le.New, 0)
	}
	return false
}

// MessageOf is the text a client sees for err: an *Error's message, or the
// error's text with the root's absolute path kept out of it. A path longer
// than maxMessagePath is shortened, so a 60,000-byte name costs neither the
// log nor the status frame 60,000 bytes.
func MessageOf(err error) string {
	var e *Error
	if errors.As(err, &e) {
		return e.Message
	}
	var se *protocol.StatusError
	if errors.As(err, &se) {
		return se.Message
	}
	var pe *fs.PathError
	if errors.As(err, &pe) {
		switch p := shortPath(pe.Path); {
		case isEscape(err):
			return fmt.Sprintf("%s: path escapes the root", p)
		case strings.ContainsRune(pe.Path, 0):
			return fmt.Sprintf("%q: the path contains a NUL byte", p)
		case errors.Is(err, syscall.ELOOP):
			return fmt.Sprintf("%s: too many levels of symbolic links (a symlink loop?)", p)
		default:
			return fmt.Sprintf("%s %s: %v", pe.Op, p, pe.Err)
		}
	}
	var le *os.LinkError
	if errors.As(err, &le) {
		return fmt.Sprintf("%s %s: %v", le.Op, shortPath(le.New), le.Err)
	}
	return err.Error()
}

// maxMessagePath bounds how much of a path a message repeats.
const maxMessagePath = 256

// shortPath is p, or its first maxMessagePath bytes (on a UTF-8 boundary)
// and "…".
func shortPath(p string) string {
	if len(p) <= maxMessagePath {
		return p
	}
	cut := maxMessagePath
	for cut > 0 && !utf8.RuneStart(p[cut]) {
		cut--
	}
	return p[:cut] + "…"
}

// isEscape reports the error os.Root returns for a path that leaves it.
// os does not export it, so match its text.
func isEscape(err error) bool {
	for e := err; e != nil; e = errors.Unwrap(e) {
		if e.Error() == "path escapes from parent" {
			return true
		}
	}
	return false
}
