package ftpfront

import (
	"errors"
	"time"
)

// errNoDataConn: the upload's data connection is not open yet, so there is
// no read to put a deadline on; the host asks again.
var errNoDataConn = errors.New("the upload's data connection is not open yet")

// SetReadDeadline sets the deadline of the upload's data connection. It
// lets host.Local read an upload itself, in the goroutine that writes it to
// put's file (no buffer and pump between): a cancelled call interrupts a
// Read blocked on a silent client with a deadline in the past. Before the
// data connection is there it fails, and Read itself still waits on the
// upload's context as before.
func (b *uploadBody) SetReadDeadline(t time.Time) error {
	up := (*upload)(b)
	select {
	case src := <-up.srcCh:
		up.srcCh <- src
		if c, ok := src.(interface{ SetReadDeadline(time.Time) error }); ok {
			return c.SetReadDeadline(t)
		}
		return errors.New("the upload's data connection takes no deadline")
	default:
		return errNoDataConn
	}
}
