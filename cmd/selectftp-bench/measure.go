package main

import (
	"bytes"
	"context"
	"crypto/rand"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/selectftp/selectftp/internal/loadgen"
)

// figures are the measurements; a zero MB/s or a nil result was not
// measured.
type figures struct {
	limit, ftpGet, ftpPut, ftpConc, sfGet, sfPut, sfConc float64 // MB/s
	upperPlugin, upperInproc                             *loadgen.Result
	idle                                                 map[string]*loadgen.Result // by backend
	sfHWMKB                                              int64                      // selectftpd's peak RSS over the transfers

	// The real programs, process start to exit: selectftp get/put and
	// curl to and from files.
	cliGet, cliPut, curlGetFile, curlPut float64 // MB/s

	hol     map[holKey]*loadgen.Result
	holRate int64 // bytes/s of each paced transfer

	manySF, manyFTP float64 // MB/s, all the downloads' wall time
	manyHWMKB       int64   // the many-downloads selectftpd's peak RSS

	wan      wanFigures
	tls      tlsFigures      // tls.go
	ftpFront ftpFrontFigures // ftpfront.go
}

// makeFile writes size bytes: a random 1 MiB block, repeated.
func makeFile(path string, size int64) error {
	block := make([]byte, 1<<20)
	rand.Read(block)
	f, err := os.Create(path)
	if err != nil {
		return err
	}
	for left := size; left > 0; {
		n, err := f.Write(block[:min(int64(len(block)), left)])
		if err != nil {
			f.Close()
			return err
		}
		left -= int64(n)
	}
	return f.Close()
}

// pick returns the median (the lower middle for an even count) or the
// best of vals.
func pick(vals []float64, how string) float64 {
	if len(vals) == 0 {
		return 0
	}
	s := slices.Clone(vals)
	slices.Sort(s)
	if how == "best" {
		return s[len(s)-1]
	}
	return s[(len(s)-1)/2]
}

// contender is one system in a round of a transfer workload.
type contender struct {
	label string
	run   func(i int) (float64, error) // MB/s of run i
	vals  []float64
}

// rounds runs every contender once per round, cfg.reps rounds, so a
// change in the machine's background load hits them all alike.
//
// One warm-up run of each comes first and is not counted: it fills the page
// cache, and it lets selectftp's get learn the digest of a file it did not
// store itself (a file uploaded through put never needs this).
func (b *bench) rounds(cs ...*contender) error {
	return b.roundsN(b.cfg.reps, true, cs...)
}

// roundsN is rounds with reps rounds, and the warm-up only when warm.
func (b *bench) roundsN(reps int, warm bool, cs ...*contender) error {
	for _, c := range cs {
		if !warm {
			break
		}
		if _, err := c.run(-1); err != nil {
			return fmt.Errorf("%s (warm-up): %w", c.label, err)
		}
	}
	for i := range reps {
		for _, c := range cs {
			v, err := c.run(i)
			if err != nil {
				return fmt.Errorf("%s: %w", c.label, err)
			}
			fmt.Fprintf(b.log, "   %-28s run %d: %8.1f MB/s\n", c.label, i+1, v)
			c.vals = append(c.vals, v)
		}
	}
	return nil
}

func mbps(bytes int64, seconds float64) float64 {
	if seconds <= 0 {
		return 0
	}
	return float64(bytes) / loadgen.MB / seconds
}

// load runs selectftp-load and parses its JSON result.
func (b *bench) load(ctx context.Context, args ...string) (loadgen.Result, error) {
	return b.loadIn(ctx, nil, args...)
}

