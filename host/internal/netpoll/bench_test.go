package netpoll

import (
	"io"
	"net"
	"runtime"
	"sync/atomic"
	"testing"
	"time"
)

// BenchmarkEcho measures the read path (read, OnData, reply) with one
// client doing request/response round trips.
func BenchmarkEcho(b *testing.B) {
	for _, be := range backends {
		for _, size := range []int{64, 16 << 10, 256 << 10} {
			b.Run(be.name+"/"+byteSize(size), func(b *testing.B) {
				e, err := be.new(Options{})
				if err != nil {
					b.Skip(err)
				}
				ln, err := net.Listen("tcp", "127.0.0.1:0")
				if err != nil {
					b.Fatal(err)
				}
				done := make(chan error, 1)
				go func() { done <- e.Serve(ln, echo{}) }()
				defer func() {
					e.Close()
					<-done
				}()
				c, err := net.Dial("tcp", ln.Addr().String())
				if err != nil {
					b.Fatal(err)
				}
				defer c.Close()
				msg := pattern(0, size)
				reply := make([]byte, size)
				werr := make(chan error, 1)
				b.SetBytes(int64(size))
				b.ReportAllocs()
				b.ResetTimer()
				for range b.N {
					// Write concurrently: a large message does not fit the
					// socket buffers while the echo is unread.
					go func() {
						_, err := c.Write(msg)
						werr <- err
					}()
					if _, err := io.ReadFull(c, reply); err != nil {
						b.Fatal(err)
					}
					if err := <-werr; err != nil {
						b.Fatal(err)
					}
				}
			})
		}
	}
}

func byteSize(n int) string {
	switch {
	case n >= 1<<20 && n%(1<<20) == 0:
		return itoa(n>>20) + "MiB"
	case n >= 1<<10 && n%(1<<10) == 0:
		return itoa(n>>10) + "KiB"
	}
	return itoa(n) + "B"
}

func itoa(n int) string {
	if n == 0 {
		return "0"
	}
	var b [20]byte
	i := len(b)
	for ; n > 0; n /= 10 {
		i--
		b[i] = byte('0' + n%10)
	}
	return string(b[i:])
}

// BenchmarkIdleConns reports what an idle connection costs the server:
// Go heap, and goroutine stacks (which the goroutine backend pays and the
// heap figure does not show). It measures once whatever b.N is: the figure
// is a size, not a speed, and 2,000 connections per iteration would make
// -benchtime=Nx runs crawl.
func BenchmarkIdleConns(b *testing.B) {
	for _, be := range backends {
		b.Run(be.name, func(b *testing.B) {
			heap, stack := idleCost(b, be, 2000)
			b.ReportMetric(heap, "heapB/conn")
			b.ReportMetric(stack, "stackB/conn")
		})
	}
}

// TestIdleMemory keeps the idle cost from regressing by orders of
// magnitude (a full read buffer per connection, say); the bounds are loose
// on purpose.
func TestIdleMemory(t *testing.T) {
	bounds := map[string]float64{"reactor": 4 << 10, "goroutine": 32 << 10}
	forEach(t, func(t *testing.T, b backend) {
		heap, stack := idleCost(t, b, 1000)
		t.Logf("%s: %.0f heap bytes, %.0f stack bytes per idle connection", b.name, heap, stack)
		if heap+stack > bounds[b.name] {
			t.Errorf("idle connection costs %.0f bytes, want under %.0f", heap+stack, bounds[b.name])
		}
	})
}

// idleCost opens n idle connections and returns the server's heap and stack
// growth per connection. Clients are raw sockets so they add nothing to the
// Go heap being measured.
func idleCost(tb testing.TB, be backend, n int) (heap, stack float64) {
	tb.Helper()
	e, err := be.new(Options{})
	if err != nil {
		tb.Skip(err)
	}
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		tb.Fatal(err)
	}
	var opened atomic.Int32
	done := make(chan error, 1)
	go func() {
		done <- e.Serve(ln, funcs{open: func(Conn) { opened.Add(1) }})
	}()
	defer func() {
		e.Close()
		<-done
	}()
	clients, err := newRawClients(ln.Addr().String())
	if err != nil {
		tb.Skip(err)
	}
	defer clients.close()
	// One connection first, so lazily built engine state is in the
	// baseline rather than charged to the idle connections.
	if err := clients.dial(1); err != nil {
		tb.Skip(err)
	}
	waitFor(tb, "first connection", func() bool { return opened.Load() == 1 })
	h0, s0 := memNow()
	if err := clients.dial(n); err != nil {
		tb.Fatal(err)
	}
	waitFor(tb, "connections to open", func() bool { return int(opened.Load()) == n+1 })
	time.Sleep(20 * time.Millisecond) // let reader goroutines park
	h1, s1 := memNow()
	return float64(h1-h0) / float64(n), float64(s1-s0) / float64(n)
}

func memNow() (heap, stack int64) {
	var ms runtime.MemStats
	runtime.GC()
	runtime.GC()
	runtime.ReadMemStats(&ms)
	return int64(ms.HeapAlloc), int64(ms.StackInuse)
}
