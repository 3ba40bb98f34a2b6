package main

import (
	"bufio"
	"fmt"
	"io"
	"os"
	"runtime"
	"strings"
	"time"
	"unicode/utf8"

	"github.com/selectftp/selectftp/internal/loadgen"
)

// row is one line of the result table.
type row struct{ name, value, ref, ratio, target, verdict string }

var header = row{"measurement", "selectftp", "reference", "ratio", "target", "result"}

// judge returns PASS or MISS for a ratio against a minimum, or "n/a" when
// a figure is missing.
func judge(ratio float64, ok bool, pass bool) string {
	switch {
	case !ok:
		return "n/a"
	case pass:
		return "PASS"
	}
	return "MISS"
}

func fmtMBps(v float64) string {
	if v <= 0 {
		return "—"
	}
	return fmt.Sprintf("%.0f MB/s", v)
}

func fmtRatio(r float64, ok bool) string {
	if !ok {
		return "—"
	}
	return fmt.Sprintf("%.2f×", r)
}

// throughputRow compares two MB/s figures; goal 0 means no target.
func throughputRow(name string, v, ref float64, refName string, goal float64) row {
	ok := v > 0 && ref > 0
	ratio := 0.0
	if ok {
		ratio = v / ref
	}
	r := row{name, fmtMBps(v), refName + ": " + fmtMBps(ref), fmtRatio(ratio, ok), "—", "—"}
	if goal > 0 {
		r.target = fmt.Sprintf("≥ %.1f×", goal)
		r.verdict = judge(ratio, ok, ratio >= goal)
	}
	return r
}

func fmtCmd(r *loadgen.Result) string {
	if r == nil {
		return "—"
	}
	return fmt.Sprintf("%.0f req/s, p50 %.2f ms, p99 %.2f ms", r.ReqPerSec, r.P50ms, r.P99ms)
}

func fmtPerConn(b float64) string {
	if b < 1024 {
		return fmt.Sprintf("%.0f B/conn", b)
	}
	return fmt.Sprintf("%.1f KiB/conn", b/1024)
}

// humanSize writes a byte count the way the flags take it.
func humanSize(n int64) string {
	for _, u := range []struct {
		name string
		size int64
	}{{"GiB", 1 << 30}, {"MiB", 1 << 20}, {"KiB", 1 << 10}} {
		if n >= u.size && n%u.size == 0 {
			return fmt.Sprintf("%d %s", n/u.size, u.name)
		}
	}
	return fmt.Sprintf("%d B", n)
}

// rows turns the figures into the table, for the workloads that ran.
func (b *bench) rows() []row {
	f, w, c := b.fig, b.cfg.only, b.cfg
	size := humanSize(c.size)
	var rows []row
	if w["download"] {
		rows = append(rows,
			throughputRow(size+" get: `selectftp get` vs `curl`, to a file", f.cliGet, f.curlGetFile, "pure-ftpd + curl -o file", 1.0),
			throughputRow(size+" download", f.sfGet, f.ftpGet, "pure-ftpd + curl", 1.0),
			throughputRow(size+" download vs the limit", f.sfGet, f.limit, "Go TCP", 0.9))
	}
	if w["upload"] {
		rows = append(rows,
			throughputRow(size+" put: `selectftp put` vs `curl -T`", f.cliPut, f.curlPut, "pure-ftpd + curl -T", 1.0),
			throughputRow(size+" upload", f.sfPut, f.ftpPut, "pure-ftpd + curl", 1.0),
			throughputRow(size+" upload vs the limit", f.sfPut, f.limit, "Go TCP", 0.9))
	}
	if w["concurrent"] {
		rows = append(rows, throughputRow(fmt.Sprintf("%d × %s downloads at once", c.conc, humanSize(c.concSize)),
			f.sfConc, f.ftpConc, fmt.Sprintf("pure-ftpd + %d curl", c.conc), 1.0))
	}
	if w["upper"] {
		p, in := f.upperPlugin, f.upperInproc
		ok := p != nil && in != nil && in.ReqPerSec > 0
		ratio := 0.0
		if ok {
			ratio = p.ReqPerSec / in.ReqPerSec
		}
		rows = append(rows, row{fmt.Sprintf("upper, %d conns: plugin vs in-process", c.cmdConns),
			fmtCmd(p), "in-process: " + fmtCmd(in), fmtRatio(ratio, ok), "≥ 0.5×", judge(ratio, ok, ratio >= 0.5)})
	}
	if w["idle"] {
		rows = append(rows, b.idleRows()...)
	}
	if w["hol"] {
		rows = append(rows, b.holRows()...)
	}
	if w["many"] {
		r := throughputRow(fmt.Sprintf("%d concurrent %s downloads, verified", c.many, humanSize(c.manySize)),
			f.manySF, f.manyFTP, curlManyName(c.many), 1.0)
		if f.manyHWMKB > 0 {
			r.value += fmt.Sprintf(", selectftpd peak RSS %.1f MiB", float64(f.manyHWMKB)/1024)
		}
		rows = append(rows, r)
	}
	if w["wan"] {
		rows = append(rows, b.wanRows()...)
	}
	if w["tls"] {
		rows = append(rows, b.tlsRows()...)
	}
	if w["ftp"] {
		rows = append(rows, b.ftpFrontRows()...)
	}
	return rows
}

