package sdk

import (
	"errors"
	"io"
	"sync"

	"github.com/selectftp/selectftp/internal/fdpass"
	"github.com/selectftp/selectftp/internal/pb"
)

// body is a plugin's request body. The host sends nothing until the command
// first reads, so a command that copies the body into a file can instead
// hand the file to the host, which writes the upload into it directly.
type body struct {
	pipe *io.PipeReader
	out  *streamWriter // also holds the descriptor channel, if any

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
func (b *body) WriteTo(w io.Writer) (int64, error) { return b.WriteToLimit(w, -1) }

// WriteToLimit is WriteTo of at most limit bytes (limit < 0: all), for
// LimitBody.
func (b *body) WriteToLimit(w io.Writer, limit int64) (int64, error) {
	if f, ok := fdpass.TargetFile(w); ok && b.out.fds != nil && b.claim() {
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
	token := b.out.tokens.Add(1)
	if err := b.out.fds.Send(token, f); err != nil {
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
	// d.Over: as io.LimitReader would, stop at the limit; the caller sees
	// limit bytes and decides, and the host drops the rest of the body.
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
