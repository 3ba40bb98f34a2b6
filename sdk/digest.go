package sdk

import (
	"encoding/hex"
	"io"
	"os"

	"github.com/selectftp/selectftp/internal/checksum"
)

// Digest is a checksum of some bytes: the algorithm's protocol name
// ("xxh128", "sha256" or "blake3") and the sum. Every transfer is verified
// with the algorithm the client chose for it (Request.Checksum): the host
// checks an upload's digest against the one the client sent after the
// bytes, and sends the digest of every response body with its status.
type Digest struct {
	Algorithm string
	Sum       []byte
}

// String is the digest as it travels: the sum in lower-case hex.
func (d Digest) String() string { return hex.EncodeToString(d.Sum) }

// IsZero reports whether d holds no digest.
func (d Digest) IsZero() bool { return len(d.Sum) == 0 }

// Algorithms lists the digest algorithms a transfer may use, the default
// first.
func Algorithms() []string { return checksum.Names() }

// algorithm is the request's digest algorithm; an unknown name (a Request
// built by hand) falls back to the default, as the host's would never be.
func (r *Request) algorithm() checksum.Algorithm {
	a, err := checksum.Parse(r.Checksum)
	if err != nil {
		return checksum.Default
	}
	return a
}

// SendFile sends n bytes of f from off as response body: by sendfile where
// the host can, so the bytes do not pass through the command at all.
//
// known, when it is not zero, must be the digest of exactly those bytes in
// the request's algorithm (a cache the command keeps), and the range must
// then be the whole response body: the host sends known with its status
// instead of reading the range again to hash it, and output after it fails.
// A known digest in another algorithm is ignored. Without one the host
// hashes the range beside sending it.
func SendFile(req *Request, w ResponseWriter, f *os.File, off, n int64, known Digest) error {
	if known.Algorithm != req.algorithm().String() {
		known = Digest{}
	}
	if fs, ok := w.(fileSender); ok {
		return fs.SendFileDigest(f, off, n, known.Sum)
	}
	_, err := io.Copy(w, io.NewSectionReader(f, off, n))
	return err
}

// fileSender is a response writer that sends file ranges itself: the
// host's, and the plugin runtime's (which hands the descriptor to the host).
type fileSender interface {
	SendFileDigest(f *os.File, off, n int64, known []byte) error
}
