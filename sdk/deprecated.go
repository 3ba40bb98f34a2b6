package sdk

import "io"

// LimitBody returns a reader of at most n bytes of the request body r, like
// io.LimitReader, that keeps the fast path of io.Copy of the body into a
// file.
//
// Deprecated: use SaveBody, which takes the fast path explicitly and
// returns the digest. LimitBody stays until its last caller (a host test)
// moves.
func LimitBody(r io.Reader, n int64) io.Reader {
	if b, ok := r.(limitWriterTo); ok {
		return &limitedBody{r: b, left: n}
	}
	return io.LimitReader(r, n)
}

// limitWriterTo is a body that can write at most limit bytes of itself
// into a file through the fast path: a plugin's, or the host's in-process.
type limitWriterTo interface {
	io.Reader
	WriteToLimit(w io.Writer, limit int64) (int64, error)
	DeliveredSHA256() ([]byte, bool)
}

type limitedBody struct {
	r    limitWriterTo
	left int64
}

func (l *limitedBody) Read(p []byte) (int, error) {
	if l.left <= 0 {
		return 0, io.EOF
	}
	p = p[:min(int64(len(p)), l.left)]
	n, err := l.r.Read(p)
	l.left -= int64(n)
	return n, err
}

func (l *limitedBody) WriteTo(w io.Writer) (int64, error) {
	n, err := l.r.WriteToLimit(w, l.left)
	l.left -= n
	return n, err
}

func (l *limitedBody) DeliveredSHA256() ([]byte, bool) { return l.r.DeliveredSHA256() }

// BodySHA256 returns the SHA-256 of a request body that was copied into a
// file through the fast path, which the host computed as it wrote; ok is
// false otherwise, and the command hashes what it stored itself.
//
// Deprecated: use SaveBody.
func BodySHA256(r io.Reader) (sum []byte, ok bool) {
	if d, isD := r.(interface{ DeliveredSHA256() ([]byte, bool) }); isD {
		return d.DeliveredSHA256()
	}
	return nil, false
}
