//go:build unix

package rlimit

import (
	"syscall"
	"testing"
)

// After the call the soft limit equals the hard one and is what it reports.
func TestRaiseFileLimit(t *testing.T) {
	n, err := RaiseFileLimit()
	if err != nil {
		t.Fatal(err)
	}
	var l syscall.Rlimit
	if err := syscall.Getrlimit(syscall.RLIMIT_NOFILE, &l); err != nil {
		t.Fatal(err)
	}
	if uint64(l.Cur) != n || l.Cur != l.Max {
		t.Errorf("limit %d/%d, reported %d", l.Cur, l.Max, n)
	}
}
