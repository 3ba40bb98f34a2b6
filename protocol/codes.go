package protocol

// Code is a status code: every Status carries one, and docs/PROTOCOL.md
// says what each means. It is the one list of codes: the server, the SDK
// (sdk.Code is this type) and the clients all use these constants.
type Code string

// Codes a command may answer with. Only CodeInternal and CodeUnavailable
// mean the server is at fault; a client's mistake maps to one of the
// others.
const (
	CodeOK         Code = "ok"
	CodeBadRequest Code = "bad_request" // also a name with a NUL byte, or a symlink loop
	CodeTooLarge   Code = "too_large"
	// CodeNameTooLong is a path, or one of its names, longer than the
	// file system takes (ENAMETOOLONG).
	CodeNameTooLong Code = "name_too_long"
	CodeUnknownVerb Code = "unknown_verb"
	CodeNotFound    Code = "not_found"
	CodeExists      Code = "exists"
	CodePermission  Code = "permission"
	CodeChecksum    Code = "checksum"
	CodeNoSpace     Code = "no_space"
	// CodeQuotaExceeded is an upload that does not fit in the user's
	// quota (bytes or files); nothing of it is kept.
	CodeQuotaExceeded Code = "quota_exceeded"
	CodeUnavailable   Code = "unavailable"
	CodeCanceled      Code = "canceled"
	CodeTimeout       Code = "timeout"
	CodeInternal      Code = "internal"
)

// Codes only the server's connection handling sends; each ends the
// connection.
const (
	// CodeProtocol is a frame the protocol does not allow there.
	CodeProtocol Code = "protocol"
	// CodeUnsupportedVersion is a Hello with no version the server speaks.
	CodeUnsupportedVersion Code = "unsupported_version"
	// CodeBusy is a connection over the server's limits; as a request's
	// code (it then ends only that request), a resource another request
	// holds, such as a resumable upload in progress.
	CodeBusy Code = "busy"
	// CodeShuttingDown is a connection closed by a graceful shutdown.
	CodeShuttingDown Code = "shutting_down"
	// CodeAuthFailed is a failed login: a wrong password and an unknown
	// user get the same one.
	CodeAuthFailed Code = "auth_failed"
	// CodeUnauthenticated is a Request before the login a server with
	// users requires.
	CodeUnauthenticated Code = "unauthenticated"
	// CodeBanned is a connection from an address the server's defender
	// banned for too many failed logins; the message says for how long.
	CodeBanned Code = "banned"
)
