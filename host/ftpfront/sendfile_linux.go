package ftpfront

import (
	"errors"
	"io"
	"net"
	"os"
	"sync/atomic"

	"golang.org/x/sys/unix"
)

// sendfileCalls counts ranges sent by sendfile(2), for the tests that check
// a download took the zero-copy path.
var sendfileCalls atomic.Int64

// sendfile writes n bytes of f from off to c with sendfile(2) at an explicit
// offset: f's descriptor may be shared with the plugin that opened it, so
// its file position is neither used nor moved. The socket's write deadline
// and readiness waiting are Go's (RawConn.Write).
func sendfile(c *net.TCPConn, f *os.File, off, n int64) (int64, error) {
	sendfileCalls.Add(1)
	rc, err := c.SyscallConn()
	if err != nil {
		return 0, err
	}
	fc, err := f.SyscallConn()
	if err != nil {
		return 0, err
	}
	var written int64
	var serr error
	cerr := fc.Control(func(in uintptr) {
		werr := rc.Write(func(out uintptr) bool {
			for written < n {
				pos := off + written
				m, err := unix.Sendfile(int(out), int(in), &pos, int(min(n-written, 1<<30)))
				if m > 0 {
					written += int64(m)
				}
				switch {
				case errors.Is(err, unix.EAGAIN):
					return false // wait until the socket takes more
				case errors.Is(err, unix.EINTR):
				case err != nil:
					serr = err
					return true
				case m == 0:
					serr = io.ErrUnexpectedEOF // the file shrank under us
					return true
				}
			}
			return true
		})
		if serr == nil {
			serr = werr
		}
	})
	if serr == nil {
		serr = cerr
	}
	return written, serr
}
