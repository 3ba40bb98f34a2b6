package loadgen

import (
	"bytes"
	"context"
	"crypto/sha256"
	"errors"
	"io"
	"os"
	"path/filepath"
	"testing"
	"time"
)

// fakeClock is a clock that moves only when the limiter sleeps, so a
// test sees the pacing exactly, with no scheduling noise.
type fakeClock struct{ t time.Time }

func (c *fakeClock) now() time.Time { return c.t }
func (c *fakeClock) sleep(_ context.Context, d time.Duration) error {
	c.t = c.t.Add(d)
	return nil
}

// TestLimiterWindows reads 2 s worth of bytes through a limitedReader on a
// fake clock and checks every 100 ms window: the first moves the rate's
// share plus at most the 10 ms burst and a chunk, every later one the share
// within a chunk (10 %), and the whole run the rate within 1 %.
func TestLimiterWindows(t *testing.T) {
	for _, rateBps := range []int64{100e6, 3e6, 50e3} {
		clk := &fakeClock{t: time.Unix(1000, 0)}
		l := newLimiter(rateBps, clk.now, clk.sleep)
		total := 2 * rateBps
		r := &limitedReader{ctx: context.Background(), r: &repeatReader{block: block(), left: total}, l: l}
		start := clk.t
		const window = 100 * time.Millisecond
		perWindow := map[int]int64{}
		buf := make([]byte, 1<<20) // bigger than a chunk: the reader must cut
		for {
			n, err := r.Read(buf)
			if n > l.Chunk() {
				t.Fatalf("rate %d: read %d bytes at once, chunk is %d", rateBps, n, l.Chunk())
			}
			// The bytes are the caller's when Read returns.
			perWindow[int(clk.t.Sub(start)/window)] += int64(n)
			if err == io.EOF {
				break
			}
			if err != nil {
				t.Fatal(err)
			}
		}
		elapsed := clk.t.Sub(start).Seconds()
		if got := float64(total) / elapsed; got > float64(rateBps)*1.01 || got < float64(rateBps)*0.99 {
			t.Errorf("rate %d: moved %d bytes in %.3f s: %.0f B/s", rateBps, total, elapsed, got)
		}
		share := float64(rateBps) * window.Seconds()
		if got := float64(perWindow[0]); got > 1.2*share || got < share {
			t.Errorf("rate %d: first window moved %.0f bytes, want %.0f + 20 %%", rateBps, got, share)
		}
		last := int(clk.t.Sub(start) / window)
		for w := 1; w < last; w++ { // the last window is partial
			if got := float64(perWindow[w]); got > 1.1*share || got < 0.9*share {
				t.Errorf("rate %d: window %d moved %.0f bytes, want %.0f ± 10 %%", rateBps, w, got, share)
			}
		}
	}
}

// TestLimiterIdleDoesNotBank checks that a pause does not let a transfer
// save up more than the burst and then overshoot.
func TestLimiterIdleDoesNotBank(t *testing.T) {
	clk := &fakeClock{t: time.Unix(0, 0)}
	l := newLimiter(1e6, clk.now, clk.sleep)
	clk.t = clk.t.Add(10 * time.Second) // idle
	t0 := clk.t
	l.Wait(context.Background(), int(l.burst)) // free: the bucket is full
	if clk.t != t0 {
		t.Fatalf("waited %v for the burst", clk.t.Sub(t0))
	}
	l.Wait(context.Background(), 100_000) // 100 ms at 1 MB/s
	if d := clk.t.Sub(t0); d != 100*time.Millisecond {
		t.Errorf("100 kB after the burst took %v, want 100ms", d)
	}
}

// TestLimiterReal paces a real writer for about 150 ms and checks the
// wall time, loosely: the fake-clock test checks the arithmetic.
func TestLimiterReal(t *testing.T) {
	const rateBps = 20e6
	l := NewLimiter(rateBps)
	var out bytes.Buffer
	w := &limitedWriter{ctx: context.Background(), w: &out, l: l}
	size := int64(3e6) + int64(l.burst) // 150 ms after the free burst
	start := time.Now()
	if _, err := io.CopyBuffer(w, &repeatReader{block: block(), left: size}, make([]byte, l.Chunk())); err != nil {
		t.Fatal(err)
	}
	if d := time.Since(start); d < 140*time.Millisecond || d > 600*time.Millisecond {
		t.Errorf("3 MB at 20 MB/s took %v, want about 150ms", d)
	}
	if int64(out.Len()) != size {
		t.Errorf("wrote %d bytes, want %d", out.Len(), size)
	}
}

