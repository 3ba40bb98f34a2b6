// Package staging holds the one rule for the names put gives uploads before
// they are complete. Such a name is reserved: no verb serves it, writes it
// or lists it, so a staged upload, or what a crash left of one, is never
// taken for a file. put sweeps leftovers (see put's sweep).
package staging

import (
	"crypto/rand"
	"encoding/hex"
	"os"
	"strconv"
	"strings"

	"github.com/selectftp/selectftp/sdk"
)

// Prefix starts every staging name. It is long and specific so that no
// user's file is mistaken for one.
const Prefix = ".selectftp-part-"

// Name returns a fresh staging name owned by this process:
// Prefix PID "-" 16 random hex digits. The PID lets a sweep tell a live
// upload of another process from a dead one's leftover.
func Name() string {
	var rnd [8]byte
	rand.Read(rnd[:])
	return Prefix + strconv.Itoa(os.Getpid()) + "-" + hex.EncodeToString(rnd[:])
}

// Is reports whether base, one path element, is a staging name.
func Is(base string) bool { return strings.HasPrefix(base, Prefix) }

// Owner returns the PID in a staging name, or false if it has none.
func Owner(base string) (int, bool) {
	rest, ok := strings.CutPrefix(base, Prefix)
	if !ok {
		return 0, false
	}
	pid, _, ok := strings.Cut(rest, "-")
	if !ok {
		return 0, false
	}
	n, err := strconv.Atoi(pid)
	return n, err == nil && n > 0
}

// Check refuses a client path with a staging name in any element: such
// names belong to uploads in progress, never to files a client may read or
// write.
func Check(path string) error {
	for elem := range strings.SplitSeq(path, "/") {
		if Is(elem) {
			return sdk.Errorf(sdk.CodeBadRequest, "%s: names starting with %s are reserved for uploads in progress", path, Prefix)
		}
	}
	return nil
}
