// Command selectftp-bench is the benchmark suite behind `make bench`. In one
// run, on loopback, with every file and server root on tmpfs (/dev/shm) so
// the disk does not dominate, it measures:
//
//  1. the limit: a plain Go sender (io.Copy from the file into a
//     *net.TCPConn: sendfile) and receiver (large reads, discarded);
//  2. a real FTP server: pure-ftpd (installed with apt-get when missing),
//     driven by curl;
//  3. selectftpd with its plugins, driven by selectftp-load;
//
// on a 1 GiB download and upload (with the load generator and with the real
// CLI, selectftp get/put, beside curl), 64 concurrent 16 MiB downloads, the
// "upper" command on 64 connections (through its plugin and built in with
// --builtin upper), 10,000 idle connections on each backend, the latency of
// a small command while 16 transfers run (hol), 1,000 concurrent verified
// 1 MiB downloads (many), and 256 MiB get/put over an emulated WAN between
// two network namespaces (wan), and a 1 GiB get over TLS beside the same
// in clear and beside curl over FTPS from pure-ftpd (tls), and a 1 GiB get
// and put with curl against the FTP front and pure-ftpd (ftp). It prints one markdown table of figures,
// ratios and PASS/MISS against the targets, then stops every server and
// removes its files and namespaces, on failure and Ctrl-C too.
//
//	selectftp-bench [--quick] [--only download,upload,concurrent,upper,idle,hol,many,wan,tls,ftp] [--no-ftp] ...
//
// Transfers are repeated --reps times (3) and the median is reported
// (--pick best for the best).
package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"os/signal"
	"path/filepath"
	"strings"
	"syscall"
	"time"

	"github.com/selectftp/selectftp/internal/loadgen"
	"github.com/selectftp/selectftp/internal/rlimit"
)

// config is the command line.
type config struct {
	bin, plugins, dir, out string
	size, concSize         int64
	conc, cmdConns, idle   int
	fresh, reps            int
	duration, hold         time.Duration
	pick                   string
	only                   map[string]bool
	noFTP                  bool

	holSize                  int64 // bytes of each hol transfer
	holTransfers             int
	holWindow, holInterval   time.Duration
	many                     int // concurrent downloads of manySize
	manySize                 int64
	wanSize                  int64
	wanConns, wanReps        int
	wanNetem, wanClientNetem string // netem arguments on the server's and the client's egress
	wanRmem, wanWmem         string // tcp_rmem, tcp_wmem in both namespaces
}

// workloads are the names --only takes.
var workloads = []string{"download", "upload", "concurrent", "upper", "idle", "hol", "many", "wan", "tls", "ftp"}

