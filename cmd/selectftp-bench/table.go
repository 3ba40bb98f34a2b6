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
			throughputRow(size+" download", f.sfGet, f.ftpGet, "pure-ftpd + curl", 1.0),
			throughputRow(size+" download vs the limit", f.sfGet, f.limit, "Go TCP", 0.7))
	}
	if w["upload"] {
		rows = append(rows,
			throughputRow(size+" upload", f.sfPut, f.ftpPut, "pure-ftpd + curl", 1.0),
			throughputRow(size+" upload vs the limit", f.sfPut, f.limit, "Go TCP", 0))
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
	if !c.noFTP && (c.only["download"] || c.only["upload"] || c.only["concurrent"]) {
		fmt.Fprintf(w, "- reference: %s; %s\n", toolVersion("pure-ftpd", "--help"), toolVersion("curl", "--version"))
	}
	fmt.Fprintf(w, "- loopback; files and server roots on tmpfs (%s); MB/s = 10^6 bytes/s; the systems run in turn, %d rounds; the %s run reported (the limit: its best)\n", c.dir, c.reps, c.pick)
	fmt.Fprintf(w, "- single transfers: time from request to final status (curl: time_total − time_pretransfer, i.e. after login and the data connection); concurrent: wall time of all clients, connects included\n")
	fmt.Fprintf(w, "- upper: %d connections for %v; idle: RSS (VmRSS) after opening minus before, over the connections; %d new clients timed while held\n\n", c.cmdConns, c.duration, c.fresh)
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