// curlManyName says how the reference ran its concurrent downloads.
func curlManyName(n int) string {
	counts := curlProcs(n)
	if len(counts) == 1 {
		return fmt.Sprintf("pure-ftpd + curl -Z ×%d", counts[0])
	}
	return fmt.Sprintf("pure-ftpd + %d curl -Z ×%d", len(counts), counts[0])
}

func fmtHOL(r *loadgen.Result) string {
	if r == nil {
		return "—"
	}
	return fmt.Sprintf("p50 %.2f, p99 %.2f, max %.1f ms (%d; %.0f MB/s moved)", r.P50ms, r.P99ms, r.MaxMs, r.Requests, r.MBps)
}

// holRows are the head-of-line rows, downloads then uploads: paced on
// the reactor, then unpaced on the reactor against the goroutine backend.
func (b *bench) holRows() []row {
	var rows []row
	n := b.cfg.holTransfers
	for _, d := range []struct{ dir, name string }{{"get", "downloads"}, {"put", "uploads"}} {
		p := b.fig.hol[holKey{"reactor", d.dir, true}]
		rows = append(rows, row{fmt.Sprintf("small command during %d paced %s (%.0f MB/s in all)", n, d.name,
			float64(b.fig.holRate)*float64(n)/loadgen.MB), fmtHOL(p), "—", "—", "p99 ≤ 5 ms",
			judge(0, p != nil, p != nil && p.P99ms <= 5)})
	}
	for _, d := range []struct{ dir, name string }{{"get", "downloads"}, {"put", "uploads"}} {
		re, gr := b.fig.hol[holKey{"reactor", d.dir, false}], b.fig.hol[holKey{"goroutine", d.dir, false}]
		ok := re != nil && gr != nil && gr.P99ms > 0
		ratio := 0.0
		if ok {
			ratio = re.P99ms / gr.P99ms
		}
		ref := "goroutine: —"
		if gr != nil {
			ref = "goroutine: " + fmtHOL(gr)
		}
		rows = append(rows, row{fmt.Sprintf("small command during %d unlimited %s, reactor", n, d.name),
			fmtHOL(re), ref, fmtRatio(ratio, ok), "p99 ≤ 20 ms and < goroutine's",
			judge(0, ok, ok && re.P99ms <= 20 && re.P99ms < gr.P99ms)})
	}
	return rows
}

// wanRows are the WAN profile's rows, or rows that say it was skipped.
func (b *bench) wanRows() []row {
	f, c := b.fig.wan, b.cfg
	size := humanSize(c.wanSize)
	names := []string{
		"WAN " + size + " get: `selectftp get` vs `curl`",
		"WAN " + size + " put: `selectftp put` vs `curl -T`",
		fmt.Sprintf("WAN %s get, load generator: %d conns × %s vs 1 conn", size, c.wanConns, humanSize(c.wanSize/int64(c.wanConns))),
	}
	if f.skipped != "" {
		why := f.skipped
		if len(why) > 60 {
			why = why[:57] + "..."
		}
		var rows []row
		for _, n := range names {
			rows = append(rows, row{n, "SKIPPED: " + why, "—", "—", "—", "SKIP"})
		}
		return rows
	}
	rows := []row{
		throughputRow(names[0], f.cliGet, f.curlGet, "pure-ftpd + curl", 1.0),
		throughputRow(names[1], f.cliPut, f.curlPut, "pure-ftpd + curl", 0),
		throughputRow(names[2], f.par, f.one, "1 conn", 0),
	}
	rows[2].ratio = strings.Replace(rows[2].ratio, "×", "× speed-up", 1)
	return rows
}