// loadIn runs selectftp-load after prefix (e.g. ip netns exec NS).
func (b *bench) loadIn(ctx context.Context, prefix []string, args ...string) (loadgen.Result, error) {
	var stdout, stderr bytes.Buffer
	argv := append(append(slices.Clone(prefix), filepath.Join(b.cfg.bin, "selectftp-load")), append(args, "--json")...)
	cmd := exec.CommandContext(ctx, argv[0], argv[1:]...)
	cmd.Stdout, cmd.Stderr = &stdout, &stderr
	runErr := cmd.Run()
	r, err := loadgen.ParseResult(stdout.Bytes())
	if err != nil {
		return r, fmt.Errorf("selectftp-load %s: %v %v: %s", args[0], runErr, err, stderr.String())
	}
	if r.Errors > 0 {
		return r, fmt.Errorf("selectftp-load %s: %d errors, first: %s", args[0], r.Errors, r.FirstError)
	}
	return r, nil
}

// measureTransfers runs the download, upload and concurrent workloads on
// the limit, pure-ftpd + curl and selectftpd, in interleaved rounds, then
// "upper" through its plugin on the same selectftpd.
//
// A single transfer's MB/s uses the time from the request to the end:
// selectftp-load's request-to-status time, and curl's own clock from the
// end of its setup (login, EPSV, data connection) to the end. The
// concurrent runs use the wall time of all the clients. The limit reports
// its best run (it is an upper bound), the others cfg.pick.
func (b *bench) measureTransfers(ctx context.Context) error {
	w, size := b.cfg.only, b.cfg.size
	base := ""
	if !b.cfg.noFTP && (w["download"] || w["upload"] || w["concurrent"]) {
		c, url, err := b.startFTP(ctx)
		if err != nil {
			b.notes = append(b.notes, "pure-ftpd: "+err.Error())
			fmt.Fprintf(b.log, "   pure-ftpd failed: %v\n", err)
		} else {
			defer b.procs.stop(c)
			base = url
		}
	}
	sf, addr, err := b.startSelectftpd(ctx, "selectftpd")
	if err != nil {
		return err
	}
	defer b.procs.stop(sf)
	pid := strconv.Itoa(sf.cmd.Process.Pid)
	sfLoad := func(args ...string) (loadgen.Result, error) {
		r, err := b.load(ctx, append(args, "--addr", addr, "--pid", pid)...)
		b.fig.sfHWMKB = max(b.fig.sfHWMKB, r.HWMKB)
		return r, err
	}
	limit := &contender{label: "Go TCP sendfile → discard", run: func(int) (float64, error) {
		r, err := b.load(ctx, "limit", "--file", b.big)
		return r.MBps, err
	}}
	// with adds the pure-ftpd contender when it runs.
	with := func(ftp *contender, others ...*contender) []*contender {
		if base == "" {
			return others
		}
		return append([]*contender{ftp}, others...)
	}
	if w["download"] {
		ftp := &contender{label: "pure-ftpd download", run: func(int) (float64, error) {
			t, err := runCurl(ctx, base+"big.bin", "", size)
			return mbps(size, t.total-t.pretransfer), err
		}}
		sel := &contender{label: "selectftp download", run: func(int) (float64, error) {
			r, err := sfLoad("get", "--path", "big.bin")
			return r.XferMBps, err
		}}
		out := filepath.Join(b.work, "cli-get.bin")
		cli := &contender{label: "selectftp get (CLI) → file", run: func(int) (float64, error) {
			defer os.Remove(out)
			wall, err := b.timeRun(ctx, nil, b.cliArgs(addr, "get", "big.bin", out)...)
			return mbps(size, wall.Seconds()), checkSize(out, size, err)
		}}
		curlFile := &contender{label: "curl → file", run: func(int) (float64, error) {
			defer os.Remove(out)
			wall, err := b.timeRun(ctx, nil, "curl", "-sS", "-o", out, base+"big.bin")
			return mbps(size, wall.Seconds()), checkSize(out, size, err)
		}}
		if err := b.rounds(append(with(ftp, limit, sel), with(curlFile, cli)...)...); err != nil {
			return err
		}
		b.fig.ftpGet, b.fig.sfGet = pick(ftp.vals, b.cfg.pick), pick(sel.vals, b.cfg.pick)
		b.fig.cliGet, b.fig.curlGetFile = pick(cli.vals, b.cfg.pick), pick(curlFile.vals, b.cfg.pick)
	}
	if w["upload"] {
		var curlWall []float64 // the same curl runs, process start to exit
		ftp := &contender{label: "pure-ftpd upload", run: func(i int) (float64, error) {
			name := fmt.Sprintf("up-%d.bin", i)
			defer os.Remove(filepath.Join(b.ftpRoot, name))
			t0 := time.Now()
			t, err := runCurl(ctx, base+name, b.big, size)
			if i >= 0 {
				curlWall = append(curlWall, mbps(size, time.Since(t0).Seconds()))
			}
			return mbps(size, t.total-t.pretransfer), err
		}}
		cli := &contender{label: "selectftp put (CLI)", run: func(i int) (float64, error) {
			name := fmt.Sprintf("cli-up-%d.bin", i)
			defer os.Remove(filepath.Join(b.sfRoot, name))
			wall, err := b.timeRun(ctx, nil, b.cliArgs(addr, "put", b.big, name)...)
			return mbps(size, wall.Seconds()), checkSize(filepath.Join(b.sfRoot, name), size, err)
		}}
		sel := &contender{label: "selectftp upload", run: func(i int) (float64, error) {
			name := fmt.Sprintf("up-%d.bin", i)
			defer os.Remove(filepath.Join(b.sfRoot, name))
			r, err := sfLoad("put", "--file", b.big, "--path", name)
			return r.XferMBps, err
		}}
		cs := with(ftp, sel, cli)
		if !w["download"] {
			cs = with(ftp, limit, sel, cli)
		}
		if err := b.rounds(cs...); err != nil {
			return err
		}
		b.fig.ftpPut, b.fig.sfPut = pick(ftp.vals, b.cfg.pick), pick(sel.vals, b.cfg.pick)
		b.fig.cliPut, b.fig.curlPut = pick(cli.vals, b.cfg.pick), pick(curlWall, b.cfg.pick)
	}
	b.fig.limit = pick(limit.vals, "best")
	if w["concurrent"] {
		total := int64(b.cfg.conc) * b.cfg.concSize
		ftp := &contender{label: fmt.Sprintf("pure-ftpd %d curl at once", b.cfg.conc), run: func(int) (float64, error) {
			wall, err := b.curlMany(ctx, base+"conc.bin")
			return mbps(total, wall.Seconds()), err
		}}
		sel := &contender{label: fmt.Sprintf("selectftp %d conns at once", b.cfg.conc), run: func(int) (float64, error) {
			r, err := sfLoad("get", "--path", "conc.bin", "--conns", strconv.Itoa(b.cfg.conc))
			return r.MBps, err
		}}
		if err := b.rounds(with(ftp, sel)...); err != nil {
			return err
		}
		b.fig.ftpConc, b.fig.sfConc = pick(ftp.vals, b.cfg.pick), pick(sel.vals, b.cfg.pick)
	}
	if w["upper"] {
		r, err := b.upper(ctx, addr)
		if err != nil {
			return err
		}
		b.fig.upperPlugin = &r
	}
	return nil
}

