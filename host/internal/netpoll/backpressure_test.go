package netpoll

import (
	"errors"
	"io"
	"math/rand/v2"
	"net"
	"os"
	"sync"
	"sync/atomic"
	"testing"
	"time"
)

// sink collects what a handler consumes, for checking the stream at the end.
type sink struct {
	mu  sync.Mutex
	got []byte
}

func (s *sink) add(b []byte) {
	s.mu.Lock()
	s.got = append(s.got, b...)
	s.mu.Unlock()
}

func (s *sink) len() int {
	s.mu.Lock()
	defer s.mu.Unlock()
	return len(s.got)
}

// TestPartialConsumptionPauses: a handler that consumes part of its input
// stops the socket being read, so the client's writes back up; ResumeRead
// re-delivers the rest in order, nothing lost or duplicated.
func TestPartialConsumptionPauses(t *testing.T) {
	forEach(t, func(t *testing.T, b backend) {
		// While stalled the handler consumes 100 bytes in all, then
		// nothing, whatever sizes the reads come in.
		var stall atomic.Bool
		var calls atomic.Int32
		var got sink
		stall.Store(true)
		s := start(t, b, Options{}, funcs{data: func(c Conn, in []byte) int {
			calls.Add(1)
			n := len(in)
			if stall.Load() {
				n = min(n, 100-got.len())
			}
			got.add(in[:n])
			return n
		}})
		c := s.dial(t)
		const total = 16 << 20
		data := pattern(0, total)
		c.SetWriteDeadline(time.Now().Add(500 * time.Millisecond))
		n, err := c.Write(data)
		if err == nil || !errors.Is(err, os.ErrDeadlineExceeded) {
			t.Fatalf("client wrote %d bytes with err %v; want its writes to back up", n, err)
		}
		before := calls.Load()
		time.Sleep(20 * time.Millisecond)
		if after := calls.Load(); after != before || got.len() != 100 {
			t.Fatalf("while paused: OnData calls went %d -> %d, %d bytes consumed; want no calls and 100 bytes",
				before, after, got.len())
		}

		stall.Store(false)
		s.rec.conn(t, 0).ResumeRead()
		c.SetWriteDeadline(time.Now().Add(waitTimeout))
		if _, err := c.Write(data[n:]); err != nil {
			t.Fatal(err)
		}
		c.CloseWrite()
		s.rec.closeErr(t, s.rec.conn(t, 0))
		if got.len() != total {
			t.Fatalf("handler consumed %d bytes, want %d", got.len(), total)
		}
		checkPattern(t, got.got, 0)
	})
}

// TestRandomPartialResume consumes random amounts (sometimes none) and
// resumes from another goroutine, or from inside OnData before returning,
// which must not lose the resume.
func TestRandomPartialResume(t *testing.T) {
	forEach(t, func(t *testing.T, b backend) {
		var got sink
		s := start(t, b, Options{ReadBuffer: 3000}, funcs{data: func(c Conn, in []byte) int {
			n := rand.IntN(len(in) + 1)
			got.add(in[:n])
			if n < len(in) {
				if rand.IntN(4) == 0 {
					c.ResumeRead() // raced "resume" from inside
				} else {
					go func() {
						if rand.IntN(2) == 0 {
							time.Sleep(time.Duration(rand.IntN(200)) * time.Microsecond)
						}
						c.ResumeRead()
					}()
				}
			}
			return n
		}})
		c := s.dial(t)
		const total = 512 << 10
		data := pattern(0, total)
		c.SetWriteDeadline(time.Now().Add(waitTimeout))
		for rest := data; len(rest) > 0; {
			n := min(len(rest), 1+rand.IntN(20000))
			if _, err := c.Write(rest[:n]); err != nil {
				t.Fatal(err)
			}
			rest = rest[n:]
		}
		c.CloseWrite()
		if err := s.rec.closeErr(t, s.rec.conn(t, 0)); err != nil {
			t.Fatalf("close: %v", err)
		}
		if got.len() != total {
			t.Fatalf("handler consumed %d bytes, want %d", got.len(), total)
		}
		checkPattern(t, got.got, 0)
	})
}

