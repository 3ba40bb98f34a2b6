package checksum

import (
	"bytes"
	"errors"
	"io"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// pattern is the 1 MiB input of the vectors: byte i is i mod 251, the
// pattern the BLAKE3 and xxHash reference vectors use, so no run of it
// repeats on a power-of-two boundary.
func pattern(n int) []byte {
	b := make([]byte, n)
	for i := range b {
		b[i] = byte(i % 251)
	}
	return b
}

// Where the expected values come from:
//   - sha256: FIPS 180-2 ("", "abc"); the 1 MiB value also from Python's hashlib.
//   - blake3: "" and "abc" from the BLAKE3 reference (b3sum); 1 MiB computed
//     once with github.com/zeebo/blake3 v0.2.4 and pinned.
//   - xxh128: "" is the XXH3-128 of nothing in xxHash's own test vectors (and
//     zeebo/xxh3's compat_test.go, taken from the C library); "abc" and 1 MiB
//     computed once with github.com/zeebo/xxh3 v1.1.0 and pinned.
//     TestXXH128MatchesC checks the byte order against a further C vector.
type vector struct {
	alg             Algorithm
	empty, abc, mib string
}

var vectors = []vector{
	{XXH128,
		"99aa06d3014798d86001c324468d497f",
		"06b05ab6733a618578af5f94892f3950",
		"53738d98098cabba6e0d7ac36b8c10ff"},
	{SHA256,
		"e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855",
		"ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad",
		"631b84027d6b9e52b539c4e8373622d23032dfadc64d60af87339c9037e4f769"},
	{BLAKE3,
		"af1349b9f5f9a1a6a0404dea36dcc9499bcb25c9adc112b7cc9a93cae41f3262",
		"6437b3ac38465133ffb63b75273a8db548c558465d79db03fd359c6cd5bd9d85",
		"74cb441fd087764ca9c3694da742ebe30cbeb3060a17009ca81825c7a8d10343"},
}

func digest(a Algorithm, parts ...[]byte) string {
	h := a.New()
	for _, p := range parts {
		h.Write(p)
	}
	return a.Encode(h.Sum(nil))
}

func TestVectors(t *testing.T) {
	mib := pattern(1 << 20)
	for _, v := range vectors {
		t.Run(v.alg.String(), func(t *testing.T) {
			for _, c := range []struct {
				in   []byte
				want string
			}{{nil, v.empty}, {[]byte("abc"), v.abc}, {mib, v.mib}} {
				if got := digest(v.alg, c.in); got != c.want {
					t.Errorf("%d bytes: %s, want %s", len(c.in), got, c.want)
				}
				// Fed in odd pieces, as a socket delivers it.
				var parts [][]byte
				for rest := c.in; len(rest) > 0; {
					n := min(len(rest), 1+len(parts)*4099)
					parts, rest = append(parts, rest[:n]), rest[n:]
				}
				if got := digest(v.alg, parts...); got != c.want {
					t.Errorf("%d bytes in %d pieces: %s, want %s", len(c.in), len(parts), got, c.want)
				}
			}
			h := v.alg.New()
			if h.Size() != v.alg.Size() || len(h.Sum(nil)) != v.alg.Size() || len(v.empty) != 2*v.alg.Size() {
				t.Errorf("sizes disagree: hash %d, Size %d, Sum %d, vector %d",
					h.Size(), v.alg.Size(), len(h.Sum(nil)), len(v.empty)/2)
			}
		})
	}
}

// The C library's XXH3-128 of bytes 1, 2, 3 (xxHash's sanity vectors, as
// copied into zeebo/xxh3's compat_test.go): proves the wire order is the
// canonical high-half-first one xxhsum prints, not the library's Hi/Lo words.
func TestXXH128MatchesC(t *testing.T) {
	if got := digest(XXH128, []byte{1, 2, 3}); got != "ac77eb88cbc4b8d4ebce9b7632ae733b" {
		t.Fatalf("got %s", got)
	}
}

func TestParse(t *testing.T) {
	for _, a := range All() {
		got, err := Parse(a.String())
		if err != nil || got != a {
			t.Errorf("Parse(%q) = %v, %v", a, got, err)
		}
	}
	if Default != XXH128 || (Algorithm{}) != Default {
		t.Error("the default (and the zero value) must be xxh128")
	}
	for _, bad := range []string{"", "md5", "SHA256", " sha256", "xxh3", "blake3\x00"} {
		_, err := Parse(bad)
		if err == nil {
			t.Errorf("Parse(%q) accepted", bad)
			continue
		}
		if !strings.Contains(err.Error(), "xxh128, sha256, blake3") {
			t.Errorf("Parse(%q): %v does not list the choices", bad, err)
		}
	}
}

func TestDecode(t *testing.T) {
	for _, v := range vectors {
		sum, err := v.alg.Decode(v.abc)
		if err != nil || v.alg.Encode(sum) != v.abc {
			t.Errorf("%s: Decode(%s) = %x, %v", v.alg, v.abc, sum, err)
		}
		for _, bad := range []string{"", v.abc[2:], v.abc + "00", strings.ToUpper(v.abc),
			"zz" + v.abc[2:], v.abc[:len(v.abc)-1] + " "} {
			if _, err := v.alg.Decode(bad); err == nil {
				t.Errorf("%s: Decode(%q) accepted", v.alg, bad)
			}
		}
	}
	// A digest of one algorithm is not taken for another's.
	if _, err := SHA256.Decode(vectors[0].abc); err == nil {
		t.Error("sha256 accepted an xxh128 digest")
	}
}

func BenchmarkDigest(b *testing.B) {
	buf := pattern(1 << 20)
	for _, a := range All() {
		b.Run(a.String()+"/1MiB", func(b *testing.B) {
			h := a.New()
			b.SetBytes(int64(len(buf)))
			for b.Loop() {
				h.Reset()
				h.Write(buf)
				h.Sum(nil)
			}
		})
	}
}

func TestSumDoesNotDisturbState(t *testing.T) {
	// hash.Hash promises Sum leaves the state alone; the cache and the
	// transfer code may Sum for a progress check and keep writing.
	for _, a := range All() {
		h := a.New()
		h.Write([]byte("ab"))
		h.Sum(nil)
		h.Write([]byte("c"))
		if got := h.Sum(nil); !bytes.Equal(got, mustDecode(t, a, vectorFor(a).abc)) {
			t.Errorf("%s: Sum changed the state", a)
		}
	}
}

func vectorFor(a Algorithm) vector {
	for _, v := range vectors {
		if v.alg == a {
			return v
		}
	}
	return vector{}
}

func mustDecode(t *testing.T, a Algorithm, s string) []byte {
	t.Helper()
	sum, err := a.Decode(s)
	if err != nil {
		t.Fatal(err)
	}
	return sum
}

func TestMeets(t *testing.T) {
	for _, tc := range []struct {
		a, minimum Algorithm
		want       bool
	}{
		{XXH128, XXH128, true}, {SHA256, XXH128, true}, {BLAKE3, XXH128, true},
		{XXH128, SHA256, false}, {SHA256, SHA256, true}, {BLAKE3, SHA256, true},
		{XXH128, BLAKE3, false}, {SHA256, BLAKE3, true}, {BLAKE3, BLAKE3, true},
	} {
		if got := tc.a.Meets(tc.minimum); got != tc.want {
			t.Errorf("%v.Meets(%v) = %v, want %v", tc.a, tc.minimum, got, tc.want)
		}
	}
}

// TestPipe checks that Tee and Write hash every byte once, in order, on
// both sides of the in-line threshold, and that write sees each piece.
func TestPipe(t *testing.T) {
	for _, a := range All() {
		data := make([]byte, 3*pipeMin+17)
		for i := range data {
			data[i] = byte(i * 7)
		}
		p := NewPipe(a.New())
		var written []byte
		pieces := [][]byte{data[:10], data[10 : 10+pipeMin], data[10+pipeMin : 2*pipeMin+1], data[2*pipeMin+1:]}
		for i, b := range pieces {
			if i == 2 {
				p.Write(b)
				written = append(written, b...)
				continue
			}
			if err := p.Tee(b, func(b []byte) error { written = append(written, b...); return nil }); err != nil {
				t.Fatal(err)
			}
		}
		got := p.Sum()
		p.Close()
		want := a.New()
		want.Write(data)
		if !bytes.Equal(got, want.Sum(nil)) || !bytes.Equal(written, data) || p.Len() != int64(len(data)) {
			t.Fatalf("%v: digest %x, want %x; wrote %d bytes, counted %d, of %d", a, got, want.Sum(nil), len(written), p.Len(), len(data))
		}
	}
}

// TestHashRange hashes a range of a file, and says when the file ends
// before the range does.
func TestHashRange(t *testing.T) {
	data := make([]byte, 2<<20+5)
	for i := range data {
		data[i] = byte(i * 13)
	}
	path := filepath.Join(t.TempDir(), "f")
	if err := os.WriteFile(path, data, 0o600); err != nil {
		t.Fatal(err)
	}
	f, err := os.Open(path)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	h := SHA256.New()
	if err := HashRange(h, f, 3, int64(len(data))-4); err != nil {
		t.Fatal(err)
	}
	want := SHA256.New()
	want.Write(data[3 : len(data)-1])
	if !bytes.Equal(h.Sum(nil), want.Sum(nil)) {
		t.Fatal("digest of the range differs")
	}
	if err := HashRange(SHA256.New(), f, 10, int64(len(data))); !errors.Is(err, io.ErrUnexpectedEOF) {
		t.Fatalf("range past the end: %v, want io.ErrUnexpectedEOF", err)
	}
}
