package netpoll

import (
	"errors"
	"net"
	"net/netip"
	"os"
	"testing"

	"golang.org/x/sys/unix"
)

// connectWithoutFDs connects a socket to addr while the process cannot open
// another descriptor, so the server's accept fails with EMFILE. restore
// lifts the limit and returns the client side. The limit is process-wide:
// the caller must not run in parallel with other tests.
func connectWithoutFDs(t testing.TB, addr string) (restore func() net.Conn, err error) {
	ap, err := netip.ParseAddrPort(addr)
	if err != nil || !ap.Addr().Is4() {
		return nil, errors.New("want an IPv4 address")
	}
	fd, err := unix.Socket(unix.AF_INET, unix.SOCK_STREAM|unix.SOCK_CLOEXEC, 0)
	if err != nil {
		return nil, err
	}
	var old unix.Rlimit
	if err := unix.Getrlimit(unix.RLIMIT_NOFILE, &old); err != nil {
		unix.Close(fd)
		return nil, err
	}
	// The limit caps descriptor numbers; the lowest free number is where
	// the next allocation would land, so capping there leaves none.
	free, err := unix.Dup(0)
	if err != nil {
		unix.Close(fd)
		return nil, err
	}
	unix.Close(free)
	lim := old
	lim.Cur = uint64(free)
	if err := unix.Setrlimit(unix.RLIMIT_NOFILE, &lim); err != nil {
		unix.Close(fd)
		return nil, err
	}
	restoreLimit := func() {
		if err := unix.Setrlimit(unix.RLIMIT_NOFILE, &old); err != nil {
			t.Errorf("restore descriptor limit: %v", err)
		}
	}
	// Blocking connect completes in the listen backlog, before accept.
	if err := unix.Connect(fd, &unix.SockaddrInet4{Port: int(ap.Port()), Addr: ap.Addr().As4()}); err != nil {
		restoreLimit()
		unix.Close(fd)
		return nil, err
	}
	return func() net.Conn {
		restoreLimit()
		f := os.NewFile(uintptr(fd), "client")
		defer f.Close()
		c, err := net.FileConn(f)
		if err != nil {
			t.Fatal(err)
		}
		return c
	}, nil
}