// TestPauseResume covers explicit PauseRead: no OnData while paused, data
// waiting in the socket arrives after ResumeRead.
func TestPauseResume(t *testing.T) {
	forEach(t, func(t *testing.T, b backend) {
		var got sink
		s := start(t, b, Options{}, funcs{data: func(c Conn, in []byte) int {
			got.add(in)
			c.PauseRead()
			return len(in)
		}})
		c := s.dial(t)
		c.Write([]byte("one"))
		waitFor(t, "first chunk", func() bool { return got.len() == 3 })
		c.Write([]byte("two"))
		time.Sleep(50 * time.Millisecond) // give a wrong implementation the chance to read
		if got.len() != 3 {
			t.Fatalf("read %d bytes while paused", got.len())
		}
		s.rec.conn(t, 0).ResumeRead()
		waitFor(t, "second chunk", func() bool { return got.len() == 6 })
		if string(got.got) != "onetwo" {
			t.Fatalf("got %q", got.got)
		}
	})
}

// blockedWriter starts a goroutine that Writes the pattern in chunks until
// total or an error; it reports progress and the final error.
func blockedWriter(c Conn, total, chunk int) (progress *atomic.Int64, done chan error) {
	progress = new(atomic.Int64)
	done = make(chan error, 1)
	go func() {
		for off := 0; off < total; off += chunk {
			if err := c.Write(pattern(off, chunk)); err != nil {
				done <- err
				return
			}
			progress.Store(int64(off + chunk))
		}
		done <- nil
	}()
	return progress, done
}

func TestWriteBlocksUntilPeerReads(t *testing.T) {
	forEach(t, func(t *testing.T, b backend) {
		const max, chunk, total = 64 << 10, 16 << 10, 32 << 20
		s := start(t, b, Options{MaxOutput: max}, funcs{})
		c := s.dial(t)
		sc := s.rec.conn(t, 0)
		progress, done := blockedWriter(sc, total, chunk)
		waitFor(t, "output queue to exceed MaxOutput", func() bool {
			n, _ := sc.Pending()
			return n > max
		})
		time.Sleep(100 * time.Millisecond)
		if p := progress.Load(); p >= total {
			t.Fatal("Write never blocked on a peer that does not read")
		}
		if n, last := sc.Pending(); n > max+chunk || last.IsZero() {
			t.Fatalf("Pending = %d, %v; want at most %d and a progress time", n, last, max+chunk)
		}
		select {
		case err := <-done:
			t.Fatalf("writer finished early: %v", err)
		default:
		}
		c.SetReadDeadline(time.Now().Add(waitTimeout))
		got := make([]byte, total)
		if _, err := io.ReadFull(c, got); err != nil {
			t.Fatal(err)
		}
		checkPattern(t, got, 0)
		if err := <-done; err != nil {
			t.Fatal(err)
		}
		waitFor(t, "queue to drain", func() bool {
			n, _ := sc.Pending()
			return n == 0
		})
	})
}

func TestWriteAfterClose(t *testing.T) {
	forEach(t, func(t *testing.T, b backend) {
		s := start(t, b, Options{MaxOutput: 32 << 10}, funcs{})
		s.dial(t)
		sc := s.rec.conn(t, 0)
		_, done := blockedWriter(sc, 1<<30, 32<<10)
		waitFor(t, "writer to block", func() bool {
			n, _ := sc.Pending()
			return n > 32<<10
		})
		sc.Close()
		select {
		case err := <-done:
			if !errors.Is(err, ErrClosed) {
				t.Fatalf("blocked Write returned %v, want ErrClosed", err)
			}
		case <-time.After(waitTimeout):
			t.Fatal("blocked Write not released by Close")
		}
		if err := s.rec.closeErr(t, sc); err != nil {
			t.Fatalf("local Close reported %v", err)
		}
		if err := sc.Write([]byte("x")); !errors.Is(err, ErrClosed) {
			t.Fatalf("Write after Close = %v", err)
		}
		if err := sc.Enqueue([]byte("x")); !errors.Is(err, ErrClosed) {
			t.Fatalf("Enqueue after Close = %v", err)
		}
		if n, _ := sc.Pending(); n != 0 {
			t.Fatalf("Pending after Close = %d", n)
		}
		sc.Close() // idempotent
		sc.CloseWrite()
		sc.PauseRead()
		sc.ResumeRead()
	})
}

