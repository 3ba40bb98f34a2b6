package client

import (
	"errors"

	"github.com/selectftp/selectftp/protocol"
)

// Errors a caller branches on. Each is a *protocol.StatusError holding only
// a code, and errors.Is(err, ErrNotFound) is true when the server answered
// with that code: the StatusError in err's chain still carries the
// server's message, which err's text shows and [Code] extracts the code of.
var (
	ErrBadRequest  error = &protocol.StatusError{Code: protocol.CodeBadRequest}
	ErrTooLarge    error = &protocol.StatusError{Code: protocol.CodeTooLarge}
	ErrNameTooLong error = &protocol.StatusError{Code: protocol.CodeNameTooLong}
	ErrUnknownVerb error = &protocol.StatusError{Code: protocol.CodeUnknownVerb}
	ErrNotFound    error = &protocol.StatusError{Code: protocol.CodeNotFound}
	ErrExists      error = &protocol.StatusError{Code: protocol.CodeExists}
	ErrPermission  error = &protocol.StatusError{Code: protocol.CodePermission}
	ErrNoSpace     error = &protocol.StatusError{Code: protocol.CodeNoSpace}
	ErrUnavailable error = &protocol.StatusError{Code: protocol.CodeUnavailable}
	ErrCanceled    error = &protocol.StatusError{Code: protocol.CodeCanceled}
	ErrTimeout     error = &protocol.StatusError{Code: protocol.CodeTimeout}
	ErrInternal    error = &protocol.StatusError{Code: protocol.CodeInternal}
	// The server refused the connection (Dial's error) or ended it.
	ErrProtocol           error = &protocol.StatusError{Code: protocol.CodeProtocol}
	ErrUnsupportedVersion error = &protocol.StatusError{Code: protocol.CodeUnsupportedVersion}
	ErrBusy               error = &protocol.StatusError{Code: protocol.CodeBusy}
	ErrShuttingDown       error = &protocol.StatusError{Code: protocol.CodeShuttingDown}
)

// ErrChecksum is a mismatch of size or digest: the server refused an
// upload with the checksum code, or a download's bytes do not match what
// the server sent after them (then found by this client; nothing is kept, see
// GetFile). Both match errors.Is(err, ErrChecksum) and Code gives
// protocol.CodeChecksum.
var ErrChecksum error = &protocol.StatusError{Code: protocol.CodeChecksum, Message: "mismatch"}

// ErrClosed is wrapped by the error of a request that was not sent because
// the connection was already unusable: closed by the caller, broken by an
// earlier failure, or closed by the server while idle. Nothing reached the
// server, so the request may be retried on a new connection.
var ErrClosed = errors.New("connection closed")

// Code returns the status code carried by err (a *protocol.StatusError in
// its chain), or "" when neither the server nor a download check refused
// anything (a transport failure, a local error).
func Code(err error) protocol.Code {
	var se *protocol.StatusError
	if errors.As(err, &se) {
		return se.Code
	}
	return ""
}
