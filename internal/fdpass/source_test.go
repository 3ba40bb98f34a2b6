package fdpass

import (
	"io"
	"os"
	"path/filepath"
	"testing"
)

// rangeWriter records what SourceFile saw, the way a ResponseWriter's
// ReadFrom uses it.
type rangeWriter struct {
	off, n int64
	ok     bool
}

func (w *rangeWriter) Write(p []byte) (int, error) { return len(p), nil }

func (w *rangeWriter) ReadFrom(r io.Reader) (int64, error) {
	f, off, n, done, ok := SourceFile(r)
	w.off, w.n, w.ok = off, n, ok
	if !ok {
		return io.Copy(struct{ io.Writer }{w}, r)
	}
	if f == nil {
		panic("no file")
	}
	done(true)
	return n, nil
}

// io.Copy reaches ReadFrom with the *os.File, with os.File's WriteTo
// wrapper around it, or with a LimitedReader (io.CopyN): all are file ranges.
func TestSourceFile(t *testing.T) {
	p := filepath.Join(t.TempDir(), "f")
	os.WriteFile(p, []byte("0123456789"), 0o644)
	f, _ := os.Open(p)
	defer f.Close()
	f.Seek(2, io.SeekStart)

	w := &rangeWriter{}
	if n, err := io.Copy(w, f); err != nil || n != 8 || !w.ok || w.off != 2 {
		t.Fatalf("io.Copy: n=%d err=%v seen=%+v", n, err, w)
	}
	if pos, _ := f.Seek(0, io.SeekCurrent); pos != 10 {
		t.Fatalf("offset after the copy %d, want 10", pos)
	}
	f.Seek(1, io.SeekStart)
	if n, err := io.CopyN(w, f, 4); err != nil || n != 4 || !w.ok || w.off != 1 || w.n != 4 {
		t.Fatalf("io.CopyN: n=%d err=%v seen=%+v", n, err, w)
	}
	if n, _ := io.Copy(w, struct{ io.Reader }{f}); w.ok || n != 5 {
		t.Fatalf("a plain reader was taken for a file: %+v", w)
	}
}
