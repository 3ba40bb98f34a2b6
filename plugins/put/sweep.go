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
	// staleAge is how old an unlocked staging file must be for a
	// periodic sweep to take it for a leftover, and one whose lock state
	// cannot be told for the start-up sweep (see removeLeftover).
	staleAge = time.Minute
	// sweepEvery is how soon a put sweeps a root again, in the
	// background: a leftover whose descriptor the host still held, or
	// that was too fresh, at the last sweep goes then.
	sweepEvery = 10 * time.Minute
	// sweepLogged caps the removed names logged one by one.
	sweepLogged = 20
)

// sweeper sweeps a root on the first upload to it in this process (a
// plugin gets its roots with requests, not at start), and again, in the
// background, on an upload sweepEvery later.
type sweeper struct {
	mu    sync.Mutex
	roots map[fileID]*rootSweep
	// walk is sweep; a test swaps it to hold a sweep mid-walk.
	walk func(*os.Root, sweepOpts) sweepResult
	bg   sync.WaitGroup // background sweeps under way
}

type fileID struct{ dev, ino uint64 }

// rootSweep is one root's sweep state. mu is held for the whole of a
// sweep, by the goroutine that runs it, so sweeps of a root never
// overlap.
type rootSweep struct {
	mu   sync.Mutex
	last time.Time // zero: never swept
	done atomic.Bool
	// freed is what its sweeps removed of the user's usage (expired
	// partials) that no put has reported to the host yet.
	freed freed
}

