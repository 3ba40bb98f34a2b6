package main

import (
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/selectftp/selectftp/internal/loadgen"
)

func TestCurlProcs(t *testing.T) {
	for n, want := range map[int][]int{1: {1}, 200: {200}, 250: {250}, 251: {126, 125}, 1000: {250, 250, 250, 250}, 1001: {201, 200, 200, 200, 200}} {
		got := curlProcs(n)
		sum := 0
		for _, c := range got {
			sum += c
			if c > curlParallelMax {
				t.Errorf("curlProcs(%d): a curl of %d transfers", n, c)
			}
		}
		if !slices.Equal(got, want) || sum != n {
			t.Errorf("curlProcs(%d) = %v, want %v", n, got, want)
		}
	}
	if got := curlManyName(1000); got != "pure-ftpd + 4 curl -Z ×250" {
		t.Errorf("curlManyName(1000) = %q", got)
	}
	cfg := curlConfig("ftp://u:p@127.0.0.1:21/many.bin", 3)
	if strings.Count(cfg, `url = "ftp://u:p@127.0.0.1:21/many.bin"`) != 3 || strings.Count(cfg, `output = "/dev/null"`) != 3 {
		t.Errorf("curl config:\n%s", cfg)
	}
}

func TestFTPArgs(t *testing.T) {
	lo, hi := ftpPassive(200, 3)
	if lo != 20096 || hi-lo+1 != 400 {
		t.Errorf("200 clients: passive %d:%d", lo, hi)
	}
	// 1,000 concurrent downloads: 8,000 clients for a backlog of 1,003,
	// and every passive port below the ephemeral range.
	lo, hi = ftpPassive(8000, 200)
	if lo != 16000 || hi != 31999 {
		t.Errorf("8000 clients: passive %d:%d", lo, hi)
	}
	args := strings.Join(ftpArgs("10.199.0.1", 2100, "/x/db", 8000, lo, hi, "/x/pid"), " ")
	for _, want := range []string{"-S 10.199.0.1,2100", "-c 8000 -C 8000", "-p 16000:31999 -P 10.199.0.1", "-l puredb:/x/db"} {
		if !strings.Contains(args, want) {
			t.Errorf("pure-ftpd args %q lack %q", args, want)
		}
	}
}

func TestWANCommands(t *testing.T) {
	n := newWANNet(4194304) // the largest pid Linux gives
	for _, dev := range []string{n.srvDev, n.cliDev} {
		if len(dev) > 15 {
			t.Errorf("device name %q longer than IFNAMSIZ-1", dev)
		}
	}
	join := func(cmds [][]string) string {
		var lines []string
		for _, c := range cmds {
			lines = append(lines, strings.Join(c, " "))
		}
		return strings.Join(lines, "\n")
	}
	setup := join(n.nsCmds("4096 131072 67108864", "4096 16384 67108864"))
	for _, want := range []string{
		"ip netns add sfb-s-4194304",
		"ip netns add sfb-c-4194304",
		"ip -n sfb-c-4194304 link set lo up",
		"ip netns exec sfb-s-4194304 sysctl -q -w net.ipv4.tcp_rmem=4096 131072 67108864",
		"ip netns exec sfb-c-4194304 sysctl -q -w net.ipv4.tcp_wmem=4096 16384 67108864",
	} {
		if !strings.Contains(setup, want) {
			t.Errorf("namespace setup lacks %q:\n%s", want, setup)
		}
	}
	veth := join(n.vethCmds())
	for _, want := range []string{
		"ip link add sfbs4194304 type veth peer name sfbc4194304",
		"ip link set sfbs4194304 netns sfb-s-4194304",
		"ip -n sfb-s-4194304 addr add 10.199.0.1/24 dev sfbs4194304",
		"ip -n sfb-c-4194304 addr add 10.199.0.2/24 dev sfbc4194304",
		"ip -n sfb-c-4194304 link set sfbc4194304 up",
	} {
		if !strings.Contains(veth, want) {
			t.Errorf("veth setup lacks %q:\n%s", want, veth)
		}
	}
	netem := n.netemCmds("delay 50ms loss 0.1%", "loss 0.1%")
	if got := join(netem[:1]); got != "ip netns exec sfb-s-4194304 tc qdisc add dev sfbs4194304 root netem delay 50ms loss 0.1% limit 100000" {
		t.Errorf("server netem: %q", got)
	}
	if len(netem) != 2 || !strings.HasSuffix(join(netem[1:]), "dev sfbc4194304 root netem loss 0.1% limit 100000") {
		t.Errorf("client netem: %q", join(netem))
	}
	if got := n.netemCmds("delay 50ms limit 10", " "); len(got) != 1 || strings.Count(join(got), "limit") != 1 {
		t.Errorf("netem with its own limit and no client side: %q", join(got))
	}
	down := join(n.teardownCmds())
	for _, want := range []string{"ip netns del sfb-s-4194304", "ip netns del sfb-c-4194304", "ip link del sfbs4194304"} {
		if !strings.Contains(down, want) {
			t.Errorf("teardown lacks %q:\n%s", want, down)
		}
	}
}

func TestStaleNetns(t *testing.T) {
	list := "sfb-s-100 (id: 3)\nsfb-c-100 (id: 2)\nsfb-s-200\nother-1\nsfb-weird\n\n"
	got := staleNetns(list, func(pid int) bool { return pid == 200 })
	if !slices.Equal(got, []string{"sfb-s-100", "sfb-c-100"}) {
		t.Errorf("stale = %v", got)
	}
}

