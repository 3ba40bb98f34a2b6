package netpoll

import (
	"errors"
	"io"
	"math"
	"os"
	"sync/atomic"
	"syscall"
)

const (
	// sendWindow is the largest file segment SendFile queues at a time.
	// Each window gets its own read-ahead hint just before SendFile waits
	// to queue it, so the disk reads one window ahead of the socket, and
	// page cache is asked for a window per connection, not a whole file.
	sendWindow = 8 << 20
	// sendChunk bounds one sendfile call, so one connection on a fast peer
	// cannot keep its event loop for a whole window.
	sendChunk = 4 << 20
	// preadChunk is the buffer of the pread+write fallback, and the most
	// the fallback reads per step.
	preadChunk = 64 << 10
)

var (
	// errFileShrank closes a connection whose file segment hit the end of
	// its file early (the file was truncated after SendFile): the bytes the
	// peer was promised no longer exist, and sending anything else in
	// their place would corrupt the stream.
	errFileShrank = errors.New("netpoll: file ended before the range queued by SendFile was sent")
	// errBadRange rejects a SendFile range no file can hold.
	errBadRange = errors.New("netpoll: SendFile: invalid file range")
	// errNotSeekable rejects files that cannot be read at an offset
	// (pipes, sockets, directories): neither sendfile nor pread works.
	errNotSeekable = errors.New("netpoll: SendFile needs a file readable at an offset")
)

// fileRef is a duplicate of a SendFile caller's descriptor, shared by the
// segments of that call, so the caller may close its own file at once and
// a large range costs one descriptor, not one per window. The last
// reference to let go closes it.
type fileRef struct {
	f  *os.File        // owns the duplicate
	fd int             // f's descriptor, for the reactor loop (see fileSeg)
	rc syscall.RawConn // f's, to pin the descriptor while off the loop
	// refs counts the queued segments plus the SendFile call still
	// queuing windows.
	refs atomic.Int32
}

// openFileRefs counts the duplicates not yet released. Tests read it: a
// leaked *os.File is closed by the GC eventually, which would hide a leak
// from a count of open descriptors.
var openFileRefs atomic.Int64

func newFileRef(f *os.File, fd int, rc syscall.RawConn) *fileRef {
	r := &fileRef{f: f, fd: fd, rc: rc}
	r.refs.Store(1)
	openFileRefs.Add(1)
	return r
}

func (r *fileRef) acquire() { r.refs.Add(1) }

func (r *fileRef) release() {
	if r.refs.Add(-1) == 0 {
		r.f.Close()
		openFileRefs.Add(-1)
	}
}

// fileSeg is a queued file range: off and n move on as the socket accepts
// bytes. Only the sending side (the loop, or the writer goroutine) reads
// them after queuing, and it alone advances them, so they need no lock of
// their own. The reactor may use ref.fd directly because it also alone
// releases segments; the goroutine backend's writer can race a Close, so
// it goes through ref.rc, which keeps the number from being closed (and
// reused) under it.
type fileSeg struct {
	ref   *fileRef
	off   int64
	n     int64
	pread bool // sendfile failed for this segment: use pread and write
}

func (s *fileSeg) release() { s.ref.release() }

// sendFile is SendFile for both backends. write is the connection's Write
// (for the empty range, and platforms without descriptor duplication);
// push queues one segment, waiting for room as Write does unless onLoop,
// and on error leaves the segment to its caller; fail closes the
// connection with an error.
//
// onLoop (a reactor callback, where nothing may wait) queues every window
// at once, and advises only the first: asking for a whole large file at
// once would crowd the page cache, and the system calls would run on the
// loop. The kernel's own sequential read-ahead covers the rest, less
// surely; hence the advice to call SendFile from another goroutine.
func sendFile(f *os.File, off, n int64, onLoop bool, write func([]byte) error, push func(*fileSeg) error, fail func(error)) error {
	if f == nil || off < 0 || n < 0 || off > math.MaxInt64-n {
		return errBadRange
	}
	if n == 0 {
		// Same answers as an empty Write: ErrClosed or nil.
		return write(nil)
	}
	ref, err := dupFile(f)
	if errors.Is(err, errors.ErrUnsupported) {
		return copyFile(f, off, n, write, fail)
	}
	if err != nil {
		return err
	}
	defer ref.release()
	for first := true; n > 0; first = false {
		w := min(n, sendWindow)
		if first || !onLoop {
			// Advised before waiting for room, not after: the wait
			// is while the previous window drains, which is the
			// time the disk needs.
			adviseWillNeed(ref.fd, off, w)
		}
		ref.acquire()
		if err := push(&fileSeg{ref: ref, off: off, n: w}); err != nil {
			ref.release()
			return err
		}
		off += w
		n -= w
	}
	return nil
}

// copyFile is SendFile where descriptors cannot be duplicated: the range is
// read now, in Write-sized pieces, so the caller may still close f on
// return. It costs the copies sendfile saves, but keeps the contract,
// closing the connection if the file is short, as a queued segment would.
func copyFile(f *os.File, off, n int64, write func([]byte) error, fail func(error)) error {
	buf := make([]byte, min(n, preadChunk))
	for n > 0 {
		k, err := f.ReadAt(buf[:min(n, int64(len(buf)))], off)
		if k > 0 {
			if werr := write(buf[:k]); werr != nil {
				return werr
			}
			off += int64(k)
			n -= int64(k)
			continue
		}
		if err == nil || err == io.EOF {
			err = errFileShrank
		}
		fail(err)
		return err
	}
	return nil
}