// maybe sweeps root if it is due. The first sweep of a root runs in the
// request and uploads to that root wait for it, so none is served a
// leftover and none of ours is live while it looks; it is bounded by
// sweepBudget. Later sweeps run in the background and make nobody wait.
// It returns the root's count of what sweeps freed and no request has
// reported yet (nil if root cannot be told): the caller drains it into
// its usage report, so that an expired partial gives its bytes back.
func (s *sweeper) maybe(root *os.Root, log hclog.Logger, resumeTTL time.Duration) *freed {
	if log == nil {
		log = hclog.NewNullLogger()
	}
	fi, err := root.Stat(".")
	if err != nil {
		return nil
	}
	st, ok := fi.Sys().(*syscall.Stat_t)
	if !ok {
		return nil
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
	walk := s.walk
	s.mu.Unlock()
	if walk == nil {
		walk = sweep
	}
	if !rs.mu.TryLock() {
		if rs.done.Load() {
			return &rs.freed // a background sweep is under way
		}
		rs.mu.Lock() // the first sweep: wait for it
	}
	if !rs.last.IsZero() && time.Since(rs.last) < sweepEvery {
		rs.mu.Unlock()
		return &rs.freed
	}
	if rs.last.IsZero() {
		defer rs.mu.Unlock()
		run(walk, root, rs, sweepOpts{startup: true, resumeTTL: resumeTTL}, log)
		return &rs.freed
	}
	// A root of its own: the request's is closed when the request ends.
	r, err := root.OpenRoot(".")
	if err != nil {
		rs.mu.Unlock()
		log.Warn("could not start a sweep of staging leftovers", "error", err)
		return &rs.freed
	}
	s.bg.Add(1)
	go func() {
		defer s.bg.Done()
		defer rs.mu.Unlock()
		defer r.Close()
		run(walk, r, rs, sweepOpts{resumeTTL: resumeTTL}, log)
	}()
	return &rs.freed
}

// run sweeps root once and logs what it did; rs.mu is held.
func run(walk func(*os.Root, sweepOpts) sweepResult, root *os.Root, rs *rootSweep, o sweepOpts, log hclog.Logger) {
	start := time.Now()
	o.now, o.budget = start, sweepBudget
	r := walk(root, o)
	rs.freed.add(r.freed)
	rs.last = time.Now()
	rs.done.Store(true)
	args := []any{"removed", r.removed, "examined", r.examined, "unknown", r.unknown, "took", time.Since(start).Round(time.Millisecond)}
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
	for _, u := range r.kept {
		log.Debug("kept a staging file whose lock cannot be probed: it may be a live upload's", "path", u.path, "error", u.err)
	}
	for _, e := range r.errs {
		log.Warn("could not remove a staging file", "error", e)
	}
}

// claimFile is staging.Claim; tests swap it to act out a file system
// whose locks cannot be probed.
var claimFile = staging.Claim

// sweepOpts say how one sweep goes.
type sweepOpts struct {
	now     time.Time
	budget  int  // entries looked at, at most
	startup bool // the first sweep of the root in this process (see leftover)
	// resumeTTL is how long a resumable upload's partial may wait,
	// unheld, for its resume; 0: forever.
	resumeTTL time.Duration
}

// sweepResult is what one sweep did.
type sweepResult struct {
	examined, removed int
	unknown           int // staging files kept because their lock state is unknown
	// freed is what the expired partials removed held: the user's usage
	// counts them (usage.go). Other staging leftovers were never counted
	// (a dead upload reports nothing), unless the host's first walk of
	// the tree saw them, and are not given back.
	freed     usage
	budgetHit bool
	names     []string // the first sweepLogged removed
	kept      []unknownFile
	errs      []error // the first sweepLogged failures
}

type unknownFile struct {
	path string
	err  error
}

// sweep walks root breadth-first, looking at no more than o.budget
// entries, and removes the staging files of dead uploads (see leftover).
func sweep(root *os.Root, o sweepOpts) sweepResult {
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
				if r.examined++; r.examined > o.budget {
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
				case staging.IsResume(e.Name()) && e.Type().IsRegular():
					if o.resumeTTL > 0 {
						r.removeLeftover(root, p, o, o.resumeTTL, true)
					}
				case staging.Is(e.Name()) && e.Type().IsRegular():
					r.removeLeftover(root, p, o, staleAge, false)
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

// removeLeftover removes the staging file at p if it is a dead upload's.
// That is so when no open file holds its lock (see staging.Hold) and it is
// older than staleAge: a fresh one may be an upload's between its create
// and its Hold. In the start-up sweep, no upload of ours to this root has
// begun, and Claim holds the lock while the file goes, so an upload that
// creates it meanwhile sees its Hold fail and makes another: an unlocked
// file goes at any age. Where the lock state cannot be told (no locks on
// this file system), the file is kept, except in the start-up sweep,
// where one older than staleAge goes.
//
// A resumable upload's partial (resumable) waits for its resume: it goes
// only once older than the resume_ttl setting (age), start-up sweep or
// not, never while a live upload holds it.
func (r *sweepResult) removeLeftover(root *os.Root, p string, o sweepOpts, age time.Duration, resumable bool) {
	claim, err := claimFile(root, p)
	if errors.Is(err, staging.ErrHeld) {
		return // a live upload
	}
	if claim != nil {
		defer claim.Close() // after the remove: nobody may Hold it meanwhile
	}
	fi, lerr := root.Lstat(p)
	if lerr != nil || !fi.Mode().IsRegular() {
		return // gone, or not ours any more
	}
	old := o.now.Sub(fi.ModTime()) > age
	switch {
	case resumable && !old:
		return // waiting for its resume
	case err != nil && !(o.startup && old):
		r.unknown++
		if len(r.kept) < sweepLogged {
			r.kept = append(r.kept, unknownFile{p, err})
		}
		return
	case err == nil && !o.startup && !old:
		return // may be an upload between its create and its Hold
	case err == nil:
		if cfi, serr := claim.Stat(); serr != nil || !os.SameFile(cfi, fi) {
			return // replaced since the claim
		}
	}
	if err := root.Remove(p); err != nil && !errors.Is(err, fs.ErrNotExist) {
		if len(r.errs) < sweepLogged {
			r.errs = append(r.errs, err)
		}
		return
	}
	r.removed++
	if resumable {
		r.freed = r.freed.plus(usage{bytes: fi.Size(), files: 1})
	}
	if len(r.names) < sweepLogged {
		r.names = append(r.names, p)
	}
}