func (b *bench) idleRows() []row {
	re, gr := b.fig.idle["reactor"], b.fig.idle["goroutine"]
	n := fmt.Sprintf("%d idle conns", b.cfg.idle)
	var rows []row
	if re != nil {
		rows = append(rows, row{n + ": RSS, reactor", fmtPerConn(re.RSSPerConnB),
			fmt.Sprintf("RSS %.1f → %.1f MiB", float64(re.RSSBeforeKB)/1024, float64(re.RSSAfterKB)/1024),
			"—", "≤ 1 KiB/conn", judge(0, true, re.RSSPerConnB <= 1024)})
	} else {
		rows = append(rows, row{n + ": RSS, reactor", "—", "—", "—", "≤ 1 KiB/conn", "n/a"})
	}
	ok := re != nil && gr != nil && gr.RSSPerConnB > 0
	ratio := 0.0
	ref := "—"
	if gr != nil {
		ref = "goroutine: " + fmtPerConn(gr.RSSPerConnB)
	}
	if ok {
		ratio = max(re.RSSPerConnB, 0) / gr.RSSPerConnB
	}
	rows = append(rows, row{n + ": RSS, reactor vs goroutine", valueOr(re, fmtPerConn), ref,
		fmtRatio(ratio, ok), "≤ 0.3×", judge(ratio, ok, ratio <= 0.3)})
	fresh := func(r *loadgen.Result) string {
		return fmt.Sprintf("max %.1f ms (p50 %.1f)", r.FreshMaxMs, r.FreshP50ms)
	}
	ref = "—"
	if gr != nil {
		ref = "goroutine: " + fresh(gr)
	}
	rows = append(rows, row{n + ": new client connect+hello+upper, reactor",
		valueOr(re, func(float64) string { return fresh(re) }), ref, "—", "≤ 100 ms",
		judge(0, re != nil, re != nil && re.FreshMaxMs <= 100)})
	return rows
}

// valueOr formats r's per-connection RSS with f, or "—" without r.
func valueOr(r *loadgen.Result, f func(float64) string) string {
	if r == nil {
		return "—"
	}
	return f(r.RSSPerConnB)
}

// renderTable writes rows as an aligned markdown table.
func renderTable(w io.Writer, rows []row) {
	all := append([]row{header}, rows...)
	cells := func(r row) []string { return []string{r.name, r.value, r.ref, r.ratio, r.target, r.verdict} }
	width := make([]int, 6)
	for _, r := range all {
		for i, c := range cells(r) {
			width[i] = max(width[i], utf8.RuneCountInString(c))
		}
	}
	line := func(cs []string) {
		for i, c := range cs {
			fmt.Fprintf(w, "| %s%s ", c, strings.Repeat(" ", width[i]-utf8.RuneCountInString(c)))
		}
		fmt.Fprintln(w, "|")
	}
	line(cells(header))
	sep := make([]string, 6)
	for i := range sep {
		sep[i] = strings.Repeat("-", width[i])
	}
	line(sep)
	for _, r := range rows {
		line(cells(r))
	}
}

