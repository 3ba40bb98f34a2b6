package checksum

import (
	"hash"

	"github.com/zeebo/xxh3"
)

// xxh128 adapts xxh3.Hasher, whose hash.Hash methods give the 64-bit
// variant, to the 128-bit digest transfers use.
type xxh128 struct{ *xxh3.Hasher }

func newXXH128() hash.Hash { return xxh128{xxh3.New()} }

// Size is the 128-bit digest's length, not the embedded 64-bit one's.
func (xxh128) Size() int { return 16 }

// Sum appends the canonical (big-endian) XXH3-128 digest, as xxhsum -H2
// prints it.
func (h xxh128) Sum(b []byte) []byte {
	sum := h.Sum128().Bytes()
	return append(b, sum[:]...)
}
