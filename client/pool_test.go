package client_test

import (
	"context"
	"errors"
	"testing"
	"time"

	"github.com/selectftp/selectftp/client"
	"github.com/selectftp/selectftp/host/hosttest"
	"github.com/selectftp/selectftp/plugins/upper"
)

// The pool hands out at most its size, reuses what comes back, replaces
// a broken connection and refuses after Close.
func TestPool(t *testing.T) {
	s := newServer(t)
	ctx := testCtx(t)
	p := client.NewPool(s.Addr, 2)
	a, err := p.Get(ctx)
	if err != nil {
		t.Fatal(err)
	}
	b, err := p.Get(ctx)
	if err != nil {
		t.Fatal(err)
	}
	short, cancel := context.WithTimeout(ctx, 50*time.Millisecond)
	defer cancel()
	if c, err := p.Get(short); !errors.Is(err, context.DeadlineExceeded) {
		t.Fatalf("third Get of a pool of 2: %v %v, want it to wait", c, err)
	}
	p.Put(a)
	if c, err := p.Get(ctx); err != nil || c != a {
		t.Fatalf("Get after Put: %p %v, want the idle %p back", c, err, a)
	}
	a.Close() // broken: Put must not keep it
	p.Put(a)
	c, err := p.Get(ctx)
	if err != nil || c == a || c.Err() != nil {
		t.Fatalf("Get after a broken Put: %v, want a fresh connection", err)
	}
	if out, err := c.Command(ctx, "upper", []string{"ok"}); err != nil || out != "OK\n" {
		t.Errorf("fresh connection: %q %v", out, err)
	}
	p.Put(c)
	p.Close()
	if c.Err() == nil {
		t.Error("Close left an idle connection open")
	}
	p.Put(b)
	if b.Err() == nil {
		t.Error("a connection given back after Close stayed open")
	}
	if _, err := p.Get(ctx); !errors.Is(err, client.ErrPoolClosed) {
		t.Errorf("Get after Close: %v", err)
	}
}

// A connection the server closed while it sat in the pool (its idle
// timeout, a restart) is not handed out: Get dials afresh.
func TestPoolSkipsConnectionsTheServerClosed(t *testing.T) {
	s := hosttest.NewUnstartedServer(t, upper.New())
	s.Host.IdleTimeout = 100 * time.Millisecond
	s.Start()
	ctx := testCtx(t)
	p := client.NewPool(s.Addr, 1)
	defer p.Close()
	a, err := p.Get(ctx)
	if err != nil {
		t.Fatal(err)
	}
	p.Put(a)
	time.Sleep(time.Second) // ten idle timeouts: the server has closed a
	c, err := p.Get(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if c == a {
		t.Fatal("Get handed out a connection the server had closed")
	}
	if out, err := c.Command(ctx, "upper", []string{"ok"}); err != nil || out != "OK\n" {
		t.Fatalf("the fresh connection: %q %v", out, err)
	}
	p.Put(c)
}