func TestParseNetem(t *testing.T) {
	p, err := parseNetem("delay 50ms loss 0.1%")
	if err != nil || p.delay != 50*time.Millisecond || p.loss != 0.001 || p.limit != netemLimit {
		t.Errorf("parseNetem = %+v, %v", p, err)
	}
	if p, err := parseNetem(""); err != nil || p.delay != 0 || p.loss != 0 {
		t.Errorf("empty: %+v, %v", p, err)
	}
	for _, bad := range []string{"delay", "delay fast", "loss 200%", "rate 1mbit", "duplicate 1%", "limit 0"} {
		if _, err := parseNetem(bad); err == nil {
			t.Errorf("parseNetem(%q) accepted", bad)
		}
	}
}

func TestParsePingRTT(t *testing.T) {
	out := `PING 10.199.0.1 (10.199.0.1) 56(84) bytes of data.

--- 10.199.0.1 ping statistics ---
5 packets transmitted, 5 received, 0% packet loss, time 812ms
rtt min/avg/max/mdev = 50.112/50.341/50.902/0.288 ms
`
	if rtt, err := parsePingRTT(out); err != nil || rtt != 50.341 {
		t.Errorf("parsePingRTT = %v, %v", rtt, err)
	}
	if _, err := parsePingRTT("5 packets transmitted, 0 received"); err == nil {
		t.Error("no summary accepted")
	}
}

func TestHOLRate(t *testing.T) {
	// 16 transfers together make half of a 3200 MB/s limit.
	if got := holRate(3200, 16); got != 100e6 {
		t.Errorf("holRate = %d", got)
	}
	if len(holRuns()) != 6 {
		t.Errorf("holRuns = %v", holRuns())
	}
}

func TestNewerRows(t *testing.T) {
	b := &bench{cfg: config{size: 1 << 30, holTransfers: 16, many: 1000, manySize: 1 << 20, wanSize: 256 << 20,
		wanConns: 4, only: map[string]bool{"download": true, "upload": true, "hol": true, "many": true, "wan": true}}}
	hol := func(p99 float64) *loadgen.Result {
		return &loadgen.Result{P50ms: 1, P99ms: p99, MaxMs: p99 + 1, Requests: 1000}
	}
	b.fig = figures{cliGet: 900, curlGetFile: 1000, cliPut: 1100, curlPut: 1000, holRate: 100e6,
		hol: map[holKey]*loadgen.Result{
			{"reactor", "get", true}:    hol(4),
			{"reactor", "put", true}:    hol(6),
			{"reactor", "get", false}:   hol(15),
			{"goroutine", "get", false}: hol(30),
			{"reactor", "put", false}:   hol(15),
			{"goroutine", "put", false}: hol(10),
		},
		manySF: 2000, manyFTP: 1000, manyHWMKB: 40 << 10,
		wan: wanFigures{cliGet: 50, curlGet: 40, cliPut: 30, curlPut: 40, one: 20, par: 60}}
	got := map[string]row{}
	for _, r := range b.rows() {
		got[r.name] = r
	}
	check := func(name, ratio, verdict string) row {
		t.Helper()
		r, ok := got[name]
		if !ok {
			t.Fatalf("no row %q in %v", name, got)
		}
		if r.ratio != ratio || r.verdict != verdict {
			t.Errorf("%s: ratio %q verdict %q, want %q %q", name, r.ratio, r.verdict, ratio, verdict)
		}
		return r
	}
	check("1 GiB get: `selectftp get` vs `curl`, to a file", "0.90×", "MISS")
	check("1 GiB put: `selectftp put` vs `curl -T`", "1.10×", "PASS")
	check("small command during 16 paced downloads (1600 MB/s in all)", "—", "PASS")
	check("small command during 16 paced uploads (1600 MB/s in all)", "—", "MISS")
	check("small command during 16 unlimited downloads, reactor", "0.50×", "PASS")
	check("small command during 16 unlimited uploads, reactor", "1.50×", "MISS") // above the goroutine backend's
	r := check("1000 concurrent 1 MiB downloads, verified", "2.00×", "PASS")
	if !strings.Contains(r.value, "peak RSS 40.0 MiB") || !strings.Contains(r.ref, "4 curl -Z ×250") {
		t.Errorf("many row: %+v", r)
	}
	check("WAN 256 MiB get: `selectftp get` vs `curl`", "1.25×", "PASS")
	check("WAN 256 MiB put: `selectftp put` vs `curl -T`", "0.75×", "—")
	check("WAN 256 MiB get, load generator: 4 conns × 64 MiB vs 1 conn", "3.00× speed-up", "—")

	// A WAN that could not be made says so on every row, never PASS.
	b.fig.wan = wanFigures{skipped: "network namespaces not available: ip netns add: operation not permitted"}
	var skipped int
	for _, r := range b.wanRows() {
		if r.verdict != "SKIP" || !strings.HasPrefix(r.value, "SKIPPED: network namespaces") {
			t.Errorf("skipped WAN row %+v", r)
		}
		skipped++
	}
	if skipped != 3 {
		t.Errorf("%d skipped WAN rows, want 3", skipped)
	}
	// Nothing measured: n/a, not PASS.
	b.fig = figures{}
	for _, r := range b.holRows() {
		if r.verdict != "n/a" {
			t.Errorf("unmeasured %q: %q", r.name, r.verdict)
		}
	}
	var out strings.Builder
	b.render(&out)
	if !strings.Contains(out.String(), "WAN profile") || !strings.Contains(out.String(), "small command: `upper x`") {
		t.Errorf("render lacks the workloads' descriptions:\n%s", out.String())
	}
}
