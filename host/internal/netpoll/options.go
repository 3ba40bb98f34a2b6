package netpoll

import (
	"errors"
	"runtime"
	"sync/atomic"
)

const (
	defaultReadBuffer = 64 << 10
	defaultMaxOutput  = 256 << 10

	// maxIovecs is the kernel's IOV_MAX: writev rejects longer vectors.
	maxIovecs = 1024
)

// errServing is returned by a second Serve on the same engine: an engine
// owns exactly one listener.
var errServing = errors.New("netpoll: engine is already serving")

// errNilHandler keeps a nil Handler from surfacing later as a panic on an
// event loop, where it would take every connection down with it.
var errNilHandler = errors.New("netpoll: nil Handler")

func (o Options) withDefaults() Options {
	if o.ReadBuffer <= 0 {
		o.ReadBuffer = defaultReadBuffer
	}
	if o.MaxOutput <= 0 {
		o.MaxOutput = defaultMaxOutput
	}
	if o.Loops <= 0 {
		o.Loops = runtime.GOMAXPROCS(0)
	}
	return o
}

// clampConsumed guards against handlers returning nonsense from OnData: a
// negative count or one past the end would corrupt the kept bytes.
func clampConsumed(k, n int) int {
	if k < 0 {
		return 0
	}
	if k > n {
		return n
	}
	return k
}

// ctxValue holds a Conn's handler value. The box lets values of differing
// types (and nil) share one atomic.Value, which insists on one concrete type.
type ctxValue struct{ v atomic.Value }

type ctxBox struct{ v any }

func (c *ctxValue) set(v any) { c.v.Store(ctxBox{v}) }

func (c *ctxValue) get() any {
	b, _ := c.v.Load().(ctxBox)
	return b.v
}
