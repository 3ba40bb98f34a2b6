package host

import (
	"errors"
	"io"
	"os"
	"sync"

	"github.com/selectftp/selectftp/host/internal/netpoll"
	"github.com/selectftp/selectftp/internal/checksum"
	"github.com/selectftp/selectftp/internal/respond"
	"github.com/selectftp/selectftp/protocol"
	"github.com/selectftp/selectftp/sdk"
)

// responseWriter turns a command's output into frames: Response metadata
// once, before the first data, then Data frames, then the Status. It hashes
// the body as it goes, in the request's algorithm, for the Status.
type responseWriter struct {
	mu      sync.Mutex
	c       netpoll.Conn
	meta    respond.Meta // metadata, final once the body started
	metaMin int          // bytes the metadata takes at least, encoded
	err     error        // the metadata could not be sent: every later output fails
	hdr     [protocol.HeaderLen]byte

	alg   checksum.Algorithm
	hash  *checksum.Pipe // made on the first output
	known []byte         // the whole body's digest, which the command knew
	dir   string         // the session's next current folder (sdk.SetDir)
	pace  *pacer         // the user's download rate; nil: none
}

// SetSessionDir is sdk.SetDir: the loop applies it if the request ends ok.
func (w *responseWriter) SetSessionDir(dir string) error {
	w.mu.Lock()
	defer w.mu.Unlock()
	if w.err == errResponseEnded {
		return w.err
	}
	w.dir = dir
	return nil
}

func (w *responseWriter) newDir() string {
	w.mu.Lock()
	defer w.mu.Unlock()
	return w.dir
}

func newResponseWriter(c netpoll.Conn, alg checksum.Algorithm) *responseWriter {
	return &responseWriter{c: c, alg: alg}
}

// hasher is the body's running digest.
func (w *responseWriter) hasher() *checksum.Pipe {
	if w.hash == nil {
		w.hash = checksum.NewPipe(w.alg.New())
	}
	return w.hash
}

// digest is the response body's length and digest, for an ok Status; call
// it after settle.
func (w *responseWriter) digest() (int64, string) {
	w.mu.Lock()
	defer w.mu.Unlock()
	h := w.hasher()
	if w.known != nil {
		return h.Len(), w.alg.Encode(w.known)
	}
	return h.Len(), w.alg.Encode(h.Sum())
}

// SetMeta refuses at once a value that cannot fit in a Response frame (a
// plugin could send 1 MiB of it, a frame our own client refuses); begin
// checks the exact encoding.
func (w *responseWriter) SetMeta(key string, value any) error {
	w.mu.Lock()
	defer w.mu.Unlock()
	if w.meta.Started() {
		return respond.ErrMetaLate
	}
	size := w.metaMin + len(key) + minEncodedLen(value)
	if old, ok := w.meta.Get(key); ok {
		size -= len(key) + minEncodedLen(old)
	}
	if size > protocol.DefaultMaxControl {
		// Sticky: a command that ignores this error must not send the
		// rest of its response as if it were whole.
		w.err = metaTooLarge(size)
		return w.err
	}
	w.metaMin = size
	return w.meta.Set(key, value)
}

// minEncodedLen is a lower bound of the JSON size of v, computed without
// encoding it: enough to refuse a huge string or byte slice, the way
// metadata gets large.
func minEncodedLen(v any) int {
	switch v := v.(type) {
	case string:
		return len(v)
	case []byte:
		return len(v) / 3 * 4 // base64
	}
	return 0
}

// metaTooLarge says the metadata does not fit; n is its size, or a lower
// bound of it.
func metaTooLarge(n int) error {
	return sdk.Errorf(sdk.CodeTooLarge, "the response metadata takes %d bytes or more, over the %d-byte limit of a response frame",
		n, protocol.DefaultMaxControl)
}

