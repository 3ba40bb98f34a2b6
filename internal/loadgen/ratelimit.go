package loadgen

import (
	"context"
	"io"
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

// NewLimiter returns a Limiter of rate bytes/s with a burst of 10 ms worth
// of bytes (at least 512), starting full. rate must be positive.
func NewLimiter(rate int64) *Limiter {
	return newLimiter(rate, time.Now, sleepCtx)
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

// limitedReader hands out r's bytes no faster than l allows, in pieces of
// at most l.Chunk(). It hides r's WriteTo and any file behind it, so an
// upload through it is copied, not sent with sendfile: pacing needs the
// bytes to pass through here.
type limitedReader struct {
	ctx context.Context
	r   io.Reader
	l   *Limiter
}

func (lr *limitedReader) Read(p []byte) (int, error) {
	n, err := lr.r.Read(p[:min(len(p), lr.l.Chunk())])
	if n > 0 {
		if werr := lr.l.Wait(lr.ctx, n); werr != nil && err == nil {
			err = werr
		}
	}
	return n, err
}

// limitedWriter passes writes to w no faster than l allows. A download
// paced here stops reading its socket while it waits, so TCP flow control
// slows the sender.
type limitedWriter struct {
	ctx context.Context
	w   io.Writer
	l   *Limiter
}

func (lw *limitedWriter) Write(p []byte) (int, error) {
	if err := lw.l.Wait(lw.ctx, len(p)); err != nil {
		return 0, err
	}
	return lw.w.Write(p)
}

// ParseRate reads a rate in bytes/s with ParseSize's units and an optional
// "/s": "100M", "100MB/s", "64MiB". "" and "0" mean unlimited (0).
func ParseRate(s string) (int64, error) {
	if s == "" {
		return 0, nil
	}
	t := s
	if len(t) > 2 && t[len(t)-2:] == "/s" {
		t = t[:len(t)-2]
	}
	return ParseSize(t)
}
