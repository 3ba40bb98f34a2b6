package sdk

import (
	"context"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"syscall"
)

// Code is a status code as clients see it. docs/PROTOCOL.md lists them.
type Code string

// Status codes a command may return.
const (
	CodeOK          Code = "ok"
	CodeBadRequest  Code = "bad_request"
	CodeTooLarge    Code = "too_large"
	CodeUnknownVerb Code = "unknown_verb"
	CodeNotFound    Code = "not_found"
	CodeExists      Code = "exists"
	CodePermission  Code = "permission"
	CodeChecksum    Code = "checksum"
	CodeNoSpace     Code = "no_space"
	CodeUnavailable Code = "unavailable"
	CodeCanceled    Code = "canceled"
	CodeTimeout     Code = "timeout"
	CodeInternal    Code = "internal"
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
	switch {
	case err == nil:
		return CodeOK
	case errors.As(err, &e):
		return e.Code
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
	}
	return CodeInternal
}

// MessageOf is the text a client sees for err: an *Error's message, or the
// error's text with the root's absolute path kept out of it.
func MessageOf(err error) string {
	var e *Error
	if errors.As(err, &e) {
		return e.Message
	}
	var pe *fs.PathError
	if errors.As(err, &pe) {
		if isEscape(err) {
			return fmt.Sprintf("%s: path escapes the root", pe.Path)
		}
		return fmt.Sprintf("%s %s: %v", pe.Op, pe.Path, pe.Err)
	}
	var le *os.LinkError
	if errors.As(err, &le) {
		return fmt.Sprintf("%s %s: %v", le.Op, le.New, le.Err)
	}
	return err.Error()
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
