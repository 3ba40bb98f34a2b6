package loadgen

import (
	"context"
	"sync"
	"time"

	"github.com/selectftp/selectftp/protocol"
)

// Cmd runs verb with args as fast as it can on conns connections for d,
// one request at a time per connection, and reports the request rate and
// latency percentiles. Each connection makes one untimed request first, so
// a plugin started on demand is not counted. A failed request is counted
// in Errors and its connection replaced.
func Cmd(ctx context.Context, addr, verb string, args []string, conns int, d time.Duration) Result {
	res := Result{Mode: "cmd", Conns: conns}
	frames, err := requestFrames(protocol.Request{Verb: verb, Args: args})
	if err != nil {
		res.Errors, res.FirstError = 1, err.Error()
		return res
	}
	var errs errCount
	var mu sync.Mutex
	var all []time.Duration

	// Dial and warm up every connection, then start the clock for all.
	cs := make([]*conn, conns)
	parallel(conns, func(i int) {
		c, err := dial(ctx, addr, 4096)
		if err == nil {
			if err = c.command(frames, make([]byte, 4096)); err != nil {
				c.nc.Close()
			}
		}
		if err != nil {
			errs.add(err)
			return
		}
		cs[i] = c
	})
	start := time.Now()
	deadline := start.Add(d)
	parallel(conns, func(i int) {
		c := cs[i]
		if c == nil {
			return
		}
		buf := make([]byte, 4096)
		lat := make([]time.Duration, 0, 4096)
		defer func() {
			c.nc.Close()
			mu.Lock()
			all = append(all, lat...)
			mu.Unlock()
		}()
		for ctx.Err() == nil {
			t0 := time.Now()
			if !t0.Before(deadline) {
				break
			}
			if err := c.command(frames, buf); err != nil {
				// Count it and go on with a new connection: one failed
				// request should not end the measurement.
				errs.add(err)
				c.nc.Close()
				if c, err = dial(ctx, addr, 4096); err != nil {
					errs.add(err)
					return
				}
				continue
			}
			lat = append(lat, time.Since(t0))
		}
	})
	wall := time.Since(start)
	res.Seconds = wall.Seconds()
	res.Requests = int64(len(all))
	res.ReqPerSec = rate(float64(len(all)), wall)
	res.latencies(all)
	errs.into(&res)
	return res
}
