package checksum

import (
	"hash"
	"io"
	"os"
	"sync"
)

// pipeMin is the smallest piece Pipe hashes on its goroutine: below it the
// hand-over costs more than hashing in line.
const pipeMin = 64 << 10

// Pipe hashes pieces on its own goroutine while the caller writes them:
// hashing beside the socket or disk work instead of after it. Use it from
// one goroutine; Close it when done. The goroutine starts with the first
// large piece, so a Pipe that sees only small ones costs nothing.
type Pipe struct {
	h      hash.Hash
	n      int64
	pieces chan []byte
	hashed chan struct{}
}

// NewPipe returns a Pipe that feeds h.
func NewPipe(h hash.Hash) *Pipe { return &Pipe{h: h} }

func (p *Pipe) run() {
	p.pieces, p.hashed = make(chan []byte), make(chan struct{})
	go func() {
		for b := range p.pieces {
			p.h.Write(b)
			p.hashed <- struct{}{}
		}
	}()
}

// Tee hashes b while write runs on it, and returns once both are through,
// so the caller may then reuse b. b is hashed whatever write returns: the
// caller decides whether a failed piece still counts.
func (p *Pipe) Tee(b []byte, write func([]byte) error) error {
	p.n += int64(len(b))
	if len(b) < pipeMin {
		p.h.Write(b)
		return write(b)
	}
	if p.pieces == nil {
		p.run()
	}
	p.pieces <- b
	err := write(b)
	<-p.hashed
	return err
}

// Write hashes b in line (hash.Hash's Write never fails).
func (p *Pipe) Write(b []byte) (int, error) {
	p.n += int64(len(b))
	return p.h.Write(b)
}

// HashRange hashes n bytes of f from off (see the function HashRange), on
// the caller's goroutine: call it beside the work that moves the range.
func (p *Pipe) HashRange(f *os.File, off, n int64) error {
	p.n += n
	return HashRange(p.h, f, off, n)
}

// Count adds n bytes to Len without hashing them: bytes whose digest the
// caller knows otherwise.
func (p *Pipe) Count(n int64) { p.n += n }

// Len is how many bytes were hashed.
func (p *Pipe) Len() int64 { return p.n }

// Sum is the digest of everything hashed so far; call it between Tees.
func (p *Pipe) Sum() []byte { return p.h.Sum(nil) }

// Close stops the hashing goroutine.
func (p *Pipe) Close() {
	if p.pieces != nil {
		close(p.pieces)
		p.pieces = nil
	}
}

// HashRange feeds n bytes of f from off to h, read with pread in large
// pieces (from the page cache, for a file just written or being sent): the
// digest of a range that moves by sendfile, whose bytes never pass through
// this process.
func HashRange(h hash.Hash, f *os.File, off, n int64) error {
	bp := rangeBufs.Get().(*[]byte)
	defer rangeBufs.Put(bp)
	buf := *bp
	for n > 0 {
		c, err := f.ReadAt(buf[:min(int64(len(buf)), n)], off)
		h.Write(buf[:c])
		off += int64(c)
		n -= int64(c)
		if n > 0 && err == io.EOF {
			return io.ErrUnexpectedEOF
		}
		if err != nil && err != io.EOF {
			return err
		}
	}
	return nil
}

// rangeBufs lends HashRange its read buffers: 1 MiB, large enough that the
// system calls do not show beside the hashing.
var rangeBufs = sync.Pool{New: func() any { b := make([]byte, 1<<20); return &b }}
