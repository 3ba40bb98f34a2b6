//go:build !linux

package put

import "os"

// statfs is not implemented here: the free-space check is skipped, and a
// full disk still ends an upload with no_space.
func statfs(*os.File) (space, error) { return space{}, nil }

// onDisk cannot tell here: an upload counts at its whole declared size.
func onDisk(*os.File) (int64, bool) { return 0, false }
