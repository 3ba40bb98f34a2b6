package sdk

import (
	"errors"
	"io"
	"sync"
	"sync/atomic"

	"github.com/selectftp/selectftp/internal/fdpass"
	"github.com/selectftp/selectftp/internal/pb"
)

// body is a plugin's request body. The host sends nothing until the command
// first reads, so a command that copies the body into a file can instead
// hand the file to the host, which writes the upload into it directly.
type body struct {
	pipe   *io.PipeReader
	out    *streamWriter
	fds    *fdpass.Sender // nil: no descriptor channel for this request
	tokens *atomic.Uint64

	mu      sync.Mutex
	started bool // streaming was asked for
	done    chan *pb.BodyDone
	sum     []byte
	failed  error
}

func (b *body) start() error {
	b.mu.Lock()
	defer b.mu.Unlock()
	if b.started {
		return nil
	}
	b.started = true
	return b.out.send(&pb.RunOutput{Msg: &pb.RunOutput_WantBody{WantBody: true}})
}

func (b *body) Read(p []byte) (int, error) {
	if err := b.start(); err != nil {
		return 0, err
	}
	return b.pipe.Read(p)
}

// WriteTo is where io.Copy(file, req.Body) lands (via os.File.ReadFrom):
// the host then writes the upload into the file without it crossing gRPC.
func (b *body) WriteTo(w io.Writer) (int64, error) { return b.copyTo(w, -1) }

func (b *body) copyTo(w io.Writer, limit int64) (int64, error) {
	if f, ok := fdpass.TargetFile(w); ok && b.fds != nil && b.claim() {
		return b.toFile(f, limit)
	}
	var r io.Reader = readerOnly{b}
	if limit >= 0 {
		r = io.LimitReader(r, limit)
	}
	return io.Copy(writerOnly{w}, r)
}

// claim reserves the body for the descriptor path if streaming has not
// started.
func (b *body) claim() bool {
	b.mu.Lock()
	defer b.mu.Unlock()
	if b.started {
		return false
	}
	b.started = true
	return true
}

func (b *body) toFile(f fdpass.File, limit int64) (int64, error) {
	off, err := f.Seek(0, io.SeekCurrent)
	if err != nil {
		return 0, err
	}
	token := b.tokens.Add(1)
	if err := b.fds.Send(token, f); err != nil {
		return 0, err
	}
	if err := b.out.send(&pb.RunOutput{Msg: &pb.RunOutput_BodyToFile{BodyToFile: &pb.BodyToFile{
		Token: token, Offset: off, Limit: limit}}}); err != nil {
		return 0, err
	}
	d, ok := <-b.done
	if !ok {
		return 0, b.err()
	}
	if _, err := f.Seek(off+d.Written, io.SeekStart); err != nil {
		return d.Written, err
	}
	if d.Code != "" {
		return d.Written, &Error{Code: Code(d.Code), Message: d.Message}
	}
	b.mu.Lock()
	b.sum = d.Sha256
	b.mu.Unlock()
	if d.Over {
		// As io.LimitReader would: the limit was reached. The caller sees
		// limit bytes and decides; the rest of the body is dropped.
		return d.Written, nil
	}
	return d.Written, nil
}

func (b *body) deliver(d *pb.BodyDone) {
	select {
	case b.done <- d:
	default: // an answer nobody asked for
	}
}

func (b *body) fail(err error) {
	b.mu.Lock()
	if b.failed == nil {
		b.failed = err
		close(b.done)
	}
	b.mu.Unlock()
}

func (b *body) err() error {
	b.mu.Lock()
	defer b.mu.Unlock()
	if b.failed == nil {
		return errors.New("sdk: request ended")
	}
	return b.failed
}

// DeliveredSHA256 is the SHA-256 of the bytes the host wrote into a file.
func (b *body) DeliveredSHA256() ([]byte, bool) {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.sum, b.sum != nil
}

// LimitBody returns a reader of at most n bytes of the request body r, like
// io.LimitReader, that keeps the fast path of copying the body into a file.
// Read one byte more than you accept to tell "exactly n" from "more".
func LimitBody(r io.Reader, n int64) io.Reader {
	switch b := r.(type) {
	case *body:
		return &limitedBody{b: b, left: n}
	case limitWriterTo:
		return &limitedHostBody{r: b, left: n}
	}
	return io.LimitReader(r, n)
}

// limitWriterTo is a host-side body that can write into a file itself.
type limitWriterTo interface {
	io.Reader
	WriteToLimit(w io.Writer, limit int64) (int64, error)
	DeliveredSHA256() ([]byte, bool)
}

type limitedBody struct {
	b    *body
	left int64
}

func (l *limitedBody) Read(p []byte) (int, error) {
	if l.left <= 0 {
		return 0, io.EOF
	}
	p = p[:min(int64(len(p)), l.left)]
	n, err := l.b.Read(p)
	l.left -= int64(n)
	return n, err
}

func (l *limitedBody) WriteTo(w io.Writer) (int64, error) {
	n, err := l.b.copyTo(w, l.left)
	l.left -= n
	return n, err
}

func (l *limitedBody) DeliveredSHA256() ([]byte, bool) { return l.b.DeliveredSHA256() }

type limitedHostBody struct {
	r    limitWriterTo
	left int64
}

func (l *limitedHostBody) Read(p []byte) (int, error) {
	if l.left <= 0 {
		return 0, io.EOF
	}
	p = p[:min(int64(len(p)), l.left)]
	n, err := l.r.Read(p)
	l.left -= int64(n)
	return n, err
}

func (l *limitedHostBody) WriteTo(w io.Writer) (int64, error) {
	n, err := l.r.WriteToLimit(w, l.left)
	l.left -= n
	return n, err
}

func (l *limitedHostBody) DeliveredSHA256() ([]byte, bool) { return l.r.DeliveredSHA256() }

// BodySHA256 returns the SHA-256 of a request body that was copied into a
// file through the fast path, which the host computed as it wrote; ok is
// false otherwise, and the command hashes what it stored itself.
func BodySHA256(r io.Reader) (sum []byte, ok bool) {
	if d, isD := r.(interface{ DeliveredSHA256() ([]byte, bool) }); isD {
		return d.DeliveredSHA256()
	}
	return nil, false
}

// readerOnly and writerOnly hide WriteTo and ReadFrom so io.Copy takes its
// plain loop instead of calling back into us.
type readerOnly struct{ io.Reader }
type writerOnly struct{ io.Writer }
