// Package workers runs short tasks on goroutines that outlive them. A new
// goroutine starts with a small stack that each request grows again (through
// gRPC and JSON), and growing a stack means copying it: at tens of thousands
// of small requests a second that copying showed up in profiles. Workers
// keep their grown stacks between tasks and exit after a while idle.
package workers

import "time"

// Pool hands tasks to idle workers, starting one when none is idle. The
// zero value is not usable; use New.
type Pool struct {
	tasks chan func()
	idle  time.Duration
}

// New returns a pool whose workers exit after idle without a task.
func New(idle time.Duration) *Pool { return &Pool{tasks: make(chan func()), idle: idle} }

// Go runs f on an idle worker, or on a new one.
func (p *Pool) Go(f func()) {
	select {
	case p.tasks <- f: // a worker was waiting
	default:
		go p.work(f)
	}
}

func (p *Pool) work(f func()) {
	t := time.NewTimer(p.idle)
	defer t.Stop()
	for {
		f()
		f = nil // let the task's memory go while waiting
		t.Reset(p.idle)
		select {
		case f = <-p.tasks:
		case <-t.C:
			return
		}
	}
}
