package ratelimit

import (
	"bytes"
	"context"
	"io"
	"testing"
	"time"
)

// fakeClock moves only when the limiter sleeps, so a test sees the
// pacing exactly, with no scheduling noise.
type fakeClock struct{ t time.Time }

func (c *fakeClock) now() time.Time { return c.t }
func (c *fakeClock) sleep(_ context.Context, d time.Duration) error {
	c.t = c.t.Add(d)
	return nil
}

// TestWriterRate writes 2 s worth of bytes through a Writer in 1 MiB
// pieces (what the client hands it) on a fake clock: the whole run keeps
// the rate within 1 %, no piece reaches the sink bigger than a chunk, and
// every 100 ms window after the first carries its share within 10 %.
func TestWriterRate(t *testing.T) {
	for _, rate := range []int64{2 << 20, 512 << 10, 64 << 10} {
		clk := &fakeClock{t: time.Unix(1000, 0)}
		l := NewWithClock(rate, clk.now, clk.sleep)
		start := clk.t
		perWindow := map[int]int64{}
		sink := writerFunc(func(p []byte) (int, error) {
			if len(p) > l.Chunk() {
				t.Fatalf("rate %d: %d bytes at once, chunk %d", rate, len(p), l.Chunk())
			}
			perWindow[int(clk.t.Sub(start)/(100*time.Millisecond))] += int64(len(p))
			return len(p), nil
		})
		w := &Writer{Ctx: context.Background(), W: sink, L: l}
		total := 2 * rate
		piece := make([]byte, 1<<20)
		for left := total; left > 0; {
			n, err := w.Write(piece[:min(int64(len(piece)), left)])
			if err != nil {
				t.Fatal(err)
			}
			left -= int64(n)
		}
		got := float64(total) / clk.t.Sub(start).Seconds()
		if got > float64(rate)*1.01 || got < float64(rate)*0.99 {
			t.Errorf("rate %d: moved at %.0f B/s", rate, got)
		}
		share := float64(rate) / 10
		for i := 1; i < 19; i++ {
			if g := float64(perWindow[i]); g > share*1.1 || g < share*0.9 {
				t.Errorf("rate %d: window %d moved %.0f bytes, want %.0f ± 10 %%", rate, i, g, share)
			}
		}
	}
}

// TestReaderRate reads through a Reader: the same rate, in chunks.
func TestReaderRate(t *testing.T) {
	clk := &fakeClock{t: time.Unix(1000, 0)}
	const rate = 1 << 20
	l := NewWithClock(rate, clk.now, clk.sleep)
	r := &Reader{Ctx: context.Background(), R: bytes.NewReader(make([]byte, 3*rate)), L: l}
	buf := make([]byte, 4<<20)
	var n int64
	for {
		m, err := r.Read(buf)
		if m > l.Chunk() {
			t.Fatalf("read %d at once, chunk %d", m, l.Chunk())
		}
		n += int64(m)
		if err == io.EOF {
			break
		}
		if err != nil {
			t.Fatal(err)
		}
	}
	if el := clk.t.Sub(time.Unix(1000, 0)).Seconds(); n != 3*rate || el < 2.97 || el > 3.03 {
		t.Fatalf("read %d bytes in %.3f s, want %d in 3 s", n, el, 3*rate)
	}
}

// TestWaitCanceled: a cancelled context ends a wait with its error.
func TestWaitCanceled(t *testing.T) {
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	l := New(1000)
	if err := l.Wait(ctx, 1<<20); err != context.Canceled {
		t.Fatalf("Wait: %v", err)
	}
}

func TestParse(t *testing.T) {
	for in, want := range map[string]int64{
		"100": 100, "512K": 512 << 10, "512k": 512 << 10, "8M": 8 << 20, "2m": 2 << 20, "1G": 1 << 30,
		"1.5M": 3 << 19, "100MB/s": 100 << 20, "64MiB": 64 << 20, "0": 0,
	} {
		if got, err := Parse(in); err != nil || got != want {
			t.Errorf("Parse(%q) = %d, %v; want %d", in, got, err, want)
		}
	}
	for _, in := range []string{"", "M", "-1", "abc", "8X", "1e9", "NaN", "Inf", "99999999999T"} {
		if got, err := Parse(in); err == nil {
			t.Errorf("Parse(%q) = %d, want an error", in, got)
		}
	}
}

type writerFunc func([]byte) (int, error)

func (f writerFunc) Write(p []byte) (int, error) { return f(p) }

// TestIdleDoesNotBank: a limiter idle for long holds only its burst, so a
// transfer that resumes after a pause is not let through at full speed.
func TestIdleDoesNotBank(t *testing.T) {
	clk := &fakeClock{t: time.Unix(0, 0)}
	l := NewWithClock(1e6, clk.now, clk.sleep)
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
