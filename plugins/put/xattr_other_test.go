//go:build !linux

package put

import "os"

// hasXattrs reports whether f's file system keeps user xattrs: the digest
// cache writes them on Linux only.
func hasXattrs(*os.File) bool { return false }
