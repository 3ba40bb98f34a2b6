package main

import (
	"bytes"
	"context"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"time"
)

// curlParallelMax is how many transfers one curl runs at once: curl caps
// --parallel-max at 300, so 1,000 concurrent downloads take several curl
// processes.
const curlParallelMax = 250

// measureMany downloads the 1 MiB file on cfg.many connections at once
// from a fresh selectftpd (each download verified by the load generator,
// its peak RSS read after) and from pure-ftpd with curl in parallel mode.
func (b *bench) measureMany(ctx context.Context) error {
	n := b.cfg.many
	total := int64(n) * b.cfg.manySize
	var cs []*contender
	var ftp *contender
	if !b.cfg.noFTP {
		// A client limit of 8 × n: pure-ftpd's listen backlog is an eighth
		// of it (see startFTPAt).
		c, base, err := b.startFTPAt(ctx, loopbackFTP, "pure-ftpd-many", min(8*(n+50), ftpMaxPassive/2))
		if err != nil {
			b.notes = append(b.notes, "pure-ftpd for the concurrent downloads: "+err.Error())
		} else {
			defer b.procs.stop(c)
			ftp = &contender{label: fmt.Sprintf("pure-ftpd %d curl transfers", n), run: func(int) (float64, error) {
				wall, err := b.curlParallel(ctx, base+manyFile, n, b.cfg.manySize)
				return mbps(total, wall.Seconds()), err
			}}
			cs = append(cs, ftp)
		}
	}
	// A server of its own, so its peak RSS is this workload's.
	sf, addr, err := b.startSelectftpd(ctx, "selectftpd-many", "--max-conns", strconv.Itoa(n+100))
	if err != nil {
		return err
	}
	defer b.procs.stop(sf)
	pid := strconv.Itoa(sf.cmd.Process.Pid)
	sel := &contender{label: fmt.Sprintf("selectftp %d verified gets", n), run: func(int) (float64, error) {
		// 128 KiB reads: a thousand 1 MiB buffers would be the load
		// generator's memory, not a client's.
		r, err := b.load(ctx, "get", "--addr", addr, "--path", manyFile, "--conns", strconv.Itoa(n),
			"--verify", "--read-size", strconv.Itoa(128<<10), "--pid", pid)
		b.fig.manyHWMKB = max(b.fig.manyHWMKB, r.HWMKB)
		if err == nil && r.Bytes != total {
			err = fmt.Errorf("moved %d bytes, want %d", r.Bytes, total)
		}
		return r.MBps, err
	}}
	cs = append(cs, sel)
	if err := b.rounds(cs...); err != nil {
		return err
	}
	b.fig.manySF = pick(sel.vals, b.cfg.pick)
	if ftp != nil {
		b.fig.manyFTP = pick(ftp.vals, b.cfg.pick)
	}
	return nil
}

// curlProcs splits n transfers over curl processes of at most
// curlParallelMax each and returns each one's count.
func curlProcs(n int) []int {
	var counts []int
	k := (n + curlParallelMax - 1) / curlParallelMax
	for i := range k {
		counts = append(counts, n/k+btoi(i < n%k))
	}
	return counts
}

func btoi(b bool) int {
	if b {
		return 1
	}
	return 0
}

// curlConfig is a curl -K file that downloads url count times to
// /dev/null.
func curlConfig(url string, count int) string {
	var s strings.Builder
	for range count {
		fmt.Fprintf(&s, "url = %q\noutput = \"/dev/null\"\n", url)
	}
	return s.String()
}

// curlParallel downloads url n times at once with curl's parallel mode
// (curlProcs processes) and returns the wall time until the last exits.
// Each transfer must have moved size bytes.
func (b *bench) curlParallel(ctx context.Context, url string, n int, size int64) (time.Duration, error) {
	counts := curlProcs(n)
	cmds := make([]*exec.Cmd, len(counts))
	outs := make([]bytes.Buffer, len(counts))
	errs := make([]bytes.Buffer, len(counts))
	for i, count := range counts {
		cfg := filepath.Join(b.work, fmt.Sprintf("curl-many-%d.cfg", i))
		if err := os.WriteFile(cfg, []byte(curlConfig(url, count)), 0o600); err != nil {
			return 0, err
		}
		cmds[i] = exec.CommandContext(ctx, "curl", "-sS", "--parallel", "--parallel-immediate",
			"--parallel-max", strconv.Itoa(count), "-w", "%{size_download}\n", "-K", cfg)
		cmds[i].Stdout, cmds[i].Stderr = &outs[i], &errs[i]
	}
	start := time.Now()
	for i, c := range cmds {
		if err := c.Start(); err != nil {
			for _, started := range cmds[:i] {
				started.Process.Kill()
				started.Wait()
			}
			return 0, err
		}
	}
	var firstErr error
	for i, c := range cmds {
		if err := c.Wait(); err != nil && firstErr == nil {
			firstErr = fmt.Errorf("curl: %v: %s", err, firstLine(errs[i].String()))
		}
	}
	wall := time.Since(start)
	if firstErr != nil {
		return wall, firstErr
	}
	whole := 0
	for _, o := range outs {
		for _, f := range strings.Fields(o.String()) {
			if v, err := strconv.ParseInt(f, 10, 64); err == nil && v == size {
				whole++
			}
		}
	}
	if whole != n {
		return wall, fmt.Errorf("curl: %d of %d downloads moved all %d bytes", whole, n, size)
	}
	return wall, nil
}

func firstLine(s string) string {
	line, _, _ := strings.Cut(strings.TrimSpace(s), "\n")
	return line
}
