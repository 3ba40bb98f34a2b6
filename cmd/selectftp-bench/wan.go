package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"time"
)

// The WAN profile's addresses: private, on a link between two namespaces
// the bench makes, so nothing leaves the machine.
const (
	wanServerIP = "10.199.0.1"
	wanClientIP = "10.199.0.2"
	wanPrefix   = "sfb-" // of every namespace the bench makes
	// netemLimit is the netem queue in packets: the default 1,000 packets
	// of 1,500 bytes would cap a 50 ms path near 30 MB/s by itself.
	netemLimit = 100000
)

// wanFigures are the WAN workload's measurements.
type wanFigures struct {
	skipped  string // why the profile could not be made; "" when it was
	emulator string // what applies the delay and loss
	rttMs    float64
	rttNote  string // why there is no RTT
	cc       string // TCP congestion control in the namespaces
	// The real programs, process start to exit, MB/s.
	cliGet, cliPut, curlGet, curlPut float64
	// The load generator: one connection, and wanConns at once (wall
	// time, dials included), MB/s.
	one, par float64
}

// wanNet is the namespace pair: the server's and the client's, joined by
// a veth pair (netem on it) or by two TUN devices and the bench's own delay
// line when the kernel has no netem.
type wanNet struct {
	srvNS, cliNS, srvDev, cliDev string
	emulator                     string
	stop                         func() // stops the delay line; nil with netem
}

// newWANNet names the namespaces and devices after the bench's pid, so
// stale ones of a killed run can be told apart (see staleNetns). Device
// names stay within the kernel's 15 characters.
func newWANNet(pid int) *wanNet {
	p := strconv.Itoa(pid)
	return &wanNet{srvNS: wanPrefix + "s-" + p, cliNS: wanPrefix + "c-" + p, srvDev: "sfbs" + p, cliDev: "sfbc" + p}
}

// in prefixes argv to run it in namespace ns.
func in(ns string, argv ...string) []string {
	return append([]string{"ip", "netns", "exec", ns}, argv...)
}

// nsCmds makes the two namespaces, brings their loopback up and sizes
// their TCP buffers: tcp_rmem and tcp_wmem are per namespace, and a new
// one starts from the kernel's defaults, not the host's settings.
func (n *wanNet) nsCmds(rmem, wmem string) [][]string {
	var cmds [][]string
	for _, ns := range []string{n.srvNS, n.cliNS} {
		cmds = append(cmds, []string{"ip", "netns", "add", ns})
	}
	for _, ns := range []string{n.srvNS, n.cliNS} {
		cmds = append(cmds, []string{"ip", "-n", ns, "link", "set", "lo", "up"},
			in(ns, "sysctl", "-q", "-w", "net.ipv4.tcp_rmem="+rmem),
			in(ns, "sysctl", "-q", "-w", "net.ipv4.tcp_wmem="+wmem))
	}
	return cmds
}

// vethCmds makes the veth pair, one end in each namespace.
func (n *wanNet) vethCmds() [][]string {
	return append([][]string{
		{"ip", "link", "add", n.srvDev, "type", "veth", "peer", "name", n.cliDev},
	}, n.linkCmds()...)
}

// linkCmds moves the two devices (made in the bench's namespace) into
// theirs, addresses them and brings them up.
func (n *wanNet) linkCmds() [][]string {
	return [][]string{
		{"ip", "link", "set", n.srvDev, "netns", n.srvNS},
		{"ip", "link", "set", n.cliDev, "netns", n.cliNS},
		{"ip", "-n", n.srvNS, "addr", "add", wanServerIP + "/24", "dev", n.srvDev},
		{"ip", "-n", n.cliNS, "addr", "add", wanClientIP + "/24", "dev", n.cliDev},
		{"ip", "-n", n.srvNS, "link", "set", n.srvDev, "up"},
		{"ip", "-n", n.cliNS, "link", "set", n.cliDev, "up"},
	}
}

// netemCmds puts netem on each device's egress: srv on the server's (the
// downloads' data, the uploads' acknowledgements), cli on the client's;
// an empty one is left out.
func (n *wanNet) netemCmds(srv, cli string) [][]string {
	var cmds [][]string
	for _, e := range []struct{ ns, dev, args string }{{n.srvNS, n.srvDev, srv}, {n.cliNS, n.cliDev, cli}} {
		if strings.TrimSpace(e.args) == "" {
			continue
		}
		args := strings.Fields(e.args)
		if !slices.Contains(args, "limit") {
			args = append(args, "limit", strconv.Itoa(netemLimit))
		}
		cmds = append(cmds, in(e.ns, append([]string{"tc", "qdisc", "add", "dev", e.dev, "root", "netem"}, args...)...))
	}
	return cmds
}

