package fdpass

import (
	"io"
	"os"
	"syscall"
)

// SourceFile recognises a reader whose bytes are a range of a regular file:
// an *os.File (from its current offset to its end), the wrapper os.File's
// WriteTo hands to io.Copy, or an *io.LimitedReader over either (as
// io.CopyN makes). It reports the file and the range. The caller must call
// done once, with whether the range was sent: that advances the reader past
// it, as if read, and releases the file when SourceFile had to duplicate it.
func SourceFile(r io.Reader) (f *os.File, off, n int64, done func(sent bool), ok bool) {
	limit := int64(-1)
	lr, isLimited := r.(*io.LimitedReader)
	if isLimited {
		r, limit = lr.R, lr.N
	}
	src, isFile := r.(File)
	if !isFile {
		return nil, 0, 0, nil, false
	}
	st, err := src.Stat()
	if err != nil || !st.Mode().IsRegular() {
		return nil, 0, 0, nil, false
	}
	if off, err = src.Seek(0, io.SeekCurrent); err != nil {
		return nil, 0, 0, nil, false
	}
	f, _ = r.(*os.File)
	own := false
	if f == nil {
		if f, err = Dup(src, "dup"); err != nil {
			return nil, 0, 0, nil, false
		}
		own = true
	}
	n = max(st.Size()-off, 0)
	if limit >= 0 {
		n = min(n, limit)
	}
	done = func(sent bool) {
		if sent {
			src.Seek(off+n, io.SeekStart)
			if isLimited {
				lr.N -= n
			}
		}
		if own {
			f.Close()
		}
	}
	return f, off, n, done, true
}

// File is what an upload can be written into: an *os.File, or a wrapper
// that promotes its methods (os.File.ReadFrom hands io.Copy such a wrapper).
type File interface {
	syscall.Conn
	io.Seeker
	Stat() (os.FileInfo, error)
}

// TargetFile recognises a writer that is a regular file.
func TargetFile(w io.Writer) (File, bool) {
	f, ok := w.(File)
	if !ok {
		return nil, false
	}
	st, err := f.Stat()
	if err != nil || !st.Mode().IsRegular() {
		return nil, false
	}
	return f, true
}
