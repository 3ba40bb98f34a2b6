package plugside

import (
	"errors"
	"io"
	"os"
	"sync"

	"github.com/selectftp/selectftp/internal/checksum"
	"github.com/selectftp/selectftp/internal/fdpass"
	"github.com/selectftp/selectftp/internal/pb"
	"github.com/selectftp/selectftp/internal/respond"
	"github.com/selectftp/selectftp/protocol"
)

// Body is a plugin's request body. The host sends nothing until the command
// first reads, so a command that saves the body into a file can instead
// hand the file to the host, which writes the upload into it directly.
type Body struct {
	pipe *io.PipeReader
	out  *Writer            // also holds the descriptor channel, if any
	alg  checksum.Algorithm // the request's digest algorithm

	mu      sync.Mutex
	started bool // streaming was asked for, or the body claimed for a file
	saved   bool // the host wrote the body into a file: reads end at once
	done    chan *pb.BodyDone
	sum     []byte
	failed  error
}

func (b *Body) start() error {
	b.mu.Lock()
	defer b.mu.Unlock()
	if b.saved {
		// The host wrote the body into a file: what is left to read is
		// nothing, as in-process (asking for it would wait for ever).
		return io.EOF
	}
	if b.started {
		return nil
	}
	b.started = true
	return b.out.send(&pb.RunOutput{Msg: &pb.RunOutput_WantBody{WantBody: true}})
}

// Read streams the body over gRPC, asking the host for it on first use.
func (b *Body) Read(p []byte) (int, error) {
	if err := b.start(); err != nil {
		return 0, err
	}
	return b.pipe.Read(p)
}

// WriteTo is where io.Copy(file, req.Body) lands (via os.File.ReadFrom):
// the host then writes the upload into the file without it crossing gRPC.
func (b *Body) WriteTo(w io.Writer) (int64, error) { return b.WriteToLimit(w, -1) }

// WriteToLimit is WriteTo of at most limit bytes (limit < 0: all).
func (b *Body) WriteToLimit(w io.Writer, limit int64) (int64, error) {
	if f, ok := fdpass.TargetFile(w); ok && b.out.fds != nil && b.claim() {
		return b.toFile(f, limit)
	}
	return io.Copy(respond.WriterOnly{Writer: w}, b.limited(limit))
}

// SaveTo writes at most limit bytes (limit < 0: all) of the body into f at
// its offset, leaves the offset after them, and returns their count and
// digest in the request's algorithm: through the host when a descriptor
// channel is there (the bytes never cross gRPC; the host hashes as it
// writes), else streamed and hashed here. Either way the host verified the
// body against the client's digest before it reported the end.
func (b *Body) SaveTo(f *os.File, limit int64) (int64, []byte, error) {
	if b.out.fds != nil && b.claim() {
		n, err := b.toFile(f, limit)
		if err != nil {
			return n, nil, err
		}
		sum, _ := b.Delivered()
		return n, sum, nil
	}
	h := b.alg.New()
	n, err := io.Copy(io.MultiWriter(f, h), b.limited(limit))
	if err != nil {
		return n, nil, err
	}
	return n, h.Sum(nil), nil
}

// limited is the body as a plain reader of at most limit bytes.
func (b *Body) limited(limit int64) io.Reader {
	var r io.Reader = readerOnly{b}
	if limit >= 0 {
		r = io.LimitReader(r, limit)
	}
	return r
}

// claim reserves the body for the descriptor path if streaming has not
// started.
func (b *Body) claim() bool {
	b.mu.Lock()
	defer b.mu.Unlock()
	if b.started {
		return false
	}
	b.started, b.saved = true, true
	return true
}

func (b *Body) toFile(f fdpass.File, limit int64) (int64, error) {
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
		return d.Written, &protocol.StatusError{Code: protocol.Code(d.Code), Message: d.Message}
	}
	b.mu.Lock()
	b.sum = d.Digest
	b.mu.Unlock()
	// d.Over: as io.LimitReader would, stop at the limit; the caller sees
	// limit bytes and decides, and the host drops the rest of the body.
	return d.Written, nil
}

func (b *Body) deliver(d *pb.BodyDone) {
	select {
	case b.done <- d:
	default: // an answer nobody asked for
	}
}

func (b *Body) fail(err error) {
	b.mu.Lock()
	if b.failed == nil {
		b.failed = err
		close(b.done)
	}
	b.mu.Unlock()
}

func (b *Body) err() error {
	b.mu.Lock()
	defer b.mu.Unlock()
	if b.failed == nil {
		return errors.New("sdk: request ended")
	}
	return b.failed
}

// Delivered is the digest, in the request's algorithm, of the bytes the
// host wrote into a file.
func (b *Body) Delivered() ([]byte, bool) {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.sum, b.sum != nil
}

// readerOnly hides WriteTo so io.Copy takes its plain loop instead of
// calling back into us.
type readerOnly struct{ io.Reader }