func TestLimiterCancel(t *testing.T) {
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	l := NewLimiter(1000)
	if err := l.Wait(ctx, 1<<20); !errors.Is(err, context.Canceled) {
		t.Errorf("Wait on a cancelled context = %v", err)
	}
}

func TestParseRate(t *testing.T) {
	for in, want := range map[string]int64{"": 0, "0": 0, "100M": 100e6, "100MB/s": 100e6, "64MiB": 64 << 20, "1GiB/s": 1 << 30} {
		if got, err := ParseRate(in); err != nil || got != want {
			t.Errorf("ParseRate(%q) = %d, %v; want %d", in, got, err, want)
		}
	}
	for _, bad := range []string{"fast", "-1M", "/s"} {
		if _, err := ParseRate(bad); err == nil {
			t.Errorf("ParseRate(%q) accepted", bad)
		}
	}
}

// TestPacedTransfers runs a paced get and put against a real server: the
// bytes arrive whole and the time is at least what the rate allows.
func TestPacedTransfers(t *testing.T) {
	addr, root := serve(t)
	ctx := context.Background()
	const size = 1 << 20
	content := bytes.Repeat([]byte("paced"), size/5+1)[:size]
	if err := os.WriteFile(filepath.Join(root, "p.bin"), content, 0o644); err != nil {
		t.Fatal(err)
	}
	const rateBps = 5e6 // 1 MiB: about 200 ms
	r := Get(ctx, addr, "p.bin", 2, TransferOptions{Rate: rateBps, Verify: true})
	noErrors(t, r)
	if r.Bytes != 2*size || r.XferSeconds < 0.15 {
		t.Errorf("paced get: %d bytes in %.3f s, want %d in about 0.2 s", r.Bytes, r.XferSeconds, 2*size)
	}
	r = Put(ctx, addr, "pp.bin", Source{Size: size}, 1, TransferOptions{Rate: rateBps})
	noErrors(t, r)
	if r.XferSeconds < 0.15 {
		t.Errorf("paced put took %.3f s, want about 0.2 s", r.XferSeconds)
	}
	got, err := os.ReadFile(filepath.Join(root, "pp.bin"))
	var want bytes.Buffer
	want.ReadFrom(&repeatReader{block: block(), left: size})
	if err != nil || sha256.Sum256(got) != sha256.Sum256(want.Bytes()) {
		t.Errorf("paced upload differs (%v)", err)
	}
}

// TestHeadOfLine runs the hol mode briefly in both directions, paced and
// not, and checks that it probed and moved bytes; never how fast.
func TestHeadOfLine(t *testing.T) {
	addr, root := serve(t)
	ctx := context.Background()
	if err := os.WriteFile(filepath.Join(root, "h.bin"), bytes.Repeat([]byte{7}, 4<<20), 0o644); err != nil {
		t.Fatal(err)
	}
	for _, o := range []HOLOptions{
		{Dir: "get", Path: "h.bin", Rate: 20e6},
		{Dir: "get", Path: "h.bin"},
		{Dir: "put", Path: "hu", Size: 2 << 20, Rate: 20e6},
	} {
		o.Addr, o.Transfers, o.Window, o.Interval, o.Probes = addr, 3, 300*time.Millisecond, 5*time.Millisecond, 40
		r := HeadOfLine(ctx, o)
		noErrors(t, r)
		if r.Requests < 5 || r.Requests > 40 || r.Bytes <= 0 || r.P50ms <= 0 || r.MaxMs < r.P99ms {
			t.Errorf("%s rate %d: %s", o.Dir, o.Rate, r.Human())
		}
		if o.Rate > 0 && r.MBps > 3*float64(o.Rate)/MB*1.5 {
			t.Errorf("%s: %.1f MB/s, paced to 3 × %.0f MB/s", o.Dir, r.MBps, float64(o.Rate)/MB)
		}
	}
	if r := HeadOfLine(ctx, HOLOptions{Addr: addr, Dir: "sideways"}); r.Errors != 1 {
		t.Errorf("bad direction: %d errors", r.Errors)
	}
}