// begin sends the metadata, if any, before the first byte of output. If it
// cannot (too large, or not JSON), nothing of the output is sent and every
// later call fails the same way, as after SetMeta refused a value.
func (w *responseWriter) begin() error {
	if !w.meta.Start() || w.err != nil {
		return w.err
	}
	if len(w.meta.Map()) == 0 {
		return nil
	}
	frame, err := protocol.Marshal(protocol.TypeResponse, protocol.Response{Meta: w.meta.Map()})
	switch {
	case errors.Is(err, protocol.ErrTooLarge):
		w.err = metaTooLarge(protocol.DefaultMaxControl + 1) // escaping grew it past the limit
	case err != nil:
		w.err = sdk.Errorf(sdk.CodeInternal, "the response metadata is not JSON: %v", err)
	default:
		return w.c.Write(frame)
	}
	return w.err
}

func (w *responseWriter) Write(p []byte) (int, error) {
	w.mu.Lock()
	defer w.mu.Unlock()
	if err := w.begin(); err != nil {
		return 0, err
	}
	if w.known != nil {
		return 0, errBodyWhole
	}
	n := 0
	for len(p) > 0 {
		c := min(len(p), 1<<30)
		if err := w.c.Write(protocol.AppendHeader(w.hdr[:0], protocol.TypeData, uint32(c))); err != nil {
			return n, err
		}
		err := w.pace.each(int64(c), func(off, m int64) error {
			return w.hasher().Tee(p[off:off+m], w.c.Write)
		})
		if err != nil {
			return n, err
		}
		n += c
		p = p[c:]
	}
	return n, nil
}

// errBodyWhole answers output after a file range sent with its digest,
// which was declared the whole body.
var errBodyWhole = sdk.Errorf(sdk.CodeInternal, "the command sent output after a file it declared the whole response body")

// settle ends the command's side of the response, the part that may wait:
// metadata not yet sent goes ahead of an OK status, and later SetMeta
// calls fail. The session's loop queues the status itself.
func (w *responseWriter) settle(ok bool) error {
	w.mu.Lock()
	defer w.mu.Unlock()
	var err error
	if ok {
		err = w.begin()
	}
	w.meta.Start()
	if w.err == nil {
		// A goroutine the command left behind must not put Data after
		// the Status, where it would land in the next response.
		w.err = errResponseEnded
	}
	if w.hash != nil {
		w.hash.Close()
	}
	return err
}

// errResponseEnded answers output after the command returned.
var errResponseEnded = errors.New("host: the response has ended: the command returned")

// SendFile sends n bytes of f from off as body data: one Data frame header
// per GiB, then the file range, which the connection moves with sendfile
// (or its own pread fallback). The range must not change while it is sent.
// It is hashed beside the sending, read from the page cache.
func (w *responseWriter) SendFile(f *os.File, off, n int64) error {
	return w.SendFileDigest(f, off, n, nil)
}

// SendFileDigest is SendFile with, when known is the digest of the range in
// the request's algorithm and nothing was sent before, no hashing: the
// range is then the whole body (sdk.SendFile).
func (w *responseWriter) SendFileDigest(f *os.File, off, n int64, known []byte) error {
	w.mu.Lock()
	defer w.mu.Unlock()
	if err := w.begin(); err != nil {
		return err
	}
	if w.known != nil {
		return errBodyWhole
	}
	h := w.hasher()
	var hashed chan error
	if len(known) == w.alg.Size() && h.Len() == 0 {
		w.known = known
		h.Count(n)
	} else {
		hashed = make(chan error, 1)
		go func() { hashed <- h.HashRange(f, off, n) }()
	}
	err := w.sendRange(f, off, n)
	if hashed != nil {
		if herr := <-hashed; err == nil && herr != nil {
			err = sdk.Errorf(sdk.CodeInternal, "read the file to hash it: %v", herr)
		}
	}
	return err
}

func (w *responseWriter) sendRange(f *os.File, off, n int64) error {
	for n > 0 {
		c := min(n, 1<<30)
		if err := w.c.Write(protocol.AppendHeader(w.hdr[:0], protocol.TypeData, uint32(c))); err != nil {
			return err
		}
		err := w.pace.each(c, func(o, m int64) error { return w.c.SendFile(f, off+o, m) })
		if err != nil {
			return err
		}
		off += c
		n -= c
	}
	return nil
}

// ReadFrom gives in-process commands the same fast path as plugins:
// io.Copy(w, file) sends the file with sendfile.
func (w *responseWriter) ReadFrom(r io.Reader) (int64, error) {
	return respond.ReadFrom(w, r, w.SendFile, nil)
}
