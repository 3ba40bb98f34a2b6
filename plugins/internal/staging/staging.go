// Package staging holds the one rule for the names put gives uploads before
// they are complete. Such a name is reserved: no verb serves it, writes it
// or lists it, so a staged upload, or what a crash left of one, is never
// taken for a file. The process writing a staged file holds a lock on it
// (Hold), which the kernel drops when the process dies: a staged file
// nobody holds (Claim) is a dead upload's leftover, which put sweeps.
package staging

import (
	"crypto/rand"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"strings"

	"github.com/selectftp/selectftp/sdk"
)

// Prefix starts every staging name. It is long and specific so that no
// user's file is mistaken for one.
const Prefix = ".selectftp-part-"

// ErrHeld means another open file holds a staged file's lock: a live
// upload's, or a sweep's about to remove it.
var ErrHeld = errors.New("staging: the file is held by another upload or sweep")

// Name returns a fresh staging name: Prefix and 16 random hex digits.
func Name() string {
	var rnd [8]byte
	rand.Read(rnd[:])
	return Prefix + hex.EncodeToString(rnd[:])
}

// resumePrefix starts a resumable upload's staging name. Name's random
// part is hex, which never holds "r-", so the two kinds never collide.
const resumePrefix = Prefix + "r-"

// ResumeName returns the staging name of a resumable upload of the file
// base, in base's folder: the same name for every upload of that file, so
// a later put can find what an interrupted one left. It is a digest of
// base, not base itself, so that it stays short and hidden whatever base
// is, and sits under Prefix, so every verb and listing already keeps away
// from it.
func ResumeName(base string) string {
	sum := sha256.Sum256([]byte(base))
	return resumePrefix + hex.EncodeToString(sum[:16])
}

// IsResume reports whether base, one path element, is a resumable
// upload's staging name (see ResumeName): those are kept for a resume,
// not swept as soon as nobody holds them.
func IsResume(base string) bool { return strings.HasPrefix(base, resumePrefix) }

// Is reports whether base, one path element, is a staging name.
func Is(base string) bool { return strings.HasPrefix(base, Prefix) }

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
