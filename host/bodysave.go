package host

import (
	"bytes"
	"hash"
	"io"
	"os"
	"sync"

	"github.com/selectftp/selectftp/internal/checksum"
	"github.com/selectftp/selectftp/sdk"
)

// requestBody is a request's Body as commands see it: reads from the body
// buffer, plus the upload fast paths that hand the buffer's bytes straight
// to a writer (WriteTo) or into a file (SaveTo for sdk.SaveBody,
// WriteBodyTo for pluginrpc.BodyFileWriter). Those method names are the
// interfaces the other packages look for.
//
// Every path hashes what the command takes, in the request's algorithm, and
// checks the digest the client sent after the bytes before it reports the
// end: a command sees io.EOF only for a body that is whole and verified.
// One reader at a time, as for any io.Reader.
type requestBody struct {
	buf      *bodyBuf
	progress func() // a byte was taken: the request deadline's progress
	ask      func() // the command wants the body: a held-back body may come now
	asked    sync.Once
	alg      checksum.Algorithm
	h        hash.Hash // the digest of what the command took so far
	n        int64     // bytes the command took
	ended    bool      // the end was reached and checked; endErr says how it went
	endErr   error
	lim      *reqLimits // the user's quota and largest file; nil: none
	// unverified: no client digest comes (a front such as FTP has none):
	// the body is hashed but its end is not checked against a trailer.
	unverified bool
}

func newRequestBody(buf *bodyBuf, alg checksum.Algorithm, progress, ask func()) *requestBody {
	return &requestBody{buf: buf, progress: progress, ask: ask, alg: alg}
}

// start runs on every access: the first one asks for the body, and the hash
// is made only for a command that reads.
func (b *requestBody) start() {
	b.asked.Do(func() {
		b.h = b.alg.New()
		if b.ask != nil {
			b.ask()
		}
	})
}

// atEnd checks the finished body once, against its trailer, and returns
// io.EOF for a body that matches, else the error every later read returns.
func (b *requestBody) atEnd() error {
	if !b.ended {
		b.ended, b.endErr = true, b.verify()
	}
	if b.endErr != nil {
		return b.endErr
	}
	return io.EOF
}

// verify compares the digest of the bytes taken with the client's.
func (b *requestBody) verify() error {
	t := b.buf.endTrailer()
	switch {
	case t.Abort != "":
		return sdk.Errorf(sdk.CodeCanceled, "the client gave the upload up: %s", t.Abort)
	case t.Digest == "" && (b.n == 0 || b.unverified):
		return nil // an empty body needs no digest, nor a front's
	case t.Digest == "":
		return sdk.Errorf(sdk.CodeChecksum, "the body of %d bytes ended without its %s digest", b.n, b.alg)
	}
	want, err := b.alg.Decode(t.Digest)
	if err != nil {
		return sdk.Errorf(sdk.CodeChecksum, "the body's digest is invalid: %v", err)
	}
	if got := b.h.Sum(nil); !bytes.Equal(got, want) {
		return sdk.Errorf(sdk.CodeChecksum, "the %d bytes received have %s digest %s; the client sent %s: the body was damaged on the way",
			b.n, b.alg, b.alg.Encode(got), t.Digest)
	}
	return nil
}

// Read gives the command the body; it blocks until bytes, the end, or an
// error arrive.
func (b *requestBody) Read(p []byte) (int, error) {
	b.start()
	if b.ended {
		return 0, b.atEnd()
	}
	if len(p) == 0 {
		return 0, nil
	}
	seg, err := b.buf.next(len(p))
	if err == nil {
		err = b.limit(len(seg))
	}
	switch {
	case err == io.EOF:
		return 0, b.atEnd()
	case err == errBodyFinished:
		return 0, io.EOF // as before: a finished request reads as the end
	case err != nil:
		return 0, err
	}
	c := copy(p, seg)
	if err := b.buf.release(c); err != nil {
		return 0, io.EOF
	}
	b.h.Write(p[:c])
	b.n += int64(c)
	b.progress()
	return c, nil
}

// drain hands the body to write in place, a contiguous piece of the buffer
// at a time, saving the copy Read makes, and hashes each piece while write
// runs. It stops after limit bytes (limit < 0: none), reporting whether
// more followed. At the verified end of the body it returns a nil error.
func (b *requestBody) drain(write func([]byte) error, limit int64) (n int64, over bool, err error) {
	b.start()
	if b.ended {
		if err := b.atEnd(); err != io.EOF {
			return 0, false, err
		}
		return 0, false, nil
	}
	pipe := checksum.NewPipe(b.h)
	defer pipe.Close()
	for {
		want := int(^uint(0) >> 1)
		if limit >= 0 {
			want = int(min(int64(want), limit-n))
		}
		seg, err := b.buf.next(max(want, 1))
		if err == io.EOF {
			if err := b.atEnd(); err != io.EOF {
				return n, false, err
			}
			return n, false, nil
		}
		if err != nil {
			return n, false, err
		}
		if want == 0 {
			return n, true, nil // a byte past the limit is there
		}
		if err := b.limit(len(seg)); err != nil {
			return n, false, err
		}
		if err := pipe.Tee(seg, write); err != nil {
			return n, false, err
		}
		n += int64(len(seg))
		b.n += int64(len(seg))
		if err := b.buf.release(len(seg)); err != nil {
			return n, false, err
		}
		b.progress()
	}
}

// WriteBodyTo writes the rest of the body into f at off and returns the
// digest of the whole body: the plugin upload path (see
// pluginrpc.BodyFileWriter).
func (b *requestBody) WriteBodyTo(f *os.File, off, limit int64) (int64, []byte, bool, error) {
	if err := b.lim.startFile(off); err != nil {
		return 0, nil, false, err
	}
	n, over, err := b.drain(func(p []byte) error {
		_, err := f.WriteAt(p, off)
		off += int64(len(p))
		return err
	}, limit)
	if err != nil {
		return n, nil, over, err
	}
	return n, b.h.Sum(nil), over, nil
}

// WriteTo serves io.Copy from the body for in-process commands, handing
// the buffer's bytes to w without the copy Read makes.
func (b *requestBody) WriteTo(w io.Writer) (int64, error) {
	n, _, err := b.drain(func(p []byte) error { _, err := w.Write(p); return err }, -1)
	return n, err
}

// SaveTo writes at most limit bytes of the body (limit < 0: all) into f
// and returns the count and the body's digest: sdk.SaveBody for in-process
// commands.
func (b *requestBody) SaveTo(f *os.File, limit int64) (int64, []byte, error) {
	off, _ := f.Seek(0, io.SeekCurrent) // a resumed upload's kept part (0 if f cannot tell)
	if err := b.lim.startFile(off); err != nil {
		return 0, nil, err
	}
	n, _, err := b.drain(func(p []byte) error { _, err := f.Write(p); return err }, limit)
	if err != nil {
		return n, nil, err
	}
	return n, b.h.Sum(nil), nil
}

// limit holds n more body bytes to the user's quota and largest file
// before they reach the command; a refusal ends the body for good, so
// nothing after it is delivered either.
func (b *requestBody) limit(n int) error {
	if b.lim == nil {
		return nil
	}
	if err := b.lim.take(int64(n)); err != nil {
		b.ended, b.endErr = true, err
		return err
	}
	return nil
}
