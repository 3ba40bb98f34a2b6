package host

import (
	"io"
	"os"
	"sync"

	"github.com/selectftp/selectftp/internal/checksum"
	"github.com/selectftp/selectftp/internal/respond"
	"github.com/selectftp/selectftp/sdk"
)

// localWriter is a Local call's sdk.ResponseWriter: what the network
// session's responseWriter does, with an Output for the connection. It is
// a pluginrpc.FileSender, so the descriptor a plugin hands over reaches
// Output.SendFile, and an io.ReaderFrom, so an in-process io.Copy of a
// file does too. The output is paced to the user's download rate. It
// does not hash: nobody verifies a front's output, and reading a sent file
// back would cost what sendfile saves.
type localWriter struct {
	mu    sync.Mutex
	out   Output // nil: discard
	alg   checksum.Algorithm
	pace  *pacer
	meta  respond.Meta
	ended bool   // the command returned: later output fails
	n     int64  // body bytes written
	known []byte // the whole body's digest, which the command knew
	dir   string // sdk.SetDir's
}

var (
	_ sdk.ResponseWriter = (*localWriter)(nil)
	_ io.ReaderFrom      = (*localWriter)(nil)
)

// SetMeta records metadata, until the body starts.
func (w *localWriter) SetMeta(key string, value any) error {
	w.mu.Lock()
	defer w.mu.Unlock()
	if w.ended {
		return errResponseEnded
	}
	return w.meta.Set(key, value)
}

// SetSessionDir is sdk.SetDir: Call applies it if the request ends ok.
func (w *localWriter) SetSessionDir(dir string) error {
	w.mu.Lock()
	defer w.mu.Unlock()
	if w.ended {
		return errResponseEnded
	}
	w.dir = dir
	return nil
}

// startBody is the check before any output; w.mu is held.
func (w *localWriter) startBody() error {
	w.meta.Start()
	switch {
	case w.ended:
		return errResponseEnded
	case w.known != nil:
		return errBodyWhole
	}
	return nil
}

func (w *localWriter) Write(p []byte) (int, error) {
	w.mu.Lock()
	defer w.mu.Unlock()
	if err := w.startBody(); err != nil {
		return 0, err
	}
	if w.out == nil {
		w.n += int64(len(p))
		return len(p), nil
	}
	n := 0
	err := w.pace.each(int64(len(p)), func(off, c int64) error {
		m, err := w.out.Write(p[off : off+c])
		n += m
		w.n += int64(m)
		return err
	})
	return n, err
}

// SendFileDigest sends n bytes of f from off through Output.SendFile;
// known, when it is the digest of the range in the request's algorithm
// and nothing was sent before, makes the range the whole body.
func (w *localWriter) SendFileDigest(f *os.File, off, n int64, known []byte) error {
	w.mu.Lock()
	defer w.mu.Unlock()
	if err := w.startBody(); err != nil {
		return err
	}
	if len(known) == w.alg.Size() && w.n == 0 {
		w.known = known
	}
	if w.out == nil {
		w.n += n
		return nil
	}
	return w.pace.each(n, func(o, c int64) error {
		m, err := w.out.SendFile(f, off+o, c)
		w.n += m
		if err == nil && m != c {
			err = io.ErrShortWrite
		}
		return err
	})
}

// SendFile is SendFileDigest without a digest.
func (w *localWriter) SendFile(f *os.File, off, n int64) error {
	return w.SendFileDigest(f, off, n, nil)
}

// ReadFrom gives in-process commands the plugins' path: io.Copy(w, file)
// reaches Output.SendFile.
func (w *localWriter) ReadFrom(r io.Reader) (int64, error) {
	return respond.ReadFrom(w, r, w.SendFile, nil)
}

// end marks the command returned: a goroutine it left behind cannot write
// after Call returned.
func (w *localWriter) end() {
	w.mu.Lock()
	w.ended = true
	w.meta.Start()
	w.mu.Unlock()
}

// metaMap is the metadata; call it after end.
func (w *localWriter) metaMap() map[string]any {
	w.mu.Lock()
	defer w.mu.Unlock()
	return w.meta.Map()
}
