//go:build !linux

package put

import "os"

// placeOver is placeByRename here: no atomic swap of two names.
func placeOver(root *os.Root, _ *os.File, dir, from, to string, want *fileID) (placement, error) {
	return placeByRename(root, dir, from, to, want)
}
