package put

import (
	"errors"
	"io"
	"io/fs"
	"os"
	"sync"
	"sync/atomic"
	"syscall"
	"time"

	"github.com/hashicorp/go-hclog"

	"github.com/selectftp/selectftp/plugins/internal/staging"
)

// Sweeping removes what uploads that died (a killed server or plugin) left
// under staging names: on Linux only a crash between the link and the
// rename of a replacement, elsewhere a crash at any point of an upload.
const (
	// sweepBudget bounds the entries one sweep looks at, so a huge tree
	// cannot stall the first put for long.
	sweepBudget = 100_000
	// staleAge is how old a staging file must be to be taken for a
	// leftover where locks cannot tell (see staging.Orphaned).
	staleAge = time.Minute
	// sweepEvery is how soon a put sweeps a root again: a leftover whose
	// descriptor the host still held at the last sweep goes then.
	sweepEvery = 10 * time.Minute
	// sweepLogged caps the removed names logged one by one.
	sweepLogged = 20
)

// sweeper sweeps a root on the first upload to it in this process (a
// plugin gets its roots with requests, not at start), and again on an
// upload sweepEvery later.
type sweeper struct {
	mu    sync.Mutex
	roots map[fileID]*rootSweep
}

type fileID struct{ dev, ino uint64 }

type rootSweep struct {
	mu   sync.Mutex
	last time.Time // zero: never swept
	done atomic.Bool
}

// maybe sweeps root if it is due. Uploads that find the first sweep of
// their root under way wait for it; later sweeps make nobody wait.
func (s *sweeper) maybe(root *os.Root, log hclog.Logger) {
	fi, err := root.Stat(".")
	if err != nil {
		return
	}
	st, ok := fi.Sys().(*syscall.Stat_t)
	if !ok {
		return
	}
	id := fileID{uint64(st.Dev), st.Ino}
	s.mu.Lock()
	if s.roots == nil {
		s.roots = map[fileID]*rootSweep{}
	}
	rs := s.roots[id]
	if rs == nil {
		rs = new(rootSweep)
		s.roots[id] = rs
	}
	s.mu.Unlock()
	if !rs.mu.TryLock() {
		if rs.done.Load() {
			return
		}
		rs.mu.Lock()
	}
	defer rs.mu.Unlock()
	if !rs.last.IsZero() && time.Since(rs.last) < sweepEvery {
		return
	}
	start := time.Now()
	r := sweep(root, start, sweepBudget)
	rs.last = time.Now()
	rs.done.Store(true)
	if log == nil {
		log = hclog.NewNullLogger()
	}
	args := []any{"removed", r.removed, "examined", r.examined, "took", time.Since(start).Round(time.Millisecond)}
	switch {
	case r.budgetHit:
		log.Warn("swept staging leftovers of dead uploads; stopped at the budget, some folders not looked at", args...)
	case r.removed > 0:
		log.Info("swept staging leftovers of dead uploads", args...)
	default:
		log.Debug("no staging leftovers", args...)
	}
	for _, p := range r.names {
		log.Info("removed a dead upload's staging file", "path", p)
	}
	for _, e := range r.errs {
		log.Warn("could not remove a staging file", "error", e)
	}
}

// sweepResult is what one sweep did.
type sweepResult struct {
	examined, removed int
	budgetHit         bool
	names             []string // the first sweepLogged removed
	errs              []error  // the first sweepLogged failures
}

// sweep walks root breadth-first, looking at no more than budget entries,
// and removes the staging files of dead uploads (see leftover).
func sweep(root *os.Root, now time.Time, budget int) sweepResult {
	var r sweepResult
	queue := []string{"."}
	for len(queue) > 0 {
		dir := queue[0]
		queue = queue[1:]
		d, err := openDir(root, dir)
		if err != nil {
			continue // gone, or not a folder any more
		}
		for {
			entries, err := d.ReadDir(256)
			for _, e := range entries {
				if r.examined++; r.examined > budget {
					r.budgetHit = true
					d.Close()
					return r
				}
				p := e.Name()
				if dir != "." {
					p = dir + "/" + p
				}
				switch {
				case e.Type().IsDir():
					queue = append(queue, p) // never a symlink: not followed
				case staging.Is(e.Name()) && e.Type().IsRegular() && leftover(root, p, now):
					if err := root.Remove(p); err != nil && !errors.Is(err, fs.ErrNotExist) {
						if len(r.errs) < sweepLogged {
							r.errs = append(r.errs, err)
						}
						continue
					}
					r.removed++
					if len(r.names) < sweepLogged {
						r.names = append(r.names, p)
					}
				}
			}
			if err != nil { // io.EOF at the end
				if !errors.Is(err, io.EOF) && len(r.errs) < sweepLogged {
					r.errs = append(r.errs, err)
				}
				break
			}
		}
		d.Close()
	}
	return r
}

// leftover reports whether the staging file at p belongs to a dead upload:
// no process holds its lock (see staging.Hold). Where locks cannot tell,
// it must be older than staleAge.
func leftover(root *os.Root, p string, now time.Time) bool {
	if orphaned, err := staging.Orphaned(root, p); err == nil {
		return orphaned
	}
	fi, err := root.Lstat(p)
	return err == nil && fi.Mode().IsRegular() && now.Sub(fi.ModTime()) > staleAge
}
