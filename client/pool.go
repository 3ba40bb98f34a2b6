package client

import (
	"context"
	"errors"
	"sync"
)

// Pool keeps up to a fixed number of connections to one server, for
// programs that transfer in parallel: a Conn runs one request at a time,
// so n parallel transfers need n connections. Get hands out an idle
// connection or dials a new one while fewer than Max are out, and waits
// otherwise; Put returns it, and closes it instead when it is broken. A
// Pool is safe for use by several goroutines.
type Pool struct {
	addr string
	opts []Option
	sem  chan struct{} // one token per connection handed out

	mu     sync.Mutex
	idle   []*Conn
	closed bool
}

// ErrPoolClosed is returned by Get after Close.
var ErrPoolClosed = errors.New("client: pool closed")

// NewPool returns a pool of at most size connections (at least 1) to addr,
// each dialled with opts.
func NewPool(addr string, size int, opts ...Option) *Pool {
	return &Pool{addr: addr, opts: opts, sem: make(chan struct{}, max(size, 1))}
}

// Get returns a usable connection, waiting while max are in use. Give it
// back with Put, whatever happened to it.
func (p *Pool) Get(ctx context.Context) (*Conn, error) {
	select {
	case p.sem <- struct{}{}:
	case <-ctx.Done():
		return nil, context.Cause(ctx)
	}
	for {
		p.mu.Lock()
		if p.closed {
			p.mu.Unlock()
			<-p.sem
			return nil, ErrPoolClosed
		}
		var c *Conn
		if n := len(p.idle); n > 0 {
			c, p.idle = p.idle[n-1], p.idle[:n-1]
		}
		p.mu.Unlock()
		if c == nil {
			break
		}
		// An idle connection may have been closed by the server since
		// (its idle timeout, a restart): look before handing it out.
		if c.Err() == nil && c.checkIdle() == nil {
			return c, nil
		}
		c.Close()
	}
	c, err := Dial(ctx, p.addr, p.opts...)
	if err != nil {
		<-p.sem
		return nil, err
	}
	return c, nil
}

// Put gives back a connection from Get. A broken one (Conn.Err) is closed
// rather than kept, so the next Get dials afresh.
func (p *Pool) Put(c *Conn) {
	p.mu.Lock()
	keep := !p.closed && c.Err() == nil
	if keep {
		p.idle = append(p.idle, c)
	}
	p.mu.Unlock()
	if !keep {
		c.Close()
	}
	<-p.sem
}

// Close closes the idle connections; connections still out are closed
// when they are Put back. Get fails with ErrPoolClosed afterwards.
func (p *Pool) Close() error {
	p.mu.Lock()
	idle := p.idle
	p.idle, p.closed = nil, true
	p.mu.Unlock()
	for _, c := range idle {
		c.Close()
	}
	return nil
}
