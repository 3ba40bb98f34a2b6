package ftpfront

import (
	"context"
	"io"
	"net"
	"os"

	"github.com/selectftp/selectftp/protocol"
)

// The front reaches the host through these small types, the shape of
// host.Local's API, so that its tests can drive it with a fake host and the
// FTP machinery stays apart from the session machinery (hostbackend.go
// adapts a real *host.Server).

// call is one verb request of a session (host.Call).
type call struct {
	Verb   string
	Args   []string
	Params map[string]any
	Body   io.Reader // nil: no body; an error other than io.EOF aborts the request
	Size   int64     // the body's length if known, else -1
	Out    Output    // nil discards the response body
}

// Output receives a verb's response body. SendFile is called where a network
// session would sendfile the descriptor a command handed over, so the front
// can sendfile it to its own data connection.
type Output interface {
	io.Writer
	// SendFile writes n bytes of f from off; f is valid only during the call.
	SendFile(f *os.File, off, n int64) (int64, error)
}

// result is a verb's answer (host.Result).
type result struct {
	Meta   map[string]any
	Status protocol.Status
}

// session is one logged-in FTP client's host session (host.Local).
type session interface {
	Call(ctx context.Context, c call) (result, error)
	Close()
}

// backend logs FTP clients in (host.Server.LoginPlain).
type backend interface {
	LoginPlain(ctx context.Context, remote net.Addr, user, password string) (session, error)
	// Anonymous reports whether the server has no users, so that
	// "anonymous" and "ftp" are the anonymous login rather than accounts
	// whose passwords must not cross in clear.
	Anonymous() bool
}
