//go:build linux || darwin || freebsd || netbsd || openbsd || dragonfly

package client

import (
	"errors"
	"net"
	"syscall"
)

// peekConn asks the kernel, without blocking or consuming anything, whether
// nc has bytes or an EOF waiting.
func peekConn(nc net.Conn) peekResult {
	sc, ok := nc.(syscall.Conn)
	if !ok {
		return peekUnknown
	}
	rc, err := sc.SyscallConn()
	if err != nil {
		return peekUnknown
	}
	res := peekUnknown
	err = rc.Read(func(fd uintptr) bool {
		var b [1]byte
		n, _, err := syscall.Recvfrom(int(fd), b[:], syscall.MSG_PEEK|syscall.MSG_DONTWAIT)
		switch {
		case errors.Is(err, syscall.EAGAIN) || errors.Is(err, syscall.EWOULDBLOCK):
			res = peekNothing
		case err != nil:
			res = peekError
		case n == 0:
			res = peekEOF
		default:
			res = peekData
		}
		return true // never wait for readiness: this is a poll
	})
	if err != nil {
		return peekError
	}
	return res
}