// cliArgs is the command line of the real CLI: selectftp --addr A -q
// WORDS...
func (b *bench) cliArgs(addr string, words ...string) []string {
	return append([]string{filepath.Join(b.cfg.bin, "selectftp"), "--addr", addr, "-q"}, words...)
}

// timeRun runs argv (after prefix, e.g. ip netns exec NS) to its end and
// returns its wall time, process start to exit.
func (b *bench) timeRun(ctx context.Context, prefix []string, argv ...string) (time.Duration, error) {
	all := append(slices.Clone(prefix), argv...)
	var stderr bytes.Buffer
	cmd := exec.CommandContext(ctx, all[0], all[1:]...)
	cmd.Stderr = &stderr
	t0 := time.Now()
	err := cmd.Run()
	wall := time.Since(t0)
	if err != nil {
		return wall, fmt.Errorf("%s: %v: %s", filepath.Base(argv[0]), err, firstLine(stderr.String()))
	}
	return wall, nil
}

// checkSize returns err, or an error when path does not hold size bytes.
func checkSize(path string, size int64, err error) error {
	if err != nil {
		return err
	}
	fi, err := os.Stat(path)
	if err != nil {
		return err
	}
	if fi.Size() != size {
		return fmt.Errorf("%s has %d bytes, want %d", path, fi.Size(), size)
	}
	return nil
}

