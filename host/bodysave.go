package host

import (
	"crypto/sha256"
	"hash"
	"io"
	"os"
)

// requestBody is a request's Body as commands see it: reads from the body
// buffer, plus the upload fast paths that hand the buffer's bytes straight
// to a writer (WriteTo) or into a file, hashed on the way (SaveTo for
// sdk.SaveBody, WriteBodyTo for pluginrpc.BodyFileWriter). Those method
// names are the interfaces the other packages look for.
type requestBody struct {
	buf      *bodyBuf
	progress func() // a byte was taken: the request deadline's progress
}

// Read gives the command the body; it blocks until bytes, the end, or an
// error arrive.
func (b *requestBody) Read(p []byte) (int, error) {
	n, err := b.buf.Read(p)
	if n > 0 {
		b.progress()
	}
	return n, err
}

// drain hands the body to write in place, a contiguous piece of the buffer
// at a time, saving the copy Read makes. It stops after limit bytes (limit
// < 0: none), reporting whether more followed. At the end of the body it
// returns a nil error.
func (b *requestBody) drain(write func([]byte) error, limit int64) (n int64, over bool, err error) {
	for {
		want := int(^uint(0) >> 1)
		if limit >= 0 {
			want = int(min(int64(want), limit-n))
		}
		seg, err := b.buf.next(max(want, 1))
		if err == io.EOF {
			return n, false, nil
		}
		if err != nil {
			return n, false, err
		}
		if want == 0 {
			return n, true, nil // a byte past the limit is there
		}
		if err := write(seg); err != nil {
			return n, false, err
		}
		n += int64(len(seg))
		if err := b.buf.release(len(seg)); err != nil {
			return n, false, err
		}
		b.progress()
	}
}

// WriteBodyTo writes the rest of the body into f at off, hashing it: the
// plugin upload path (see pluginrpc.BodyFileWriter).
func (b *requestBody) WriteBodyTo(f *os.File, off, limit int64) (int64, []byte, bool, error) {
	return b.drainHashed(func(p []byte) error {
		_, err := f.WriteAt(p, off)
		off += int64(len(p))
		return err
	}, limit)
}

// WriteTo serves io.Copy from the body for in-process commands, handing
// the buffer's bytes to w without the copy Read makes.
func (b *requestBody) WriteTo(w io.Writer) (int64, error) {
	n, _, err := b.drain(func(p []byte) error { _, err := w.Write(p); return err }, -1)
	return n, err
}

// SaveTo writes at most limit bytes of the body (limit < 0: all) into f,
// hashing them on the way, and returns the count and SHA-256: sdk.SaveBody
// for in-process commands.
func (b *requestBody) SaveTo(f *os.File, limit int64) (int64, []byte, error) {
	n, sum, _, err := b.drainHashed(func(p []byte) error { _, err := f.Write(p); return err }, limit)
	return n, sum, err
}

// drainHashed is drain that also hashes the body (see pipeHasher).
func (b *requestBody) drainHashed(write func([]byte) error, limit int64) (int64, []byte, bool, error) {
	h := newPipeHasher()
	defer h.close()
	n, over, err := b.drain(func(p []byte) error { return h.tee(p, write) }, limit)
	if err != nil {
		return n, nil, over, err
	}
	return n, h.sum(), over, nil
}

// pipeHasher hashes pieces on its own goroutine while the caller writes
// them: the hash is an upload's slowest step, so it overlaps the write
// instead of following it.
type pipeHasher struct {
	h      hash.Hash
	pieces chan []byte
	hashed chan struct{}
}

func newPipeHasher() *pipeHasher {
	ph := &pipeHasher{h: sha256.New(), pieces: make(chan []byte), hashed: make(chan struct{})}
	go func() {
		for p := range ph.pieces {
			ph.h.Write(p)
			ph.hashed <- struct{}{}
		}
	}()
	return ph
}

// tee hashes p while write runs on it, and returns once both are through,
// so the caller may then release p.
func (ph *pipeHasher) tee(p []byte, write func([]byte) error) error {
	ph.pieces <- p
	err := write(p)
	<-ph.hashed
	return err
}

// sum is the digest of everything tee saw; call it between tees.
func (ph *pipeHasher) sum() []byte { return ph.h.Sum(nil) }

// close stops the hashing goroutine.
func (ph *pipeHasher) close() { close(ph.pieces) }
