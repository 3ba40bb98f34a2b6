package fdpass

import (
	"io"
	"os"
	"syscall"
)

// SourceFile recognises a reader whose bytes are a range of a regular file:
// an *os.File (from its current offset to its end) or an *io.LimitedReader
// over one (as io.CopyN makes). It reports the file and the range, and
// consume advances the reader past the range as if it had been read.
func SourceFile(r io.Reader) (f *os.File, off, n int64, consume func(), ok bool) {
	limit := int64(-1)
	lr, isLimited := r.(*io.LimitedReader)
	if isLimited {
		r, limit = lr.R, lr.N
	}
	f, isFile := r.(*os.File)
	if !isFile {
		return nil, 0, 0, nil, false
	}
	st, err := f.Stat()
	if err != nil || !st.Mode().IsRegular() {
		return nil, 0, 0, nil, false
	}
	off, err = f.Seek(0, io.SeekCurrent)
	if err != nil {
		return nil, 0, 0, nil, false
	}
	n = max(st.Size()-off, 0)
	if limit >= 0 {
		n = min(n, limit)
	}
	consume = func() {
		f.Seek(off+n, io.SeekStart)
		if isLimited {
			lr.N -= n
		}
	}
	return f, off, n, consume, true
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