// TestCloseWriteFlushes: everything queued before CloseWrite reaches the
// peer, then the connection closes; later writes fail.
func TestCloseWriteFlushes(t *testing.T) {
	forEach(t, func(t *testing.T, b backend) {
		const total = 8 << 20
		var after atomic.Value
		s := start(t, b, Options{}, funcs{data: func(c Conn, in []byte) int {
			// From inside the callback: queue far more than the
			// socket takes, then ask for a graceful close.
			c.Enqueue(pattern(0, total/2))
			c.Enqueue(pattern(total/2, total/2))
			c.CloseWrite()
			after.Store(errBox{c.Enqueue([]byte("late"))})
			return len(in)
		}})
		c := s.dial(t)
		c.Write([]byte("go"))
		time.Sleep(50 * time.Millisecond) // let the queue build up
		c.SetReadDeadline(time.Now().Add(waitTimeout))
		got, err := io.ReadAll(c)
		if err != nil {
			t.Fatal(err)
		}
		if len(got) != total {
			t.Fatalf("read %d bytes before EOF, want %d", len(got), total)
		}
		checkPattern(t, got, 0)
		if err := s.rec.closeErr(t, s.rec.conn(t, 0)); err != nil {
			t.Fatalf("CloseWrite reported %v", err)
		}
		if e := after.Load().(errBox).err; !errors.Is(e, ErrClosed) {
			t.Fatalf("Enqueue after CloseWrite = %v", e)
		}
	})
}

type errBox struct{ err error }

// TestCloseWriteFromGoroutine: a producer goroutine writes with Write (and
// blocks on the limit), then closes gracefully.
func TestCloseWriteFromGoroutine(t *testing.T) {
	forEach(t, func(t *testing.T, b backend) {
		const total = 4 << 20
		s := start(t, b, Options{MaxOutput: 64 << 10}, funcs{open: func(c Conn) {
			go func() {
				for off := 0; off < total; off += 32 << 10 {
					if c.Write(pattern(off, 32<<10)) != nil {
						return
					}
				}
				c.CloseWrite()
			}()
		}})
		c := s.dial(t)
		c.SetReadDeadline(time.Now().Add(waitTimeout))
		got, err := io.ReadAll(c)
		if err != nil {
			t.Fatal(err)
		}
		if len(got) != total {
			t.Fatalf("read %d bytes, want %d", len(got), total)
		}
		checkPattern(t, got, 0)
	})
}

func TestPending(t *testing.T) {
	forEach(t, func(t *testing.T, b backend) {
		const total = 8 << 20
		s := start(t, b, Options{}, funcs{open: func(c Conn) {
			if n, _ := c.Pending(); n != 0 {
				t.Errorf("fresh Pending = %d", n)
			}
			c.Enqueue(pattern(0, total))
		}})
		before := time.Now()
		c := s.dial(t)
		sc := s.rec.conn(t, 0)
		waitFor(t, "socket to fill", func() bool {
			n, _ := sc.Pending()
			return n > 0 && n < total
		})
		n, last := sc.Pending()
		if last.Before(before) {
			t.Fatalf("Pending = %d, %v: progress time before the connection existed", n, last)
		}
		c.SetReadDeadline(time.Now().Add(waitTimeout))
		got := make([]byte, total)
		if _, err := io.ReadFull(c, got); err != nil {
			t.Fatal(err)
		}
		checkPattern(t, got, 0)
		waitFor(t, "queue to drain", func() bool {
			n, l := sc.Pending()
			return n == 0 && !l.Before(last)
		})
	})
}

// TestWriteFromCallback: on the reactor a Write from inside OnData must
// not block (it would stall the loop the queue drains on).
func TestWriteFromCallback(t *testing.T) {
	forEach(t, func(t *testing.T, b backend) {
		const total = 2 << 20
		s := start(t, b, Options{MaxOutput: 16 << 10}, funcs{data: func(c Conn, in []byte) int {
			for off := 0; off < total; off += 64 << 10 {
				c.Write(pattern(off, 64<<10))
			}
			return len(in)
		}})
		c := s.dial(t)
		c.Write([]byte("go"))
		c.SetReadDeadline(time.Now().Add(waitTimeout))
		got := make([]byte, total)
		if _, err := io.ReadFull(c, got); err != nil {
			t.Fatal(err)
		}
		checkPattern(t, got, 0)
	})
}

var _ net.Conn = (*net.TCPConn)(nil)
