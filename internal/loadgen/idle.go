package loadgen

import (
	"bufio"
	"context"
	"fmt"
	"net"
	"os"
	"slices"
	"strconv"
	"strings"
	"sync/atomic"
	"time"

	"github.com/selectftp/selectftp/client"
	"github.com/selectftp/selectftp/internal/rlimit"
)

// IdleOptions configures Idle.
type IdleOptions struct {
	Addr  string
	Conns int           // idle connections to open
	PID   int           // the server's pid, for its RSS; 0 skips memory
	Hold  time.Duration // how long to hold them (at least the fresh clients' time)
	Fresh int           // brand-new clients timed while they are held (default 10)
	// Dialers opens connections this many at a time (default 64), so the
	// listen backlog does not overflow.
	Dialers int
	// Settle is waited before each RSS reading (default 1s).
	Settle time.Duration
}

// Idle opens o.Conns connections that complete the Hello and then send
// nothing, and measures the server's resident memory before and after, per
// connection. While they are held it times o.Fresh brand-new clients, one
// after another: connect, hello and one "upper" request. It raises its own
// open-file limit first.
func Idle(ctx context.Context, o IdleOptions) Result {
	if o.Fresh <= 0 {
		o.Fresh = 10
	}
	if o.Dialers <= 0 {
		o.Dialers = 64
	}
	if o.Settle <= 0 {
		o.Settle = time.Second
	}
	res := Result{Mode: "idle", Conns: o.Conns}
	var errs errCount
	if _, err := rlimit.RaiseFileLimit(); err != nil {
		errs.add(err)
	}
	// One client first, so whatever the server starts lazily (the upper
	// plugin) is running before the baseline.
	if _, err := fresh(ctx, o.Addr); err != nil {
		errs.add(err)
	}
	sleep(ctx, o.Settle)
	if o.PID > 0 {
		res.RSSBeforeKB, _ = ProcStatusKB(o.PID, "VmRSS")
	}

	start := time.Now()
	conns := make([]net.Conn, o.Conns)
	var next, opened atomic.Int64
	parallel(min(o.Dialers, max(o.Conns, 1)), func(int) {
		for {
			i := next.Add(1) - 1
			if i >= int64(o.Conns) || ctx.Err() != nil {
				return
			}
			c, err := dial(ctx, o.Addr, 0)
			if err != nil {
				errs.add(err)
				continue
			}
			conns[i] = c.nc
			opened.Add(1)
		}
	})
	res.Seconds = time.Since(start).Seconds()
	res.Opened = int(opened.Load())
	defer func() {
		for _, c := range conns {
			if c != nil {
				if tc, ok := c.(*net.TCPConn); ok {
					tc.SetLinger(0) // reset: no TIME_WAIT left behind
				}
				c.Close()
			}
		}
	}()

	sleep(ctx, o.Settle)
	if o.PID > 0 {
		res.RSSAfterKB, _ = ProcStatusKB(o.PID, "VmRSS")
		res.HWMKB, _ = ProcStatusKB(o.PID, "VmHWM")
		if res.Opened > 0 {
			res.RSSPerConnB = float64(res.RSSAfterKB-res.RSSBeforeKB) * 1024 / float64(res.Opened)
		}
	}
	held := time.Now()
	var lat []time.Duration
	for range o.Fresh {
		d, err := fresh(ctx, o.Addr)
		if err != nil {
			errs.add(err)
			continue
		}
		lat = append(lat, d)
	}
	slices.Sort(lat)
	res.FreshP50ms = ms(Percentile(lat, 50))
	res.FreshMaxMs = ms(Percentile(lat, 100))
	sleep(ctx, o.Hold-time.Since(held))
	errs.into(&res)
	return res
}

// fresh times one new client: connect, hello, "upper" and its answer.
func fresh(ctx context.Context, addr string) (time.Duration, error) {
	t0 := time.Now()
	ctx, cancel := context.WithTimeout(ctx, helloTimeout)
	defer cancel()
	c, err := client.Dial(ctx, addr)
	if err != nil {
		return 0, err
	}
	defer c.Close()
	if _, err := c.Command(ctx, "upper", []string{"still", "there"}); err != nil {
		return 0, err
	}
	return time.Since(t0), nil
}

func sleep(ctx context.Context, d time.Duration) {
	if d <= 0 {
		return
	}
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-t.C:
	case <-ctx.Done():
	}
}

// ProcStatusKB reads a "kB" field such as VmRSS or VmHWM from
// /proc/PID/status.
func ProcStatusKB(pid int, field string) (int64, error) {
	f, err := os.Open(fmt.Sprintf("/proc/%d/status", pid))
	if err != nil {
		return 0, err
	}
	defer f.Close()
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		name, val, ok := strings.Cut(sc.Text(), ":")
		if !ok || name != field {
			continue
		}
		num, _, _ := strings.Cut(strings.TrimSpace(val), " ")
		return strconv.ParseInt(num, 10, 64)
	}
	if err := sc.Err(); err != nil {
		return 0, err
	}
	return 0, fmt.Errorf("no %s in /proc/%d/status", field, pid)
}
