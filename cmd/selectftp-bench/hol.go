package main

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"strconv"

	"github.com/selectftp/selectftp/internal/loadgen"
)

// The files of the newer workloads, under work/files and linked into both
// roots.
const (
	holFile     = "hol.bin"
	manyFile    = "many.bin"
	wanFile     = "wan.bin"
	wanPartFile = "wan-part.bin"
)

// holKey names one head-of-line setting.
type holKey struct {
	backend string // reactor or goroutine
	dir     string // get or put
	paced   bool
}

// holRuns are the settings measured: paced and unpaced on the reactor,
// unpaced on the goroutine backend (the reference the reactor must beat).
func holRuns() []holKey {
	var ks []holKey
	for _, k := range []struct {
		backend string
		paced   bool
	}{{"reactor", true}, {"reactor", false}, {"goroutine", false}} {
		for _, dir := range []string{"get", "put"} {
			ks = append(ks, holKey{k.backend, dir, k.paced})
		}
	}
	return ks
}

// holRate is each paced transfer's rate: together they make half the
// loopback limit.
func holRate(limitMBps float64, transfers int) int64 {
	return int64(limitMBps * loadgen.MB / 2 / float64(transfers))
}

// measureHOL times "upper x" on its own connection while cfg.holTransfers
// transfers run, in every setting of holRuns. The pace is half the
// loopback limit, measured here when the transfer workloads did not.
func (b *bench) measureHOL(ctx context.Context) error {
	if b.fig.limit <= 0 {
		var best float64
		for range b.cfg.reps {
			r, err := b.load(ctx, "limit", "--file", b.big)
			if err != nil {
				return fmt.Errorf("the loopback limit: %w", err)
			}
			best = max(best, r.MBps)
		}
		b.fig.limit = best
		fmt.Fprintf(b.log, "   Go TCP limit: %.0f MB/s\n", best)
	}
	rate := holRate(b.fig.limit, b.cfg.holTransfers)
	b.fig.holRate = rate
	b.fig.hol = map[holKey]*loadgen.Result{}
	byBackend := map[string][]holKey{}
	for _, k := range holRuns() {
		byBackend[k.backend] = append(byBackend[k.backend], k)
	}
	var firstErr error
	for _, backend := range []string{"reactor", "goroutine"} {
		if ctx.Err() != nil {
			return ctx.Err()
		}
		if err := b.holOn(ctx, backend, byBackend[backend], rate); err != nil {
			fmt.Fprintf(b.log, "   %s: %v\n", backend, err)
			if firstErr == nil {
				firstErr = err
			}
		}
	}
	return firstErr
}

// holOn runs the settings ks on one selectftpd with the given backend.
// A failed setting is a note; the others still run.
func (b *bench) holOn(ctx context.Context, backend string, ks []holKey, rate int64) error {
	c, addr, err := b.startSelectftpd(ctx, "selectftpd-hol-"+backend, "--backend", backend)
	if err != nil {
		return err
	}
	defer b.procs.stop(c)
	var firstErr error
	for _, k := range ks {
		args := []string{"hol", "--addr", addr, "--dir", k.dir, "--conns", strconv.Itoa(b.cfg.holTransfers),
			"--duration", b.cfg.holWindow.String(), "--interval", b.cfg.holInterval.String()}
		if k.dir == "get" {
			args = append(args, "--path", holFile)
		} else {
			args = append(args, "--path", "hol-up", "--size", strconv.FormatInt(b.cfg.holSize, 10))
		}
		if k.paced {
			args = append(args, "--rate", strconv.FormatInt(rate, 10))
		}
		r, err := b.load(ctx, args...)
		b.removeUploads("hol-up-")
		if err != nil && r.Requests > 0 {
			// A failed transfer does not void the latencies measured
			// beside the others; say so beside them.
			b.notes = append(b.notes, fmt.Sprintf("head of line, %s %s paced=%v: %d errors, first: %s",
				backend, k.dir, k.paced, r.Errors, r.FirstError))
			err = nil
		}
		if err != nil {
			err = fmt.Errorf("%s %s paced=%v: %w", backend, k.dir, k.paced, err)
			if firstErr == nil {
				firstErr = err
			}
			continue
		}
		fmt.Fprintf(b.log, "   %-9s %s paced=%-5v %s\n", backend, k.dir, k.paced, r.Human())
		b.fig.hol[k] = &r
	}
	return firstErr
}

// removeUploads deletes the files a workload uploaded to selectftpd's root.
func (b *bench) removeUploads(prefix string) {
	names, _ := filepath.Glob(filepath.Join(b.sfRoot, prefix+"*"))
	for _, n := range names {
		os.Remove(n)
	}
}
