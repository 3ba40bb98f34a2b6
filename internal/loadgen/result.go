// Package loadgen is the engine of the selectftp-load command: it speaks the
// selectftp protocol natively (no process per request) to measure bulk
// downloads and uploads, small-command request rates with latency
// percentiles, and the memory a server spends on idle connections. It also
// measures the loopback limit: a plain Go sender and receiver moving the
// same bytes over TCP.
//
// Each measurement returns a Result, which the command prints as a human
// line and, with --json, as one JSON line that selectftp-bench parses with
// ParseResult.
package loadgen

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"math"
	"slices"
	"strconv"
	"strings"
	"sync"
	"time"
)

// MB is the unit of every MB/s figure: 10^6 bytes.
const MB = 1e6

// Result is what one measurement found. Fields that do not apply to its
// mode are zero and left out of the JSON.
type Result struct {
	Mode  string `json:"mode"`
	Conns int    `json:"conns"`
	// Opened counts the connections that completed their hello (idle mode).
	Opened int   `json:"opened,omitempty"`
	Errors int64 `json:"errors"`
	// FirstError is the first failure seen, for a human to read.
	FirstError string `json:"first_error,omitempty"`

	// Bytes moved and the wall time of the whole run, dials included.
	Bytes   int64   `json:"bytes,omitempty"`
	Seconds float64 `json:"seconds"`
	MBps    float64 `json:"mbps,omitempty"`
	// XferSeconds runs from the first request sent to the last Status
	// received: connection setup excluded. XferMBps is Bytes over it.
	XferSeconds float64 `json:"xfer_seconds,omitempty"`
	XferMBps    float64 `json:"xfer_mbps,omitempty"`

	// Requests completed, their rate and latency percentiles (cmd mode).
	Requests  int64   `json:"requests,omitempty"`
	ReqPerSec float64 `json:"req_per_sec,omitempty"`
	P50ms     float64 `json:"p50_ms,omitempty"`
	P99ms     float64 `json:"p99_ms,omitempty"`
	MaxMs     float64 `json:"max_ms,omitempty"`

	// Server memory from /proc/PID/status, in KiB, when a pid was given.
	// Idle mode reads it before and after opening its connections.
	RSSBeforeKB int64   `json:"rss_before_kb,omitempty"`
	RSSAfterKB  int64   `json:"rss_after_kb,omitempty"`
	HWMKB       int64   `json:"hwm_kb,omitempty"`
	RSSPerConnB float64 `json:"rss_per_conn_bytes,omitempty"`

	// FreshP50ms and FreshMaxMs time brand-new clients (connect, hello and
	// one small request) while the idle connections are held.
	FreshP50ms float64 `json:"fresh_p50_ms,omitempty"`
	FreshMaxMs float64 `json:"fresh_max_ms,omitempty"`
}

// Human returns the result as one line for a person.
func (r Result) Human() string {
	var b strings.Builder
	fmt.Fprintf(&b, "%s: conns=%d", r.Mode, r.Conns)
	if r.Bytes > 0 {
		fmt.Fprintf(&b, " bytes=%d wall=%.3fs %.1f MB/s", r.Bytes, r.Seconds, r.MBps)
		if r.XferSeconds > 0 {
			fmt.Fprintf(&b, " (transfer %.3fs %.1f MB/s)", r.XferSeconds, r.XferMBps)
		}
	}
	if r.Requests > 0 {
		fmt.Fprintf(&b, " requests=%d %.0f req/s p50=%.3fms p99=%.3fms max=%.3fms",
			r.Requests, r.ReqPerSec, r.P50ms, r.P99ms, r.MaxMs)
	}
	if r.Opened > 0 {
		fmt.Fprintf(&b, " opened=%d rss %d→%d KiB (%.0f B/conn) fresh p50=%.2fms max=%.2fms",
			r.Opened, r.RSSBeforeKB, r.RSSAfterKB, r.RSSPerConnB, r.FreshP50ms, r.FreshMaxMs)
	} else if r.RSSAfterKB > 0 {
		fmt.Fprintf(&b, " server rss=%d KiB hwm=%d KiB", r.RSSAfterKB, r.HWMKB)
	}
	fmt.Fprintf(&b, " errors=%d", r.Errors)
	if r.FirstError != "" {
		fmt.Fprintf(&b, " (first: %s)", r.FirstError)
	}
	return b.String()
}

