// Package respond holds the rules every ResponseWriter keeps, whichever
// side of the plugin boundary it lives on (the host's, the plugin runtime's,
// the test harness's): metadata first, then the body; and io.Copy of a file
// handed to whoever can send it without reading it.
package respond

import (
	"errors"
	"io"
	"os"

	"github.com/selectftp/selectftp/internal/fdpass"
)

// ErrMetaLate is what SetMeta returns once the body has started: metadata
// travels before the body, so it is final then.
var ErrMetaLate = errors.New("sdk: SetMeta after the body started")

// Meta is a response's metadata and whether its body started. The zero
// value is ready. It is not safe for concurrent use: its writer's lock
// guards it.
type Meta struct {
	m       map[string]any
	started bool
}

// Set records key, or fails with ErrMetaLate once the body started.
func (s *Meta) Set(key string, value any) error {
	if s.started {
		return ErrMetaLate
	}
	if s.m == nil {
		s.m = map[string]any{}
	}
	s.m[key] = value
	return nil
}

// Get returns the value set for key.
func (s *Meta) Get(key string) (any, bool) {
	v, ok := s.m[key]
	return v, ok
}

// Start marks the body started and reports whether this call did it.
func (s *Meta) Start() (first bool) {
	first = !s.started
	s.started = true
	return first
}

// Started reports whether the body started.
func (s *Meta) Started() bool { return s.started }

// Map returns the metadata set so far (nil if none); the caller must not
// change it.
func (s *Meta) Map() map[string]any { return s.m }

// ReadFrom is a response writer's ReadFrom. When r is an *os.File (or an
// io.SectionReader or io.LimitedReader of one) and sendFile is not nil, it
// hands the range to sendFile, which moves it without reading it here
// (sendfile in the host, descriptor passing in a plugin), and advances the
// file as a copy would. Otherwise it copies into w with buf (nil: io.Copy's
// own), never calling back into w's ReadFrom.
func ReadFrom(w io.Writer, r io.Reader, sendFile func(f *os.File, off, n int64) error, buf []byte) (int64, error) {
	if sendFile != nil {
		if f, off, n, done, ok := fdpass.SourceFile(r); ok {
			var err error
			if n > 0 {
				err = sendFile(f, off, n)
			}
			done(err == nil)
			if err != nil {
				return 0, err
			}
			return n, nil
		}
	}
	// Hide r's WriteTo too: an *os.File's would copy in 32 KiB pieces,
	// each a message of its own, instead of filling buf.
	return io.CopyBuffer(WriterOnly{w}, struct{ io.Reader }{r}, buf)
}

// WriterOnly hides a writer's ReadFrom so io.Copy takes its plain loop
// instead of calling back into it.
type WriterOnly struct{ io.Writer }