func parseFlags(args []string, stderr io.Writer) (config, error) {
	var c config
	fs := flag.NewFlagSet("selectftp-bench", flag.ContinueOnError)
	fs.SetOutput(stderr)
	fs.StringVar(&c.bin, "bin", "./bin", "`folder` of selectftpd and selectftp-load")
	fs.StringVar(&c.plugins, "plugins", "./plugins.d", "plugins `folder`")
	fs.StringVar(&c.dir, "dir", "/dev/shm", "tmpfs `folder` for files and server roots")
	fs.StringVar(&c.out, "out", "", "also write the table to this `file`")
	size := fs.String("size", "1GiB", "`bytes` of the single download and upload")
	concSize := fs.String("conc-size", "16MiB", "`bytes` of each concurrent download")
	fs.IntVar(&c.conc, "conc", 64, "concurrent downloads")
	fs.IntVar(&c.cmdConns, "cmd-conns", 64, "connections running upper")
	fs.DurationVar(&c.duration, "duration", 5*time.Second, "how long upper runs")
	fs.IntVar(&c.idle, "idle", 10000, "idle connections")
	fs.DurationVar(&c.hold, "hold", 5*time.Second, "how long the idle connections are held")
	fs.IntVar(&c.fresh, "fresh", 10, "new clients timed while the idle connections are held")
	fs.IntVar(&c.reps, "reps", 3, "runs of each transfer")
	fs.StringVar(&c.pick, "pick", "median", "which run of each transfer to report: median or best")
	only := fs.String("only", strings.Join(workloads, ","), "comma-separated workloads to run")
	fs.BoolVar(&c.noFTP, "no-ftp", false, "skip pure-ftpd and curl")
	holSize := fs.String("hol-size", "64MiB", "`bytes` of each transfer running beside the small command (hol)")
	fs.IntVar(&c.holTransfers, "hol-transfers", 16, "transfers running beside the small command (hol)")
	fs.DurationVar(&c.holWindow, "hol-window", 5*time.Second, "how long the small command is timed (hol)")
	fs.DurationVar(&c.holInterval, "hol-interval", 3*time.Millisecond, "from one small command to the next (hol)")
	fs.IntVar(&c.many, "many", 1000, "concurrent downloads (many)")
	manySize := fs.String("many-size", "1MiB", "`bytes` of each of them (many)")
	wanSize := fs.String("wan-size", "256MiB", "`bytes` of the WAN get and put (wan)")
	fs.IntVar(&c.wanConns, "wan-conns", 4, "parallel connections compared with one (wan)")
	fs.IntVar(&c.wanReps, "wan-reps", 1, "runs of each WAN transfer (wan)")
	fs.StringVar(&c.wanNetem, "wan-netem", "delay 50ms loss 0.1%", "netem `arguments` on the server's egress (wan)")
	fs.StringVar(&c.wanClientNetem, "wan-client-netem", "loss 0.1%", "netem `arguments` on the client's egress, \"\" for none (wan)")
	fs.StringVar(&c.wanRmem, "wan-tcp-rmem", "4096 131072 67108864", "net.ipv4.tcp_rmem in both namespaces (wan)")
	fs.StringVar(&c.wanWmem, "wan-tcp-wmem", "4096 16384 67108864", "net.ipv4.tcp_wmem in both namespaces (wan)")
	quick := fs.Bool("quick", false, "try it out: 64 MiB transfers, 64 × 1 MiB, 1,000 idle conns, 2 s runs, 200 × 1 MiB, 16 MiB over the WAN")
	if err := fs.Parse(args); err != nil {
		return c, err
	}
	if fs.NArg() > 0 {
		return c, fmt.Errorf("unexpected argument %q", fs.Arg(0))
	}
	if *quick { // only where the flag was not given
		set := map[string]bool{}
		fs.Visit(func(f *flag.Flag) { set[f.Name] = true })
		for name, v := range map[string]string{"size": "64MiB", "conc-size": "1MiB", "idle": "1000",
			"duration": "2s", "hold": "2s", "hol-size": "16MiB", "hol-window": "1s", "many": "200",
			"wan-size": "16MiB"} {
			if !set[name] {
				fs.Set(name, v)
			}
		}
	}
	var err error
	if c.size, err = loadgen.ParseSize(*size); err != nil {
		return c, err
	}
	if c.concSize, err = loadgen.ParseSize(*concSize); err != nil {
		return c, err
	}
	if c.holSize, err = loadgen.ParseSize(*holSize); err != nil {
		return c, err
	}
	if c.manySize, err = loadgen.ParseSize(*manySize); err != nil {
		return c, err
	}
	if c.wanSize, err = loadgen.ParseSize(*wanSize); err != nil {
		return c, err
	}
	if c.pick != "median" && c.pick != "best" {
		return c, fmt.Errorf("--pick must be median or best, not %q", c.pick)
	}
	if c.reps < 1 || c.conc < 1 || c.cmdConns < 1 || c.idle < 1 || c.holTransfers < 1 || c.many < 1 ||
		c.wanConns < 1 || c.wanReps < 1 {
		return c, errors.New("--reps, --conc, --cmd-conns, --idle, --hol-transfers, --many, --wan-conns and --wan-reps must be at least 1")
	}
	if c.holInterval <= 0 || c.holWindow <= 0 {
		return c, errors.New("--hol-interval and --hol-window must be positive")
	}
	c.only = map[string]bool{}
	for _, w := range strings.Split(*only, ",") {
		if w = strings.TrimSpace(w); w == "" {
			continue
		}
		if !strings.Contains(","+strings.Join(workloads, ",")+",", ","+w+",") {
			return c, fmt.Errorf("--only: unknown workload %q (have %s)", w, strings.Join(workloads, ", "))
		}
		c.only[w] = true
	}
	return c, nil
}

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), syscall.SIGINT, syscall.SIGTERM)
	code := run(ctx, os.Args[1:], os.Stdout, os.Stderr)
	stop()
	os.Exit(code)
}

func run(ctx context.Context, args []string, stdout, stderr io.Writer) int {
	cfg, err := parseFlags(args, stderr)
	if errors.Is(err, flag.ErrHelp) {
		return 0
	}
	if err != nil {
		fmt.Fprintln(stderr, "selectftp-bench:", err)
		return 2
	}
	// Children inherit the limit: selectftpd needs 10,000+ descriptors.
	if _, err := rlimit.RaiseFileLimit(); err != nil {
		fmt.Fprintln(stderr, "selectftp-bench: raise the open-file limit:", err)
	}
	b, err := newBench(cfg, stderr)
	if err != nil {
		fmt.Fprintln(stderr, "selectftp-bench:", err)
		return 1
	}
	defer b.cleanup()
	if err := b.prepare(); err != nil {
		fmt.Fprintln(stderr, "selectftp-bench:", err)
		return 1
	}
	b.runAll(ctx)
	if ctx.Err() != nil {
		fmt.Fprintln(stderr, "selectftp-bench: interrupted")
		return 130
	}
	var table strings.Builder
	b.render(&table)
	fmt.Fprint(stdout, table.String())
	if cfg.out != "" {
		if err := os.WriteFile(cfg.out, []byte(table.String()), 0o644); err != nil {
			fmt.Fprintln(stderr, "selectftp-bench:", err)
			return 1
		}
	}
	return 0
}

