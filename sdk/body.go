package sdk

import (
	"hash"
	"io"
	"os"
)

// SaveBody writes the request body into f, from f's offset, and returns how
// many bytes it wrote and their digest in the request's algorithm. It writes
// at most limit bytes (limit < 0: all of them); to tell a body longer than
// you accept from an exact one, pass one byte more than you accept and
// compare n. The rest of a longer body is dropped. f's offset ends after the
// bytes written.
//
// When it returns no error the body is whole and verified: the host checked
// it against the digest the client sent after the bytes, and against the
// size it declared. A body that does not match, or that the client
// abandoned, is an error (CodeChecksum, CodeCanceled): keep nothing of it.
//
// It is the upload fast path, and the one way to take it: in a plugin
// process the SDK hands f's descriptor to the host, which writes the body
// into it from its own buffer and hashes it on the way, so the bytes never
// cross the RPC and are never read back; in-process, the host's body does
// the same without the descriptor. With neither (a test's plain reader, a
// system without descriptor passing) it copies and hashes here, and there is
// no client digest to check. Call it once, before reading req.Body.
func SaveBody(req *Request, f *os.File, limit int64) (n int64, d Digest, err error) {
	alg := req.algorithm()
	var sum []byte
	switch b := req.Body.(type) {
	case nil:
		sum = alg.New().Sum(nil)
	case bodySaver:
		n, sum, err = b.SaveTo(f, limit)
	default:
		n, sum, err = copyHashed(f, req.Body, limit, alg.New())
	}
	if err != nil {
		return n, Digest{}, err
	}
	return n, Digest{Algorithm: alg.String(), Sum: sum}, nil
}

// bodySaver is a body that saves itself into a file, hashing on the way in
// the request's algorithm and verifying at its end: the plugin runtime's
// (through the host's descriptor path) and the host's own for in-process
// commands.
type bodySaver interface {
	SaveTo(f *os.File, limit int64) (int64, []byte, error)
}

func copyHashed(f *os.File, r io.Reader, limit int64, h hash.Hash) (int64, []byte, error) {
	if limit >= 0 {
		r = io.LimitReader(r, limit)
	}
	n, err := io.Copy(io.MultiWriter(f, h), r)
	if err != nil {
		return n, nil, err
	}
	return n, h.Sum(nil), nil
}