// curlMany starts cfg.conc curl downloads of url at once and returns the
// wall time until the last one exits.
func (b *bench) curlMany(ctx context.Context, url string) (time.Duration, error) {
	cmds := make([]*exec.Cmd, b.cfg.conc)
	outs := make([]bytes.Buffer, b.cfg.conc)
	start := time.Now()
	for i := range cmds {
		cmds[i] = curl(ctx, url, "")
		cmds[i].Stdout = &outs[i]
		if err := cmds[i].Start(); err != nil {
			return 0, err
		}
	}
	var firstErr error
	for i, c := range cmds {
		err := c.Wait()
		if err == nil {
			var t curlTimes
			if t, err = parseCurl(outs[i].String()); err == nil && t.bytes != b.cfg.concSize {
				err = fmt.Errorf("curl %d moved %d bytes, want %d", i, t.bytes, b.cfg.concSize)
			}
		}
		if err != nil && firstErr == nil {
			firstErr = err
		}
	}
	return time.Since(start), firstErr
}

func (b *bench) upper(ctx context.Context, addr string) (loadgen.Result, error) {
	r, err := b.load(ctx, "cmd", "--addr", addr, "--verb", "upper", "--args", "hello world",
		"--conns", strconv.Itoa(b.cfg.cmdConns), "--duration", b.cfg.duration.String())
	if err != nil && r.Requests > 0 {
		// A few failed requests do not void the rate; say so beside it.
		b.notes = append(b.notes, fmt.Sprintf("upper on %s: %d of %d requests failed, first: %s",
			addr, r.Errors, r.Requests+r.Errors, r.FirstError))
		err = nil
	}
	if err == nil {
		fmt.Fprintf(b.log, "   %s\n", r.Human())
	}
	return r, err
}

func (b *bench) measureInproc(ctx context.Context) error {
	c, addr, err := b.startSelectftpd(ctx, "selectftpd-builtin", "--builtin", "upper")
	if err != nil {
		return err
	}
	defer b.procs.stop(c)
	r, err := b.upper(ctx, addr)
	if err != nil {
		return err
	}
	b.fig.upperInproc = &r
	return nil
}

func (b *bench) measureIdle(ctx context.Context, backend string) error {
	c, addr, err := b.startSelectftpd(ctx, "selectftpd-"+backend, "--backend", backend,
		"--max-conns", strconv.Itoa(b.cfg.idle+1000), "--idle-timeout", "1h")
	if err != nil {
		return err
	}
	defer b.procs.stop(c)
	r, err := b.load(ctx, "idle", "--addr", addr, "--conns", strconv.Itoa(b.cfg.idle),
		"--pid", strconv.Itoa(c.cmd.Process.Pid), "--hold", b.cfg.hold.String(), "--fresh", strconv.Itoa(b.cfg.fresh))
	if err != nil {
		return err
	}
	fmt.Fprintf(b.log, "   %s\n", r.Human())
	if b.fig.idle == nil {
		b.fig.idle = map[string]*loadgen.Result{}
	}
	b.fig.idle[backend] = &r
	return nil
}

// toolVersion returns the first line a program prints about itself.
func toolVersion(argv ...string) string {
	prog, err := lookTool(argv[0])
	if err != nil {
		return argv[0] + " (not found)"
	}
	out, _ := exec.Command(prog, argv[1:]...).CombinedOutput()
	line, _, _ := strings.Cut(string(out), "\n")
	return strings.TrimSpace(line)
}
