package main

import (
	"fmt"
	"io"
	"sync"
	"sync/atomic"
	"time"

	"github.com/vbauerster/mpb/v8"
	"github.com/vbauerster/mpb/v8/decor"
)

// barSet draws one progress line per running transfer, and a total line
// while more than one runs, with mpb, which redraws the lines in place
// and prints other output above them. It exists only when stderr is a
// terminal; the container lives while transfers run, so the prompt and
// the summary after a lone transfer meet a quiet terminal.
type barSet struct {
	out   io.Writer // the terminal
	width func() int

	// mu orders starting, ending and writing; the drawing goroutine
	// never takes it, so holding it while mpb finishes cannot deadlock.
	mu      sync.Mutex
	p       *mpb.Progress // nil while nothing runs
	running []*barState
	total   *mpb.Bar // the total line, while more than one runs
	// shown is running, for the drawing goroutine.
	shown atomic.Pointer[[]*barState]
}

// barState is one transfer's counts, written by the transfer and read by
// the drawing goroutine.
type barState struct {
	label       string
	start       time.Time
	done, total atomic.Int64 // total -1: unknown (a stream)
	bar         *mpb.Bar
}

func newBarSet(out io.Writer, width func() int) *barSet {
	return &barSet{out: out, width: width}
}

// add starts a line for a transfer; see session.progress.
func (b *barSet) add(label string) (update func(done, total int64), finish func() int64) {
	st := &barState{label: label, start: time.Now()}
	st.total.Store(-1)
	b.mu.Lock()
	if b.p == nil {
		b.p = mpb.New(mpb.WithOutput(b.out), mpb.WithAutoRefresh(), mpb.WithRefreshRate(progressInterval),
			mpb.WithWidth(b.width()))
	}
	st.bar = b.p.New(0, mpb.NopStyle(), mpb.PrependDecorators(decor.Any(func(decor.Statistics) string {
		return renderProgress(st.label, st.done.Load(), st.total.Load(), time.Since(st.start), b.width())
	})))
	b.running = append(b.running, st)
	b.shown.Store(&b.running)
	if len(b.running) > 1 && b.total == nil {
		b.total = b.p.New(0, mpb.NopStyle(), mpb.BarPriority(1<<30), // last
			mpb.PrependDecorators(decor.Any(func(decor.Statistics) string { return b.renderTotal() })))
	}
	b.mu.Unlock()

	var once sync.Once
	var n int64
	return func(done, total int64) {
			st.done.Store(done)
			st.total.Store(total)
		}, func() int64 {
			once.Do(func() { n = b.remove(st) })
			return n
		}
}

// remove takes a finished transfer's line away and, after the last, stops
// the container so that what follows is printed on a quiet terminal.
func (b *barSet) remove(st *barState) int64 {
	b.mu.Lock()
	defer b.mu.Unlock()
	st.bar.Abort(true)
	running := make([]*barState, 0, len(b.running))
	for _, r := range b.running {
		if r != st {
			running = append(running, r)
		}
	}
	b.running = running
	b.shown.Store(&running)
	if len(running) < 2 && b.total != nil {
		b.total.Abort(true)
		b.total = nil
	}
	if len(running) == 0 {
		b.p.Wait() // the lines are erased before anything else is printed
		b.p = nil
	}
	return st.done.Load()
}

// renderTotal sums the running transfers: bytes always, a fraction only
// when every total is known.
func (b *barSet) renderTotal() string {
	running := *b.shown.Load()
	var done, total int64
	start := time.Now()
	for _, r := range running {
		done += r.done.Load()
		if t := r.total.Load(); t < 0 || total < 0 {
			total = -1
		} else {
			total += t
		}
		if r.start.Before(start) {
			start = r.start
		}
	}
	return renderProgress(fmt.Sprintf("total (%d running)", len(running)), done, total, time.Since(start), b.width())
}

// writer returns a Writer for other output to the terminal: while bars
// are drawn it goes above them, so neither garbles the other.
func (b *barSet) writer() io.Writer { return barWriter{b} }

type barWriter struct{ b *barSet }

func (w barWriter) Write(p []byte) (int, error) {
	w.b.mu.Lock()
	defer w.b.mu.Unlock()
	if w.b.p != nil {
		if n, err := w.b.p.Write(p); err == nil {
			return n, nil
		}
	}
	return w.b.out.Write(p)
}