// ParseResult finds the last JSON line in a selectftp-load output and
// decodes it; human lines around it are ignored.
func ParseResult(out []byte) (Result, error) {
	lines := bytes.Split(bytes.TrimSpace(out), []byte("\n"))
	for i := len(lines) - 1; i >= 0; i-- {
		l := bytes.TrimSpace(lines[i])
		if len(l) == 0 || l[0] != '{' {
			continue
		}
		var r Result
		if err := json.Unmarshal(l, &r); err != nil {
			return Result{}, fmt.Errorf("loadgen: parse result: %w", err)
		}
		if r.Mode == "" {
			return Result{}, errors.New("loadgen: result has no mode")
		}
		return r, nil
	}
	return Result{}, errors.New("loadgen: no JSON result line in the output")
}

// Percentile returns the p-th percentile (0 < p <= 100) of samples by the
// nearest-rank method: the smallest sample with at least p% of the samples
// at or below it. samples must be sorted; an empty slice gives 0.
func Percentile(sorted []time.Duration, p float64) time.Duration {
	if len(sorted) == 0 {
		return 0
	}
	rank := int(math.Ceil(p / 100 * float64(len(sorted))))
	rank = min(max(rank, 1), len(sorted))
	return sorted[rank-1]
}

// latencies fills r's percentiles from unsorted samples.
func (r *Result) latencies(samples []time.Duration) {
	slices.Sort(samples)
	r.P50ms = ms(Percentile(samples, 50))
	r.P99ms = ms(Percentile(samples, 99))
	r.MaxMs = ms(Percentile(samples, 100))
}

func ms(d time.Duration) float64 { return float64(d) / float64(time.Millisecond) }

// rate returns n per second over d, 0 when d is 0.
func rate(n float64, d time.Duration) float64 {
	if d <= 0 {
		return 0
	}
	return n / d.Seconds()
}

// errCount gathers failures from concurrent workers.
type errCount struct {
	mu    sync.Mutex
	n     int64
	first string
}

func (e *errCount) add(err error) {
	e.mu.Lock()
	defer e.mu.Unlock()
	if e.n == 0 {
		e.first = err.Error()
	}
	e.n++
}

// into copies the count to r.
func (e *errCount) into(r *Result) {
	e.mu.Lock()
	defer e.mu.Unlock()
	r.Errors, r.FirstError = e.n, e.first
}

// ParseSize reads a byte count: a number with an optional unit, K/M/G/T
// (powers of 1000) or KiB/MiB/GiB/TiB (powers of 1024); B is optional.
func ParseSize(s string) (int64, error) {
	t := strings.TrimSuffix(strings.TrimSpace(s), "B")
	mult := int64(1)
	units := []struct {
		suffix string
		mult   int64
	}{{"Ki", 1 << 10}, {"Mi", 1 << 20}, {"Gi", 1 << 30}, {"Ti", 1 << 40},
		{"K", 1e3}, {"k", 1e3}, {"M", 1e6}, {"G", 1e9}, {"T", 1e12}}
	for _, u := range units {
		if strings.HasSuffix(t, u.suffix) {
			t, mult = strings.TrimSuffix(t, u.suffix), u.mult
			break
		}
	}
	n, err := strconv.ParseInt(strings.TrimSpace(t), 10, 64)
	if err != nil || n < 0 {
		return 0, fmt.Errorf("invalid size %q", s)
	}
	return n * mult, nil
}
