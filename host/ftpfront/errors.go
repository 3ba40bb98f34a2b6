package ftpfront

import (
	"errors"
	"io/fs"

	ftpserver "github.com/fclairamb/ftpserverlib"

	"github.com/selectftp/selectftp/protocol"
)

// statusError is a verb's failure as the FTP library sees it: its message is
// the one the native client would print, and it matches the library's
// sentinels so that the library picks the reply code (552 for a quota, 553
// for a name) and fs's so that "not found" stays recognisable.
type statusError struct{ st protocol.Status }

func (e *statusError) Error() string {
	if e.st.Message != "" {
		return e.st.Message
	}
	return string(e.st.Code)
}

func (e *statusError) Is(target error) bool {
	switch target {
	case ftpserver.ErrStorageExceeded:
		return e.st.Code == protocol.CodeQuotaExceeded || e.st.Code == protocol.CodeNoSpace || e.st.Code == protocol.CodeTooLarge
	case ftpserver.ErrFileNameNotAllowed:
		return e.st.Code == protocol.CodeNameTooLong
	case fs.ErrNotExist:
		return e.st.Code == protocol.CodeNotFound
	case fs.ErrPermission:
		return e.st.Code == protocol.CodePermission
	case fs.ErrExist:
		return e.st.Code == protocol.CodeExists
	}
	return false
}

// statusErr is nil for ok, else the status as an error.
func statusErr(st protocol.Status) error {
	if st.Code == protocol.CodeOK {
		return nil
	}
	return &statusError{st: st}
}

// replyCode is the FTP reply for a failed status, for the replies the front
// writes itself (SITE): RFC 959's meanings, as the library uses them.
func replyCode(c protocol.Code) int {
	switch c {
	case protocol.CodeOK:
		return ftpserver.StatusOK
	case protocol.CodeBadRequest:
		return ftpserver.StatusSyntaxErrorParameters // 501
	case protocol.CodeUnknownVerb:
		return ftpserver.StatusCommandNotImplemented // 502
	case protocol.CodeQuotaExceeded, protocol.CodeNoSpace, protocol.CodeTooLarge:
		return ftpserver.StatusActionAborted // 552
	case protocol.CodeNameTooLong:
		return ftpserver.StatusActionNotTakenNoFile // 553
	case protocol.CodeBusy, protocol.CodeUnavailable, protocol.CodeTimeout:
		return ftpserver.StatusFileActionNotTaken // 450: try again
	case protocol.CodeShuttingDown:
		return ftpserver.StatusServiceNotAvailable // 421
	case protocol.CodeCanceled:
		return ftpserver.StatusTransferAborted // 426
	case protocol.CodeInternal, protocol.CodeChecksum:
		return 451 // RFC 959: local error in processing
	default: // not_found, permission, exists, ...
		return ftpserver.StatusActionNotTaken // 550
	}
}

var errNotSupported = errors.New("not supported by this server")
