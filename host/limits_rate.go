package host

import (
	"context"
	"sync"
	"time"
)

// bucket is a token bucket shared by all of one user's sessions, which run
// on several event loops and worker goroutines: hence the lock, held only
// for arithmetic. Tokens may go negative: bytes taken on credit are paid
// for by waiting, so concurrent takers stay within the rate together.
type bucket struct {
	mu     sync.Mutex
	rate   float64 // bytes/s
	burst  float64 // bytes
	tokens float64
	last   time.Time
}

// newBucket returns a bucket of rate bytes/s with a burst of 100 ms worth
// (at least 16 KiB, so a paced upload still fills a sink read), full.
func newBucket(rate int64) *bucket {
	burst := max(float64(rate)/10, 16<<10)
	return &bucket{rate: float64(rate), burst: burst, tokens: burst, last: time.Now()}
}

// withRate is b if it already paces at rate, else a new bucket (nil for
// rate 0): sessions logged in earlier keep the bucket they got.
func (b *bucket) withRate(rate int64) *bucket {
	switch {
	case rate <= 0:
		return nil
	case b != nil && b.rate == float64(rate):
		return b
	}
	return newBucket(rate)
}

// refill adds what the time since the last call earned; b.mu is held.
func (b *bucket) refill() {
	now := time.Now()
	b.tokens = min(b.burst, b.tokens+now.Sub(b.last).Seconds()*b.rate)
	b.last = now
}

// allow returns how many bytes may pass now (0: none), without taking them.
func (b *bucket) allow() int {
	b.mu.Lock()
	defer b.mu.Unlock()
	b.refill()
	return int(max(b.tokens, 0))
}

// charge takes n bytes that passed.
func (b *bucket) charge(n int) {
	b.mu.Lock()
	b.tokens -= float64(n)
	b.mu.Unlock()
}

// refillDelay is how long until a useful amount is there again: a chunk,
// so a paused reader wakes for one read, not for every few bytes.
func (b *bucket) refillDelay() time.Duration {
	b.mu.Lock()
	defer b.mu.Unlock()
	b.refill()
	want := min(b.burst, 16<<10) - b.tokens
	return max(time.Duration(want/b.rate*float64(time.Second)), time.Millisecond)
}

// chunk is the most a paced writer should send at once: the burst, at
// most 256 KiB (the output queue's bound), so pauses stay short.
func (b *bucket) chunk() int { return int(min(b.burst, 256<<10)) }

// wait takes n bytes and waits until they are within the rate, or ctx is
// done. It runs on a command's goroutine, never on an event loop.
func (b *bucket) wait(ctx context.Context, n int) error {
	b.mu.Lock()
	b.refill()
	b.tokens -= float64(n)
	d := time.Duration(-b.tokens / b.rate * float64(time.Second))
	b.mu.Unlock()
	if d <= 0 {
		return nil
	}
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-t.C:
		return nil
	case <-ctx.Done():
		return ctx.Err()
	}
}

// paceUp caps limit, the body bytes the loop may take now, by the user's
// upload rate. When none may pass it arms a timer that resumes reading
// (the caller returns short, which pauses the socket) and returns 0: the
// loop never waits, and TCP flow control slows the client.
func (ss *session) paceUp(limit int) int {
	ul := ss.userLimitsOf()
	if ul == nil || ul.up == nil || limit == 0 {
		return limit
	}
	if a := ul.up.allow(); a > 0 {
		return min(limit, a)
	}
	if !ul.upTimer {
		ul.upTimer = true
		time.AfterFunc(ul.up.refillDelay(), func() {
			ss.post(func() {
				ul.upTimer = false
				ss.c.ResumeRead()
			})
		})
	}
	return 0
}

// chargeUp counts n body bytes the loop took against the upload rate.
func (ss *session) chargeUp(n int) {
	if ul := ss.userLimitsOf(); ul != nil && ul.up != nil && n > 0 {
		ul.up.charge(n)
	}
}

// pacer paces a response's output to the user's download rate, waiting
// on the command's goroutine before each chunk it queues.
type pacer struct {
	ctx   context.Context
	b     *bucket
	abort func() // closes the connection: see each
}

// each calls send for consecutive pieces of n bytes (offset, length),
// waiting before each; a nil pacer sends all at once.
func (p *pacer) each(n int64, send func(off, c int64) error) error {
	if p == nil || p.b == nil {
		return send(0, n)
	}
	step := int64(p.b.chunk())
	for off := int64(0); off < n; off += step {
		c := min(step, n-off)
		if err := p.b.wait(p.ctx, int(c)); err != nil {
			// The Data frame's header promised bytes that will not come:
			// the stream cannot carry a Status after it, so it ends here.
			p.abort()
			return err
		}
		if err := send(off, c); err != nil {
			return err
		}
	}
	return nil
}