// render writes the whole report: machine, method, table, notes.
func (b *bench) render(w io.Writer) {
	c := b.cfg
	fmt.Fprintf(w, "## selectftp benchmark, %s\n\n", b.started.Format("2006-01-02 15:04 MST"))
	fmt.Fprintf(w, "- machine: %s, %d cores, Linux %s, %s\n", cpuModel(), runtime.NumCPU(), kernel(), runtime.Version())
	if !c.noFTP && (c.only["download"] || c.only["upload"] || c.only["concurrent"] || c.only["tls"] || c.only["ftp"]) {
		fmt.Fprintf(w, "- reference: %s; %s\n", toolVersion("pure-ftpd", "--help"), toolVersion("curl", "--version"))
	}
	fmt.Fprintf(w, "- loopback; files and server roots on tmpfs (%s); MB/s = 10^6 bytes/s; the systems run in turn, %d rounds; the %s run reported (the limit: its best)\n", c.dir, c.reps, c.pick)
	fmt.Fprintf(w, "- single transfers: time from request to final status (curl: time_total − time_pretransfer, i.e. after login and the data connection); concurrent: wall time of all clients, connects included\n")
	fmt.Fprintf(w, "- upper: %d connections for %v; idle: RSS (VmRSS) after opening minus before, over the connections; %d new clients timed while held\n", c.cmdConns, c.duration, c.fresh)
	if c.only["download"] || c.only["upload"] {
		fmt.Fprintf(w, "- `selectftp get/put` and curl rows: the real programs, wall time from process start to exit (login and digest checks included), files on tmpfs\n")
	}
	if c.only["hol"] {
		fmt.Fprintf(w, "- small command: `upper x` on its own open connection, one after another every %v for %v, while %d transfers of %s repeat (downloads and uploads apart); paced: each transfer at %.1f MB/s, together half the Go TCP limit; p50/p99/max over the commands, (count; MB/s the transfers moved meanwhile)\n",
			c.holInterval, c.holWindow, c.holTransfers, humanSize(c.holSize), float64(b.fig.holRate)/loadgen.MB)
	}
	if c.only["many"] {
		fmt.Fprintf(w, "- %d concurrent downloads: one load generator, every download verified (digest checked); the reference %s (curl caps --parallel-max at 300), byte counts checked; wall time of all, connects and logins included\n",
			c.many, curlManyName(c.many))
	}
	if c.only["wan"] {
		b.renderWANHeader(w)
	}
	if c.only["tls"] {
		fmt.Fprint(w, tlsNote)
	}
	if c.only["ftp"] {
		fmt.Fprint(w, ftpFrontNote)
	}
	fmt.Fprintln(w)
	renderTable(w, b.rows())
	if b.fig.sfHWMKB > 0 {
		fmt.Fprintf(w, "\nselectftpd peak RSS over the transfers: %.1f MiB.\n", float64(b.fig.sfHWMKB)/1024)
	}
	if len(b.notes) > 0 {
		fmt.Fprintln(w, "\nNotes:")
		for _, n := range b.notes {
			fmt.Fprintf(w, "- %s\n", n)
		}
	}
	fmt.Fprintf(w, "\n(run took %v)\n", time.Since(b.started).Round(time.Second))
}

// renderWANHeader says how the WAN profile was made, or that it was not.
func (b *bench) renderWANHeader(w io.Writer) {
	c, f := b.cfg, b.fig.wan
	if f.skipped != "" {
		fmt.Fprintf(w, "- WAN profile: **SKIPPED**: %s\n", f.skipped)
		return
	}
	rtt := fmt.Sprintf("%.1f ms (ping)", f.rttMs)
	if f.rttMs == 0 {
		rtt = "not measured: " + f.rttNote
	}
	client := "nothing"
	if strings.TrimSpace(c.wanClientNetem) != "" {
		client = "`" + c.wanClientNetem + "`"
	}
	fmt.Fprintf(w, "- WAN profile: server and client in two network namespaces (%s ↔ %s), %s; server egress `%s`, client egress %s (netem limit %d packets); RTT %s; TCP congestion control %s; tcp_rmem \"%s\", tcp_wmem \"%s\" in both namespaces (64 MiB max, the usual tuning for long fat paths: a 50 ms path fills it only past 1.3 GB/s); real programs, wall time, %d run(s) each, no warm-up; the load generator's rows: wall time with connects\n",
		wanServerIP, wanClientIP, f.emulator, c.wanNetem, client, netemLimit, rtt, f.cc, c.wanRmem, c.wanWmem, c.wanReps)
}

func cpuModel() string {
	f, err := os.Open("/proc/cpuinfo")
	if err != nil {
		return runtime.GOARCH
	}
	defer f.Close()
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		if k, v, ok := strings.Cut(sc.Text(), ":"); ok && strings.TrimSpace(k) == "model name" {
			return strings.TrimSpace(v)
		}
	}
	return runtime.GOARCH
}

func kernel() string {
	b, err := os.ReadFile("/proc/sys/kernel/osrelease")
	if err != nil {
		return "?"
	}
	return strings.TrimSpace(string(b))
}
