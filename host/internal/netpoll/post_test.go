package netpoll

import (
	"sync"
	"sync/atomic"
	"testing"
	"time"
)

// postProbe checks Post's contract from inside the handler: no posted
// function overlaps a callback or another posted function, none runs after
// OnClose, and none runs inline in Post.
type postProbe struct {
	in      atomic.Int32 // callbacks and posted functions running now
	bad     atomic.Value // first violation, a string
	closed  atomic.Bool
	ran     atomic.Int64
	counter int // touched only by callbacks and posted functions: -race checks it
	order   []int
	mu      sync.Mutex
	conn    Conn
}

func (p *postProbe) enter(what string) {
	if p.in.Add(1) != 1 {
		p.bad.CompareAndSwap(nil, what+" overlapped another callback")
	}
}
func (p *postProbe) leave() { p.in.Add(-1) }

func (p *postProbe) OnOpen(c Conn) {
	p.enter("OnOpen")
	defer p.leave()
	p.mu.Lock()
	p.conn = c
	p.mu.Unlock()
}

func (p *postProbe) OnData(c Conn, in []byte) int {
	p.enter("OnData")
	defer p.leave()
	p.counter++
	var inline bool
	c.Post(func() { inline = true; p.task(-1) })
	if inline {
		p.bad.CompareAndSwap(nil, "Post ran fn inline")
	}
	return len(in)
}

func (p *postProbe) OnClose(c Conn, err error) {
	p.enter("OnClose")
	defer p.leave()
	p.closed.Store(true)
}

func (p *postProbe) task(i int) {
	p.enter("a posted function")
	defer p.leave()
	if p.closed.Load() {
		p.bad.CompareAndSwap(nil, "a posted function ran after OnClose")
	}
	p.counter++
	if i >= 0 {
		p.order = append(p.order, i)
	}
	p.ran.Add(1)
}

func (p *postProbe) check(t *testing.T) {
	t.Helper()
	if v := p.bad.Load(); v != nil {
		t.Fatal(v)
	}
}

func TestPostSerializedAndOrdered(t *testing.T) {
	forEach(t, func(t *testing.T, b backend) {
		p := &postProbe{}
		s := start(t, b, Options{}, p)
		nc := s.dial(t)
		c := s.rec.conn(t, 0)
		const posters, each = 4, 200
		var wg sync.WaitGroup
		for g := range posters {
			wg.Go(func() {
				for i := range each {
					// One poster's functions carry increasing numbers,
					// so order is checked on poster 0's.
					n := -1
					if g == 0 {
						n = i
					}
					if !c.Post(func() { p.task(n) }) {
						p.bad.CompareAndSwap(nil, "Post refused on an open connection")
					}
				}
			})
		}
		for range 50 { // callbacks racing the posted functions
			if _, err := nc.Write([]byte("x")); err != nil {
				t.Fatal(err)
			}
		}
		wg.Wait()
		waitFor(t, "every posted function", func() bool { return p.ran.Load() >= posters*each })
		done := make(chan []int, 1)
		c.Post(func() { done <- append([]int(nil), p.order...) })
		var got []int
		select {
		case got = <-done:
		case <-time.After(waitTimeout):
			t.Fatal("the last posted function never ran")
		}
		for i, v := range got {
			if v != i {
				t.Fatalf("poster 0's function %d ran as number %d", v, i)
			}
		}
		if len(got) != each {
			t.Fatalf("poster 0's functions ran %d times, want %d", len(got), each)
		}
		p.check(t)
	})
}

func TestPostNeverAfterClose(t *testing.T) {
	forEach(t, func(t *testing.T, b backend) {
		p := &postProbe{}
		s := start(t, b, Options{}, p)
		nc := s.dial(t)
		c := s.rec.conn(t, 0)
		stop := make(chan struct{})
		var posted atomic.Int64
		var wg sync.WaitGroup
		wg.Go(func() {
			for i := 0; i < 100000; i++ { // bounded: stops at close anyway
				select {
				case <-stop:
					return
				default:
				}
				if !c.Post(func() { p.task(-1) }) {
					return
				}
				posted.Add(1)
			}
		})
		waitFor(t, "some posted functions to run", func() bool { return p.ran.Load() > 10 })
		nc.Close()
		s.rec.closeErr(t, c)
		close(stop)
		wg.Wait()
		if c.Post(func() { p.task(-1) }) {
			t.Fatal("Post accepted a function after OnClose")
		}
		p.check(t)
		t.Logf("%d posted, %d ran", posted.Load(), p.ran.Load())
	})
}
