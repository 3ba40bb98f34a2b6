// Package checksum names the digests that verify a transfer and builds them.
//
// The names ("xxh128", "sha256", "blake3") and the hex text of a digest are
// protocol: a client chooses one per transfer (`--checksum`) and both sides
// must agree byte for byte. They live here, in one place, so the client, the
// server's settings and the plugins cannot drift apart. The package is
// internal because no code outside this module speaks the protocol; the names
// and the encoding are specified in docs/PROTOCOL.md for anyone who must.
package checksum

import (
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"hash"
	"strings"

	"github.com/zeebo/blake3"
)

// Algorithm is one transfer digest. Its zero value is the default, XXH128,
// so a transfer that names none is still verified; no other value can be
// made outside this package, so every Algorithm is a valid one.
type Algorithm struct{ id uint8 }

// The algorithms a transfer can be verified with.
var (
	// XXH128 is XXH3-128: detects accidental corruption at memory speed,
	// which is what a transfer needs (rsync 3.2+ verifies with it too). It
	// is not a defence against someone forging content.
	XXH128 = Algorithm{0}
	// SHA256 is SHA-256, for callers who want a cryptographic digest that
	// other tools (sha256sum) can check.
	SHA256 = Algorithm{1}
	// BLAKE3 is BLAKE3-256: cryptographic, and faster than SHA-256.
	BLAKE3 = Algorithm{2}
)

// Default is the algorithm used when the client names none.
var Default = XXH128

// info is what each algorithm needs; indexed by Algorithm.id.
var info = [...]struct {
	name string
	size int
	new  func() hash.Hash
}{
	{"xxh128", 16, newXXH128},
	{"sha256", sha256.Size, sha256.New},
	{"blake3", 32, func() hash.Hash { return blake3.New() }},
}

// All lists every algorithm, the default first.
func All() []Algorithm { return []Algorithm{XXH128, SHA256, BLAKE3} }

// Names lists the algorithms' names, the default first, for help texts and
// error messages.
func Names() []string {
	all := All()
	names := make([]string, len(all))
	for i, a := range all {
		names[i] = a.String()
	}
	return names
}

// Parse returns the algorithm called name. Names are exact and lower case:
// they travel in the protocol, where one spelling keeps both sides simple.
func Parse(name string) (Algorithm, error) {
	for _, a := range All() {
		if a.String() == name {
			return a, nil
		}
	}
	return Algorithm{}, fmt.Errorf("unknown checksum %q: choose one of %s", name, strings.Join(Names(), ", "))
}

// Cryptographic reports whether the digest resists deliberate forgery (SHA-256,
// BLAKE3), not only accidental corruption (XXH128).
func (a Algorithm) Cryptographic() bool { return a != XXH128 }

// Meets reports whether a is at least as strong as minimum, a server's
// setting: any algorithm meets XXH128, and only a cryptographic one meets
// SHA-256 or BLAKE3 (either does: both resist forgery).
func (a Algorithm) Meets(minimum Algorithm) bool {
	return !minimum.Cryptographic() || a.Cryptographic()
}

// String returns the algorithm's protocol name.
func (a Algorithm) String() string { return info[a.id].name }

// New returns a fresh hash for the algorithm.
func (a Algorithm) New() hash.Hash { return info[a.id].new() }

// Size is the length of the algorithm's digest in bytes.
func (a Algorithm) Size() int { return info[a.id].size }

// Encode returns sum as it travels: lower-case hex, most significant byte
// first (for XXH128 the canonical order xxhsum prints).
func (a Algorithm) Encode(sum []byte) string { return hex.EncodeToString(sum) }

// Decode parses a digest as Encode writes it. Only that one spelling is
// accepted (exact length, lower case) so that equal digests are equal text
// and a truncated or padded value is refused rather than compared.
func (a Algorithm) Decode(text string) ([]byte, error) {
	if len(text) != 2*a.Size() {
		return nil, fmt.Errorf("%s digest must be %d hex digits, got %d", a, 2*a.Size(), len(text))
	}
	if strings.ToLower(text) != text {
		return nil, fmt.Errorf("%s digest must be lower-case hex", a)
	}
	sum, err := hex.DecodeString(text)
	if err != nil {
		return nil, fmt.Errorf("%s digest is not hex: %w", a, err)
	}
	return sum, nil
}
