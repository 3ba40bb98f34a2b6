package netpoll

import (
	"errors"
	"net/netip"

	"golang.org/x/sys/unix"
)

// rawClients are client sockets made with bare system calls, invisible to
// the Go heap, for measuring what the server side costs.
type rawClients struct {
	sa  unix.SockaddrInet4
	fds []int
}

func newRawClients(addr string) (*rawClients, error) {
	ap, err := netip.ParseAddrPort(addr)
	if err != nil || !ap.Addr().Is4() {
		return nil, errors.New("want an IPv4 address")
	}
	return &rawClients{sa: unix.SockaddrInet4{Port: int(ap.Port()), Addr: ap.Addr().As4()}}, nil
}

func (r *rawClients) dial(n int) error {
	r.fds = append(make([]int, 0, len(r.fds)+n), r.fds...)
	for range n {
		fd, err := unix.Socket(unix.AF_INET, unix.SOCK_STREAM|unix.SOCK_CLOEXEC, 0)
		if err != nil {
			return err
		}
		r.fds = append(r.fds, fd)
		if err := unix.Connect(fd, &r.sa); err != nil {
			return err
		}
	}
	return nil
}

func (r *rawClients) close() {
	for _, fd := range r.fds {
		unix.Close(fd)
	}
	r.fds = nil
}