// teardownCmds remove everything setup may have made; deleting a
// namespace deletes the devices in it, and the device commands cover a
// setup that stopped before moving them.
func (n *wanNet) teardownCmds() [][]string {
	return [][]string{
		{"ip", "netns", "del", n.srvNS},
		{"ip", "netns", "del", n.cliNS},
		{"ip", "link", "del", n.srvDev},
		{"ip", "link", "del", n.cliDev},
	}
}

// teardown stops the delay line and runs teardownCmds, ignoring what was
// never made.
func (n *wanNet) teardown(log io.Writer) {
	if n.stop != nil {
		n.stop()
		n.stop = nil
	}
	for _, c := range n.teardownCmds() {
		exec.Command(c[0], c[1:]...).Run()
	}
	fmt.Fprintf(log, "   removed namespaces %s and %s\n", n.srvNS, n.cliNS)
}

// runCmds runs each command in turn and stops at the first failure.
func runCmds(ctx context.Context, cmds [][]string) error {
	for _, c := range cmds {
		out, err := exec.CommandContext(ctx, c[0], c[1:]...).CombinedOutput()
		if err != nil {
			return fmt.Errorf("%s: %v: %s", strings.Join(c, " "), err, strings.TrimSpace(string(out)))
		}
	}
	return nil
}

// staleNetns picks, from `ip netns list` output, the namespaces of bench
// runs whose process is gone (killed before it could clean up).
func staleNetns(list string, alive func(pid int) bool) []string {
	var stale []string
	for _, line := range strings.Split(list, "\n") {
		f := strings.Fields(line)
		if len(f) == 0 || !strings.HasPrefix(f[0], wanPrefix) {
			continue
		}
		i := strings.LastIndexByte(f[0], '-')
		pid, err := strconv.Atoi(f[0][i+1:])
		if err == nil && !alive(pid) {
			stale = append(stale, f[0])
		}
	}
	return stale
}

func pidAlive(pid int) bool {
	_, err := os.Stat(fmt.Sprintf("/proc/%d", pid))
	return err == nil
}

// netemProfile is what the delay line emulates of netem's arguments.
type netemProfile struct {
	delay time.Duration
	loss  float64 // probability
	limit int     // packets
}

// parseNetem reads netem arguments of the forms the bench uses: delay D,
// loss P%, limit N. Anything else is an error: the delay line could not
// emulate it.
func parseNetem(args string) (netemProfile, error) {
	p := netemProfile{limit: netemLimit}
	f := strings.Fields(args)
	for i := 0; i < len(f); i += 2 {
		if i+1 >= len(f) {
			return p, fmt.Errorf("netem %q: %s without a value", args, f[i])
		}
		v := f[i+1]
		var err error
		switch f[i] {
		case "delay":
			p.delay, err = time.ParseDuration(v)
		case "loss":
			var pct float64
			pct, err = strconv.ParseFloat(strings.TrimSuffix(v, "%"), 64)
			p.loss = pct / 100
		case "limit":
			p.limit, err = strconv.Atoi(v)
		default:
			return p, fmt.Errorf("netem %q: the delay line emulates only delay, loss and limit", args)
		}
		if err != nil {
			return p, fmt.Errorf("netem %q: %s: %v", args, f[i], err)
		}
	}
	if p.delay < 0 || p.loss < 0 || p.loss > 1 || p.limit < 1 {
		return p, fmt.Errorf("netem %q: out of range", args)
	}
	return p, nil
}

// parsePingRTT finds the average of ping's summary line
// "rtt min/avg/max/mdev = 50.1/50.3/50.9/0.2 ms".
func parsePingRTT(out string) (float64, error) {
	for _, line := range strings.Split(out, "\n") {
		_, vals, ok := strings.Cut(line, "min/avg/max")
		if !ok {
			continue
		}
		_, vals, ok = strings.Cut(vals, "= ")
		parts := strings.Split(vals, "/")
		if !ok || len(parts) < 2 {
			break
		}
		return strconv.ParseFloat(parts[1], 64)
	}
	return 0, fmt.Errorf("no rtt summary in ping's output %q", firstLine(out))
}

