package sdk

import (
	"crypto/sha256"
	"io"
	"os"
)

// SaveBody writes the request body into f, from f's offset, and returns how
// many bytes it wrote and their SHA-256. It writes at most limit bytes
// (limit < 0: all of them); to tell a body longer than you accept from an
// exact one, pass one byte more than you accept and compare n. The rest of a
// longer body is dropped. f's offset ends after the bytes written.
//
// It is the upload fast path, and the one way to take it: in a plugin
// process the SDK hands f's descriptor to the host, which writes the body
// into it from its own buffer and hashes it on the way, so the bytes never
// cross the RPC and are never read back; in-process, the host's body does
// the same without the descriptor. With neither (a test's plain reader, a
// system without descriptor passing) it copies and hashes here. The result
// is the same on every path: call it once, before reading req.Body.
func SaveBody(req *Request, f *os.File, limit int64) (n int64, sha256 []byte, err error) {
	switch b := req.Body.(type) {
	case nil:
		return 0, emptySHA256(), nil
	case bodySaver:
		return b.SaveTo(f, limit)
	}
	return copyHashed(f, req.Body, limit)
}

// bodySaver is a body that saves itself into a file, hashing on the way:
// the plugin runtime's (through the host's descriptor path) and the host's
// own for in-process commands.
type bodySaver interface {
	SaveTo(f *os.File, limit int64) (int64, []byte, error)
}

func copyHashed(f *os.File, r io.Reader, limit int64) (int64, []byte, error) {
	if limit >= 0 {
		r = io.LimitReader(r, limit)
	}
	h := sha256.New()
	n, err := io.Copy(io.MultiWriter(f, h), r)
	if err != nil {
		return n, nil, err
	}
	return n, h.Sum(nil), nil
}

func emptySHA256() []byte { s := sha256.Sum256(nil); return s[:] }