// bench is one run: its folders, servers and figures.
type bench struct {
	cfg                   config
	log                   io.Writer
	procs                 *procs
	work, sfRoot, ftpRoot string
	big, conc             string // the files, under work/files
	fig                   figures
	notes                 []string
	started               time.Time
	wan                   *wanNet // the WAN namespaces while they exist
}

// file returns the path of a named file of the bench, under work/files.
func (b *bench) file(name string) string { return filepath.Join(b.work, "files", name) }

func newBench(cfg config, log io.Writer) (*bench, error) {
	for _, p := range []string{"selectftpd", "selectftp", "selectftp-load"} {
		if !isExec(filepath.Join(cfg.bin, p)) {
			return nil, fmt.Errorf("no %s in %s (run make build)", p, cfg.bin)
		}
	}
	work, err := os.MkdirTemp(cfg.dir, "selectftp-bench-")
	if err != nil {
		return nil, err
	}
	b := &bench{cfg: cfg, log: log, work: work, started: time.Now(),
		sfRoot: filepath.Join(work, "selectftp"), ftpRoot: filepath.Join(work, "ftp"),
		big: filepath.Join(work, "files", "big.bin"), conc: filepath.Join(work, "files", "conc.bin")}
	b.procs = &procs{logDir: filepath.Join(work, "logs")}
	return b, nil
}

// cleanup stops every server, removes the WAN namespaces and the work
// folder.
func (b *bench) cleanup() {
	b.procs.stopAll()
	if b.wan != nil {
		b.wan.teardown(b.log)
		b.wan = nil
	}
	os.RemoveAll(b.work)
}

// prepare makes the folders and the two files, linked into both roots.
func (b *bench) prepare() error {
	for _, d := range []string{b.sfRoot, b.ftpRoot, b.procs.logDir, filepath.Dir(b.big)} {
		if err := os.MkdirAll(d, 0o755); err != nil {
			return err
		}
	}
	if err := os.Chown(b.ftpRoot, ftpUID, ftpUID); err != nil {
		fmt.Fprintln(b.log, "bench: chown the FTP root:", err)
	}
	type file struct {
		path string
		size int64
	}
	files := []file{{b.big, b.cfg.size}, {b.conc, b.cfg.concSize}}
	w := b.cfg.only
	if w["hol"] {
		files = append(files, file{b.file(holFile), b.cfg.holSize})
	}
	if w["many"] {
		files = append(files, file{b.file(manyFile), b.cfg.manySize})
	}
	if w["wan"] {
		files = append(files, file{b.file(wanFile), b.cfg.wanSize},
			file{b.file(wanPartFile), b.cfg.wanSize / int64(b.cfg.wanConns)})
	}
	for _, f := range files {
		if err := makeFile(f.path, f.size); err != nil {
			return err
		}
		for _, root := range []string{b.sfRoot, b.ftpRoot} {
			if err := os.Link(f.path, filepath.Join(root, filepath.Base(f.path))); err != nil {
				return err
			}
		}
	}
	return nil
}

// runAll runs the selected measurements; a failing one becomes a note.
func (b *bench) runAll(ctx context.Context) {
	w := b.cfg.only
	transfers := w["download"] || w["upload"] || w["concurrent"]
	phase := func(name string, f func(context.Context) error) {
		if ctx.Err() != nil {
			return
		}
		fmt.Fprintf(b.log, "== %s\n", name)
		if err := f(ctx); err != nil && ctx.Err() == nil {
			fmt.Fprintf(b.log, "   failed: %v\n", err)
			b.notes = append(b.notes, fmt.Sprintf("%s failed: %v", name, err))
		}
	}
	if transfers || w["upper"] {
		phase("transfers: Go TCP limit, pure-ftpd + curl, selectftpd with plugins", b.measureTransfers)
	}
	if w["upper"] {
		phase("selectftpd --builtin upper", b.measureInproc)
	}
	if w["idle"] {
		phase("idle connections, reactor", func(ctx context.Context) error { return b.measureIdle(ctx, "reactor") })
		phase("idle connections, goroutine", func(ctx context.Context) error { return b.measureIdle(ctx, "goroutine") })
	}
	if w["hol"] {
		phase("small command beside 16 transfers (head of line)", b.measureHOL)
	}
	if w["many"] {
		phase(fmt.Sprintf("%d concurrent downloads", b.cfg.many), b.measureMany)
	}
	if w["wan"] {
		phase("WAN profile between two network namespaces", b.measureWAN)
	}
	if w["tls"] {
		phase("get over TLS: in clear, TLS, pure-ftpd + curl over FTPS", b.measureTLS)
	}
	if w["ftp"] {
		phase("curl against the FTP front and pure-ftpd", b.measureFTPFront)
	}
}