// measureWAN makes the namespace pair, runs selectftpd and pure-ftpd in
// the server's and the real clients in the client's, and times
// cfg.wanSize get and put with each, then the load generator with one and
// with cfg.wanConns connections. It always removes the namespaces; when
// they cannot be made, the rows say skipped.
func (b *bench) measureWAN(ctx context.Context) error {
	n, err := b.setupWAN(ctx)
	if err != nil {
		b.fig.wan.skipped = err.Error()
		return fmt.Errorf("skipped: %w", err)
	}
	defer func() {
		n.teardown(b.log)
		b.wan = nil
	}()
	f := &b.fig.wan
	f.emulator = n.emulator
	f.cc = b.wanCC(ctx, n)
	if f.rttMs, err = b.wanRTT(ctx, n); err != nil {
		f.rttNote = err.Error()
	}
	fmt.Fprintf(b.log, "   %s; congestion control %s; RTT %.1f ms %s\n", f.emulator, f.cc, f.rttMs, f.rttNote)
	cli := in(n.cliNS)
	srvSite := site{name: "wan", prefix: in(n.srvNS), host: wanServerIP,
		port: func() (int, error) { return 2121, nil },
		ready: func(ctx context.Context, addr string) error {
			_, err := b.timeRun(ctx, cli, b.cliArgs(addr, "upper", "ready")...)
			return err
		}}
	sf, addr, err := b.startSelectftpdAt(ctx, srvSite, "selectftpd-wan", "--insecure") // a namespace pair, not a real network
	if err != nil {
		return err
	}
	defer b.procs.stop(sf)
	size := b.cfg.wanSize
	local, out := b.file(wanFile), filepath.Join(b.work, "wan-get.bin")
	var cs []*contender
	cliGet := &contender{label: "WAN selectftp get", run: func(int) (float64, error) {
		defer os.Remove(out)
		wall, err := b.timeRun(ctx, cli, b.cliArgs(addr, "get", wanFile, out)...)
		return mbps(size, wall.Seconds()), checkSize(out, size, err)
	}}
	cliPut := &contender{label: "WAN selectftp put", run: func(i int) (float64, error) {
		name := fmt.Sprintf("wan-up-%d.bin", i)
		defer os.Remove(filepath.Join(b.sfRoot, name))
		wall, err := b.timeRun(ctx, cli, b.cliArgs(addr, "put", local, name)...)
		return mbps(size, wall.Seconds()), checkSize(filepath.Join(b.sfRoot, name), size, err)
	}}
	var curlGet, curlPut *contender
	if !b.cfg.noFTP {
		ftpSite := srvSite
		ftpSite.port = func() (int, error) { return 2100, nil }
		ftpSite.ready = func(ctx context.Context, url string) error {
			_, err := b.timeRun(ctx, cli, "curl", "-sS", "--max-time", "3", "-o", "/dev/null", url)
			return err
		}
		c, base, err := b.startFTPAt(ctx, ftpSite, "pure-ftpd-wan", 20)
		if err != nil {
			b.notes = append(b.notes, "pure-ftpd on the WAN: "+err.Error())
		} else {
			defer b.procs.stop(c)
			curlGet = &contender{label: "WAN curl get", run: func(int) (float64, error) {
				defer os.Remove(out)
				wall, err := b.timeRun(ctx, cli, "curl", "-sS", "-o", out, base+wanFile)
				return mbps(size, wall.Seconds()), checkSize(out, size, err)
			}}
			curlPut = &contender{label: "WAN curl -T", run: func(i int) (float64, error) {
				name := fmt.Sprintf("wan-up-%d.bin", i)
				defer os.Remove(filepath.Join(b.ftpRoot, name))
				wall, err := b.timeRun(ctx, cli, "curl", "-sS", "-T", local, base+name)
				return mbps(size, wall.Seconds()), checkSize(filepath.Join(b.ftpRoot, name), size, err)
			}}
			cs = append(cs, curlGet, curlPut)
		}
	}
	cs = append(cs, cliGet, cliPut)
	// No warm-up round: every file is on tmpfs, and one more run of each
	// over the WAN would double the workload's time.
	if err := b.roundsN(b.cfg.wanReps, false, cs...); err != nil {
		return err
	}
	f.cliGet, f.cliPut = pick(cliGet.vals, b.cfg.pick), pick(cliPut.vals, b.cfg.pick)
	if curlGet != nil {
		f.curlGet, f.curlPut = pick(curlGet.vals, b.cfg.pick), pick(curlPut.vals, b.cfg.pick)
	}
	one, err := b.loadIn(ctx, cli, "get", "--addr", addr, "--path", wanFile)
	if err != nil {
		return err
	}
	par, err := b.loadIn(ctx, cli, "get", "--addr", addr, "--path", wanPartFile, "--conns", strconv.Itoa(b.cfg.wanConns))
	if err != nil {
		return err
	}
	f.one, f.par = one.MBps, par.MBps
	fmt.Fprintf(b.log, "   load generator: 1 conn %.1f MB/s, %d conns %.1f MB/s\n", f.one, b.cfg.wanConns, f.par)
	return nil
}

