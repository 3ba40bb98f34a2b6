package host

import (
	"errors"
	"io"
	"os"
	"sync"

	"github.com/selectftp/selectftp/host/internal/netpoll"
	"github.com/selectftp/selectftp/internal/fdpass"
	"github.com/selectftp/selectftp/internal/wire"
)

// responseWriter turns a command's output into frames: Response metadata
// once, before the first data, then Data frames, then the Status.
type responseWriter struct {
	mu      sync.Mutex
	c       netpoll.Conn
	meta    map[string]any
	started bool
	hdr     [wire.HeaderLen]byte
}

var errMetaLate = errors.New("host: SetMeta after the body started")

func (w *responseWriter) SetMeta(key string, value any) error {
	w.mu.Lock()
	defer w.mu.Unlock()
	if w.started {
		return errMetaLate
	}
	if w.meta == nil {
		w.meta = map[string]any{}
	}
	w.meta[key] = value
	return nil
}

// begin sends the metadata, if any, before the first byte of output.
func (w *responseWriter) begin() error {
	if w.started {
		return nil
	}
	w.started = true
	if len(w.meta) == 0 {
		return nil
	}
	frame, err := wire.Marshal(wire.TypeResponse, wire.Response{Meta: w.meta})
	if err != nil {
		return err
	}
	return w.c.Write(frame)
}

func (w *responseWriter) Write(p []byte) (int, error) {
	w.mu.Lock()
	defer w.mu.Unlock()
	if err := w.begin(); err != nil {
		return 0, err
	}
	n := 0
	for len(p) > 0 {
		c := min(len(p), 1<<30)
		if err := w.c.Write(wire.AppendHeader(w.hdr[:0], wire.TypeData, uint32(c))); err != nil {
			return n, err
		}
		if err := w.c.Write(p[:c]); err != nil {
			return n, err
		}
		n += c
		p = p[c:]
	}
	return n, nil
}

// finish sends what is left of the response: metadata not yet sent, and the
// status.
func (w *responseWriter) finish(st wire.Status) {
	w.mu.Lock()
	defer w.mu.Unlock()
	if st.OK() {
		if err := w.begin(); err != nil {
			st = wire.Status{Code: "internal", Message: err.Error()}
		}
	}
	w.started = true
	if frame, err := wire.Marshal(wire.TypeStatus, st); err == nil {
		w.c.Write(frame)
	}
}

// SendFile sends n bytes of f from off as body data: one Data frame header
// per GiB, then the file range, which the connection moves with sendfile
// (or its own pread fallback). The range must not change while it is sent.
func (w *responseWriter) SendFile(f *os.File, off, n int64) error {
	w.mu.Lock()
	defer w.mu.Unlock()
	if err := w.begin(); err != nil {
		return err
	}
	for n > 0 {
		c := min(n, 1<<30)
		if err := w.c.Write(wire.AppendHeader(w.hdr[:0], wire.TypeData, uint32(c))); err != nil {
			return err
		}
		if err := w.c.SendFile(f, off, c); err != nil {
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
	if f, off, n, done, ok := fdpass.SourceFile(r); ok {
		var err error
		if n > 0 {
			err = w.SendFile(f, off, n)
		}
		done(err == nil)
		if err != nil {
			return 0, err
		}
		return n, nil
	}
	return io.Copy(writerOnly{w}, r)
}

type writerOnly struct{ io.Writer }
