package put

import (
	"fmt"
	"os"
	"sync"

	"github.com/selectftp/selectftp/sdk"
)

// defaultReserve caps the default reserve (1% of the file system).
const defaultReserve = 64 << 20

// staged counts the uploads in progress in this process (one put plugin
// serves the whole server) and the bytes they have declared. Every upload
// is counted at its declared size from its start: put requires the size,
// and never writes more than one byte past it. It is the one place a
// metrics exporter will read.
type staged struct {
	mu    sync.Mutex
	count int
	bytes int64
}

// Stats returns the uploads in progress and the bytes they declared.
func (s *staged) Stats() (uploads int, bytes int64) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.count, s.bytes
}

// limits are what admit checks an upload against.
type limits struct {
	maxStaged int64 // 0: no limit of its own
	reserve   int64 // <0: 1% of the file system, at most defaultReserve
	space     space // the file system the upload goes to; ok false: unknown
}

// space is a file system's room, in bytes.
type space struct {
	avail, total int64 // avail: what the server's user may still write
	ok           bool
}

// admit counts an upload of size bytes, or refuses it when it would cross
// max_staged or eat into the file system's reserve, counting what uploads
// in progress have declared as already taken (they may not have written
// it yet; the free space does not show it). The returned func ends the
// upload's count.
func (s *staged) admit(size int64, l limits) (func(), error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if l.maxStaged > 0 {
		if size > l.maxStaged {
			return nil, sdk.Errorf(sdk.CodeTooLarge, "%d bytes is over the server's limit of %d bytes for uploads in progress", size, l.maxStaged)
		}
		if s.bytes+size > l.maxStaged {
			return nil, sdk.Errorf(sdk.CodeNoSpace, "%d uploads in progress hold %d of the %d bytes the server stages at once; %d bytes do not fit now, try again later",
				s.count, s.bytes, l.maxStaged, size)
		}
	}
	if l.space.ok {
		reserve := l.reserve
		if reserve < 0 {
			reserve = min(l.space.total/100, defaultReserve)
		}
		if room := l.space.avail - reserve - s.bytes; size > room {
			return nil, sdk.Errorf(sdk.CodeNoSpace, "not enough space for %d bytes: %d free, of which %d are kept in reserve and %d promised to %d uploads in progress",
				size, l.space.avail, reserve, s.bytes, s.count)
		}
	}
	s.count++
	s.bytes += size
	return func() {
		s.mu.Lock()
		s.count--
		s.bytes -= size
		s.mu.Unlock()
	}, nil
}

// spaceOf returns the room on the file system of dir under root.
func spaceOf(root *os.Root, dir string) (space, error) {
	d, err := openDir(root, dir)
	if err != nil {
		return space{}, err
	}
	defer d.Close()
	sp, err := statfs(d)
	if err != nil {
		return space{}, fmt.Errorf("statfs %s: %w", dir, err)
	}
	return sp, nil
}