// wanCC reads the congestion control in both namespaces (it is per
// namespace).
func (b *bench) wanCC(ctx context.Context, n *wanNet) string {
	var got []string
	for _, ns := range []string{n.srvNS, n.cliNS} {
		out, err := exec.CommandContext(ctx, "ip", "netns", "exec", ns, "cat", "/proc/sys/net/ipv4/tcp_congestion_control").Output()
		if err != nil {
			return "unknown (" + err.Error() + ")"
		}
		got = append(got, strings.TrimSpace(string(out)))
	}
	if got[0] == got[1] {
		return got[0]
	}
	return fmt.Sprintf("server %s, client %s", got[0], got[1])
}

// wanRTT pings the server from the client namespace (ping is installed
// from Debian's iputils-ping when missing).
func (b *bench) wanRTT(ctx context.Context, n *wanNet) (float64, error) {
	ping, err := ensureTool(ctx, "ping", "iputils-ping")
	if err != nil {
		return 0, fmt.Errorf("no ping: %v", err)
	}
	out, err := exec.CommandContext(ctx, "ip", "netns", "exec", n.cliNS, ping, "-c", "5", "-i", "0.2", "-q", wanServerIP).CombinedOutput()
	if err != nil {
		return 0, fmt.Errorf("ping: %v: %s", err, firstLine(string(out)))
	}
	return parsePingRTT(string(out))
}

// setupWAN removes stale namespaces of killed runs, then makes the pair:
// veth and netem when the kernel has netem, else TUN devices and the
// bench's delay line. On failure it removes what it made.
func (b *bench) setupWAN(ctx context.Context) (*wanNet, error) {
	if list, err := exec.CommandContext(ctx, "ip", "netns", "list").Output(); err == nil {
		for _, ns := range staleNetns(string(list), pidAlive) {
			fmt.Fprintf(b.log, "   removing namespace %s of a run that is gone\n", ns)
			exec.CommandContext(ctx, "ip", "netns", "del", ns).Run()
		}
	}
	n := newWANNet(os.Getpid())
	b.wan = n // from here cleanup removes it, on Ctrl-C too
	fail := func(err error) (*wanNet, error) {
		n.teardown(b.log)
		b.wan = nil
		return nil, err
	}
	if err := runCmds(ctx, n.nsCmds(b.cfg.wanRmem, b.cfg.wanWmem)); err != nil {
		return fail(fmt.Errorf("network namespaces not available: %w", err))
	}
	if err := runCmds(ctx, n.vethCmds()); err != nil {
		return fail(err)
	}
	err := runCmds(ctx, n.netemCmds(b.cfg.wanNetem, b.cfg.wanClientNetem))
	if err == nil {
		n.emulator = "netem on the veth pair"
		return n, nil
	}
	if !strings.Contains(err.Error(), "qdisc kind is unknown") {
		return fail(err)
	}
	// No netem in this kernel: replace the veth pair by TUN devices and
	// apply the same profile in the bench's own delay line.
	fmt.Fprintf(b.log, "   netem unavailable (%v); using the bench's delay line over TUN devices\n", err)
	exec.CommandContext(ctx, "ip", "-n", n.srvNS, "link", "del", n.srvDev).Run()
	if err := n.startDelayLine(ctx, b.cfg.wanNetem, b.cfg.wanClientNetem); err != nil {
		return fail(fmt.Errorf("netem unavailable and the delay line failed: %w", err))
	}
	return n, nil
}

// errNoTUN is the delay line's answer where there are no TUN devices.
var errNoTUN = errors.New("TUN devices are Linux only")
