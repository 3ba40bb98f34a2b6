//go:build unix

// Package rlimit lifts the soft limit on open files, which every server
// connection and every load-generator connection spends one of.
package rlimit

import "syscall"

// RaiseFileLimit lifts the soft limit on open files to the hard limit and
// returns the limit now in force. Child processes inherit it. The default
// soft limit (often 1024) would refuse connections long before the
// configured limits do.
func RaiseFileLimit() (uint64, error) {
	var l syscall.Rlimit
	if err := syscall.Getrlimit(syscall.RLIMIT_NOFILE, &l); err != nil {
		return 0, err
	}
	if l.Cur < l.Max {
		l.Cur = l.Max
		if err := syscall.Setrlimit(syscall.RLIMIT_NOFILE, &l); err != nil {
			return 0, err
		}
	}
	return uint64(l.Cur), nil
}
