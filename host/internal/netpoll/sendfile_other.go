//go:build !linux

package netpoll

import (
	"errors"
	"net"
	"os"
)

// dupFile reports that descriptors are not duplicated here, which makes
// SendFile copy the range during the call instead of queuing segments.
func dupFile(*os.File) (*fileRef, error) { return nil, errors.ErrUnsupported }

func adviseWillNeed(int, int64, int64) {}

// sendfileConn never applies: no segments are queued on this platform.
func sendfileConn(net.Conn, *fileSeg) (int, bool, error) { return 0, true, nil }
