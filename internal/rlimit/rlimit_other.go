//go:build !unix

// Package rlimit lifts the soft limit on open files, which every server
// connection and every load-generator connection spends one of.
package rlimit

// RaiseFileLimit does nothing where there is no RLIMIT_NOFILE; 0 means
// unknown.
func RaiseFileLimit() (uint64, error) { return 0, nil }
