// Package ratelimit paces a byte stream to a rate with a token bucket: the
// CLI's --limit-rate and the load generator's --rate use it.
package ratelimit

import (
	"context"
	"fmt"
	"io"
	"strconv"
	"strings"
	"time"
)

// Limiter paces one transfer to a rate in bytes per second, token-bucket
// style: it lets at most a burst of 10 ms worth of bytes through ahead of
// the rate, and a paced transfer moves in chunks of at most the burst, so
// once under way every 100 ms window carries the rate's share within 10 %
// (the first at most 20 % more). It is not safe for concurrent use: one
// Limiter per transfer.
type Limiter struct {
	rate, burst float64 // bytes/s, bytes
	tokens      float64 // may go negative: a chunk taken on credit is paid by waiting
	last        time.Time
	now         func() time.Time
	sleep       func(context.Context, time.Duration) error
}

// New returns a Limiter of rate bytes/s with a burst of 10 ms worth of
// bytes (at least 512), starting full. rate must be positive.
func New(rate int64) *Limiter {
	return newLimiter(rate, time.Now, sleepCtx)
}

// NewWithClock is New on a clock of the caller's: now tells the time and
// sleep waits (or, in a test, moves a fake clock). Tests of code that
// paces use it to see the pacing exactly.
func NewWithClock(rate int64, now func() time.Time, sleep func(context.Context, time.Duration) error) *Limiter {
	return newLimiter(rate, now, sleep)
}

func newLimiter(rate int64, now func() time.Time, sleep func(context.Context, time.Duration) error) *Limiter {
	burst := max(float64(rate)/100, 512)
	return &Limiter{rate: float64(rate), burst: burst, tokens: burst, last: now(), now: now, sleep: sleep}
}

// Chunk is the largest piece a limited transfer should move at once: the
// burst, capped at 1 MiB. Larger pieces are still paced right on average,
// but each would leave a gap as long as the piece takes at the rate, and
// the 100 ms windows would see it.
func (l *Limiter) Chunk() int {
	return int(min(l.burst, 1<<20))
}

// Wait takes n bytes from the bucket and returns once they are within the
// rate, or when ctx is done.
func (l *Limiter) Wait(ctx context.Context, n int) error {
	t := l.now()
	l.tokens = min(l.burst, l.tokens+t.Sub(l.last).Seconds()*l.rate)
	l.last = t
	l.tokens -= float64(n)
	if l.tokens >= 0 {
		return nil
	}
	return l.sleep(ctx, time.Duration(-l.tokens/l.rate*float64(time.Second)))
}

func sleepCtx(ctx context.Context, d time.Duration) error {
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-t.C:
		return nil
	case <-ctx.Done():
		return ctx.Err()
	}
}

// Reader hands out R's bytes no faster than L allows, in pieces of at
// most L.Chunk(). It hides R's WriteTo and any file behind it, so an
// upload through it is copied, not sent with sendfile: pacing needs the
// bytes to pass through here.
type Reader struct {
	Ctx context.Context
	R   io.Reader
	L   *Limiter
}

func (lr *Reader) Read(p []byte) (int, error) {
	n, err := lr.R.Read(p[:min(len(p), lr.L.Chunk())])
	if n > 0 {
		if werr := lr.L.Wait(lr.Ctx, n); werr != nil && err == nil {
			err = werr
		}
	}
	return n, err
}

// Writer passes writes to W no faster than L allows, cut into pieces of
// at most L.Chunk(). A download paced here stops reading its socket while
// it waits, so TCP flow control slows the sender.
type Writer struct {
	Ctx context.Context
	W   io.Writer
	L   *Limiter
}

func (lw *Writer) Write(p []byte) (int, error) {
	done := 0
	for done < len(p) {
		piece := p[done:min(len(p), done+lw.L.Chunk())]
		if err := lw.L.Wait(lw.Ctx, len(piece)); err != nil {
			return done, err
		}
		n, err := lw.W.Write(piece)
		done += n
		if err != nil {
			return done, err
		}
	}
	return done, nil
}

// Parse reads a rate in bytes/s as curl's --limit-rate takes it: a
// number, optionally with a suffix K, M, G or T (powers of 1024, either
// case, an optional "B", "iB" and "/s"): "512K", "8M", "1.5M", "100MB/s".
// "0" means unlimited (0).
func Parse(s string) (int64, error) {
	t := strings.TrimSpace(s)
	t = strings.TrimSuffix(t, "/s")
	t = strings.TrimSuffix(t, "B")
	t = strings.TrimSuffix(t, "i")
	mult := 1.0
	if n := len(t); n > 0 {
		if i := strings.IndexByte("kmgt", lower(t[n-1])); i >= 0 {
			mult = float64(int64(1) << (10 * (i + 1)))
			t = t[:n-1]
		}
	}
	v, err := strconv.ParseFloat(t, 64)
	if err != nil || v < 0 || v*mult > 1<<62 || t == "" || strings.ContainsAny(t, "eEnNxXpP+") {
		return 0, fmt.Errorf("invalid rate %q: want bytes per second such as 512K or 8M", s)
	}
	r := int64(v * mult)
	if r == 0 && v > 0 {
		r = 1
	}
	return r, nil
}

func lower(b byte) byte {
	if 'A' <= b && b <= 'Z' {
		return b + 'a' - 'A'
	}
	return b
}
