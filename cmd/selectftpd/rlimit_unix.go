//go:build unix

package main

import "syscall"

// raiseFileLimit lifts the soft limit on open files to the hard limit: every
// client connection is a descriptor, and the default soft limit (often 1024)
// would refuse clients long before --max-conns does.
func raiseFileLimit() (uint64, error) {
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
	return l.Cur, nil
}
