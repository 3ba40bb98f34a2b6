package main

import (
	"context"
	"fmt"
	"path"
	"sync"
	"time"

	"github.com/selectftp/selectftp/client"
	"github.com/selectftp/selectftp/internal/ratelimit"
)

// maxParallel bounds -P: each transfer holds a connection and a server
// session, and past a few dozen they only share the same link.
const maxParallel = 64

// parseTransferFlags checks -P and --limit-rate; it returns the rate in
// bytes/s (0: none).
func parseTransferFlags(parallel int, rate string) (int64, error) {
	if parallel < 1 || parallel > maxParallel {
		return 0, fmt.Errorf("-P %d: give 1 to %d transfers at once", parallel, maxParallel)
	}
	if rate == "" {
		return 0, nil
	}
	r, err := ratelimit.Parse(rate)
	if err != nil {
		return 0, fmt.Errorf("--limit-rate: %v", err)
	}
	return r, nil
}

// job is one file of a -r copy, an mget or an mput.
type job struct {
	verb          string // "get" or "put"
	remote, local string
	// entry is the listing's description of a file to get, for -p.
	entry *client.Entry
	// resume is -c: continue an interrupted transfer.
	resume bool
}

// outMu keeps the lines of transfers running at once apart.
var outMu sync.Mutex

// transfer runs one file's get or put on c, and prints its summary.
func (s *session) transfer(ctx context.Context, c *client.Conn, j job, keep bool) error {
	start := time.Now()
	label := j.verb + " " + j.remote
	update, finish := s.progress(label)
	opts := client.FileOptions{Progress: update, Rate: s.rate, Preserve: keep, Entry: j.entry}
	resumed := s.resumeOptions(&opts, j)
	var err error
	if j.verb == "get" {
		err = c.GetFileWith(ctx, j.remote, j.local, opts)
	} else {
		err = c.PutFileWith(ctx, j.local, j.remote, opts)
	}
	n := finish()
	if err == nil {
		outMu.Lock()
		if j.verb == "get" {
			s.summaryResumed("get", j.remote, j.local, n, start, *resumed)
		} else {
			s.summaryResumed("put", j.local, j.remote, n, start, *resumed)
		}
		outMu.Unlock()
	}
	s.partialKept(j, err)
	return err
}

// batchError ends a command of several transfers of which some failed;
// each was reported as it failed. Its exit status is the first failure's.
type batchError struct {
	what          string
	failed, total int
	first         error
}

func (e *batchError) Error() string {
	return fmt.Sprintf("%s: %d of %d failed", e.what, e.failed, e.total)
}

func (e *batchError) Unwrap() error { return e.first }

// batch counts a command's failures, reporting each as it happens, as cp
// -r does: one failing file does not stop the others.
type batch struct {
	s      *session
	what   string
	mu     sync.Mutex
	total  int
	failed int
	first  error
	held   bool // first is not reported yet
}

// fail counts and reports a failure. The first is held back while it is
// the only transfer so far: should nothing else follow, the command's
// error is that failure itself, and it must not be told twice.
func (b *batch) fail(err error) {
	b.mu.Lock()
	b.failed++
	b.total++
	if b.first == nil {
		b.first = err
		b.held = true
		b.mu.Unlock()
		return
	}
	b.mu.Unlock()
	b.flush()
	b.report(err)
}

func (b *batch) ok() {
	b.mu.Lock()
	b.total++
	b.mu.Unlock()
	b.flush()
}

// flush reports the held-back first failure, now that more came.
func (b *batch) flush() {
	b.mu.Lock()
	held := b.held
	b.held = false
	b.mu.Unlock()
	if held {
		b.report(b.first)
	}
}

func (b *batch) report(err error) {
	outMu.Lock()
	b.s.report("", err)
	outMu.Unlock()
}

func (b *batch) err() error {
	b.mu.Lock()
	defer b.mu.Unlock()
	if b.failed == 0 {
		return nil
	}
	if b.held && b.total == 1 {
		return b.first // the caller reports it
	}
	return &batchError{what: b.what, failed: b.failed, total: b.total, first: b.first}
}

// runJobs runs the jobs on c one after another, or with -P N on up to N
// connections of their own, each running one transfer at a time. Every
// connection it dials is closed before it returns. A failure is reported
// and counted in b; the others go on, unless ctx ends.
func (s *session) runJobs(ctx context.Context, c *client.Conn, jobs []job, keep bool, b *batch) {
	n := min(s.parallel, len(jobs))
	if n <= 1 {
		for _, j := range jobs {
			if ctx.Err() != nil {
				return
			}
			if err := s.transfer(ctx, c, j, keep); err != nil {
				b.fail(err)
			} else {
				b.ok()
			}
		}
		return
	}
	pool := client.NewPool(s.addr, n, s.dialOptions()...)
	defer pool.Close()
	work := make(chan job)
	var wg sync.WaitGroup
	for range n {
		wg.Go(func() {
			for j := range work {
				pc, err := pool.Get(ctx)
				if err == nil {
					err = s.transfer(ctx, pc, j, keep)
					pool.Put(pc)
				}
				if err != nil {
					b.fail(err)
				} else {
					b.ok()
				}
			}
		})
	}
	for _, j := range jobs {
		select {
		case work <- j:
		case <-ctx.Done():
		}
		if ctx.Err() != nil {
			break
		}
	}
	close(work)
	wg.Wait()
}

// dialOptions are those of the session's own connection, for -P's.
func (s *session) dialOptions() []client.Option {
	opts := []client.Option{client.WithReadSize(1 << 20)}
	if s.checksum != "" {
		opts = append(opts, client.WithChecksum(s.checksum))
	}
	if s.login != nil {
		opts = append(opts, s.login)
	}
	return opts
}

// abs makes a remote path absolute against the session's folder: the
// connections of -P start at the top, not where cd went.
func (s *session) abs(p string) string {
	if path.IsAbs(p) {
		return path.Clean(p)
	}
	dir := s.dir
	if dir == "" {
		dir = "/"
	}
	return path.Join(dir, p)
}
