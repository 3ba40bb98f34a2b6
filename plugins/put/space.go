package put

import (
	"fmt"
	"os"
	"sync"
	"sync/atomic"

	"github.com/selectftp/selectftp/sdk"
)

// defaultReserve caps the default reserve (1% of the file system).
const defaultReserve = 64 << 20

// staged counts the uploads in progress in this process (one put plugin
// serves the whole server): the sizes they declared, and how much of each
// their staged file already holds on disk. It is the one place a metrics
// exporter will read.
//
// The free space that statfs reports already lacks what uploads have
// written (an unnamed file's blocks, delayed allocations included, count
// as used), so the space check counts for each upload only what is still
// to come: its declared size less its file's blocks. Counting the whole
// declared size took the written part twice, and one big upload near its
// end refused every other put although the disk had room. max_staged, on
// the other hand, caps the declared total: what unfinished uploads may
// hold on disk, invisible to ls and du, at most.
type staged struct {
	mu    sync.Mutex
	count int
	bytes int64 // declared by the uploads in progress
	ups   map[*entry]struct{}
}

// entry is one upload in progress, from admit to end.
type entry struct {
	s    *staged
	size int64
	f    atomic.Pointer[os.File] // the staged file, once created
	// written is the most of size seen on disk in f. The host may write
	// the body into f through a passed descriptor, so only f's blocks
	// tell how far it got.
	written atomic.Int64
	// prefix is the bytes of f a resumed upload kept: on disk before it
	// began, so not among those it declared.
	prefix atomic.Int64
}

// hold tells the entry the file its upload is staged in.
func (e *entry) hold(f *os.File) { e.f.Store(f) }

// end ends the upload's count.
func (e *entry) end() {
	e.s.mu.Lock()
	defer e.s.mu.Unlock()
	delete(e.s.ups, e)
	e.s.count--
	e.s.bytes -= e.size
}

// Stats returns the uploads in progress, the bytes they declared and, of
// those, the bytes still to come as last measured (see refresh).
func (s *staged) Stats() (uploads int, declared, toCome int64) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.count, s.bytes, s.toCome()
}

// toCome is what uploads in progress will still write; s.mu is held.
func (s *staged) toCome() int64 {
	var n int64
	for e := range s.ups {
		n += e.size - e.written.Load()
	}
	return n
}

// refresh measures the blocks each staged file holds, outside the lock
// (an fstat on a network file system may take a while). Call it before
// reading the free space: a write between the two is then counted twice,
// which is safe, never missed.
func (s *staged) refresh() {
	s.mu.Lock()
	ups := make([]*entry, 0, len(s.ups))
	for e := range s.ups {
		ups = append(ups, e)
	}
	s.mu.Unlock()
	for _, e := range ups {
		f := e.f.Load()
		if f == nil {
			continue
		}
		n, ok := onDisk(f)
		if !ok {
			continue // closed (committed or aborted): it ends soon
		}
		n = min(max(n-e.prefix.Load(), 0), e.size)
		for {
			old := e.written.Load()
			if n <= old || e.written.CompareAndSwap(old, n) {
				break
			}
		}
	}
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

// admit counts an upload of size bytes, or refuses it when the declared
// sizes of the uploads in progress would cross max_staged, or when it
// would eat into the file system's reserve, counting as taken what
// uploads in progress will still write (as refresh last measured). The
// returned entry ends the upload's count.
func (s *staged) admit(size int64, l limits) (*entry, error) {
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
		toCome := s.toCome()
		if room := l.space.avail - reserve - toCome; size > room {
			return nil, sdk.Errorf(sdk.CodeNoSpace, "not enough space for %d bytes: %d free, of which %d are kept in reserve and %d promised to %d uploads in progress",
				size, l.space.avail, reserve, toCome, s.count)
		}
	}
	if s.ups == nil {
		s.ups = map[*entry]struct{}{}
	}
	e := &entry{s: s, size: size}
	s.ups[e] = struct{}{}
	s.count++
	s.bytes += size
	return e, nil
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
