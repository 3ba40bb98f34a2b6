package main

import (
	"bufio"
	"context"
	"crypto/rand"
	"encoding/hex"
	"fmt"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"time"

	"github.com/selectftp/selectftp/client"
)

// child is a server the bench started.
type child struct {
	name string
	cmd  *exec.Cmd
	done chan struct{} // closed when it has exited
}

// procs owns the bench's servers, so they can all be stopped on any exit.
type procs struct {
	logDir string
	mu     sync.Mutex
	kids   []*child
}

// start runs argv in the background, its output to logDir/name.log.
func (p *procs) start(name string, argv ...string) (*child, error) {
	logf, err := os.Create(filepath.Join(p.logDir, name+".log"))
	if err != nil {
		return nil, err
	}
	cmd := exec.Command(argv[0], argv[1:]...)
	cmd.Stdout, cmd.Stderr = logf, logf
	cmd.SysProcAttr = childAttr() // dies with the bench
	if err := cmd.Start(); err != nil {
		logf.Close()
		return nil, fmt.Errorf("start %s: %w", name, err)
	}
	c := &child{name: name, cmd: cmd, done: make(chan struct{})}
	go func() { cmd.Wait(); logf.Close(); close(c.done) }()
	p.mu.Lock()
	p.kids = append(p.kids, c)
	p.mu.Unlock()
	return c, nil
}

// stop asks c to stop (SIGTERM), and kills it after 5 s.
func (p *procs) stop(c *child) {
	if c == nil {
		return
	}
	c.cmd.Process.Signal(syscall.SIGTERM)
	select {
	case <-c.done:
	case <-time.After(5 * time.Second):
		c.cmd.Process.Kill()
		<-c.done
	}
}

// stopAll stops every child still running.
func (p *procs) stopAll() {
	p.mu.Lock()
	kids := p.kids
	p.kids = nil
	p.mu.Unlock()
	for _, c := range kids {
		p.stop(c)
	}
}

// exited reports whether c has exited.
func (c *child) exited() bool {
	select {
	case <-c.done:
		return true
	default:
		return false
	}
}

// freePort returns a loopback port that was free a moment ago.
func freePort() (int, error) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return 0, err
	}
	defer ln.Close()
	return ln.Addr().(*net.TCPAddr).Port, nil
}

// site is where a server runs and how the bench reaches it: loopback in
// the bench's own network namespace, or the WAN profile's server
// namespace.
type site struct {
	name   string   // for logs and notes; "" for loopback
	prefix []string // runs a program there: nil, or ip netns exec NS
	host   string   // the address servers listen on
	port   func() (int, error)
	// ready checks that the server at addr answers "upper" (selectftpd)
	// or lists its root (pure-ftpd URL).
	ready func(ctx context.Context, addr string) error
}

// loopback is the default site.
var loopback = site{host: "127.0.0.1", port: freePort, ready: ping}

// loopbackFTP is loopback with pure-ftpd's readiness check.
var loopbackFTP = site{host: "127.0.0.1", port: freePort, ready: ftpBanner}

// startSelectftpd starts a selectftpd on a free loopback port and waits
// until it answers "upper" (through its plugin, unless built in).
func (b *bench) startSelectftpd(ctx context.Context, name string, extra ...string) (*child, string, error) {
	return b.startSelectftpdAt(ctx, loopback, name, extra...)
}

// startSelectftpdAt starts a selectftpd at st and waits until it answers.
func (b *bench) startSelectftpdAt(ctx context.Context, st site, name string, extra ...string) (*child, string, error) {
	port, err := st.port()
	if err != nil {
		return nil, "", err
	}
	addr := net.JoinHostPort(st.host, strconv.Itoa(port))
	argv := append(append(slices.Clone(st.prefix), filepath.Join(b.cfg.bin, "selectftpd"), "--listen", addr, "--root", b.sfRoot,
		// Every bench client comes from one address: the per-address
		// limit, a defence against one host taking every slot, would cap
		// them.
		"--plugins", b.cfg.plugins, "--log-level", "warn", "--max-conns-per-ip", "-1"), extra...)
	c, err := b.procs.start(name, argv...)
	if err != nil {
		return nil, "", err
	}
	deadline := time.Now().Add(20 * time.Second)
	for {
		err = st.ready(ctx, addr)
		if err == nil {
			return c, addr, nil
		}
		if c.exited() || time.Now().After(deadline) || ctx.Err() != nil {
			b.procs.stop(c)
			return nil, "", fmt.Errorf("%s did not come up (see %s.log): %v", name, filepath.Join(b.procs.logDir, name), err)
		}
		time.Sleep(100 * time.Millisecond)
	}
}

func ping(ctx context.Context, addr string) error {
	ctx, cancel := context.WithTimeout(ctx, 5*time.Second)
	defer cancel()
	c, err := client.Dial(ctx, addr, client.WithHandshakeTimeout(2*time.Second))
	if err != nil {
		return err
	}
	defer c.Close()
	_, err = c.Command(ctx, "upper", []string{"ready"})
	return err
}

// ensureTool finds a program, installing its Debian package when missing.
func ensureTool(ctx context.Context, prog, pkg string) (string, error) {
	if p, err := lookTool(prog); err == nil {
		return p, nil
	}
	fmt.Fprintf(os.Stderr, "bench: %s missing; apt-get install -y %s\n", prog, pkg)
	install := func() error {
		cmd := exec.CommandContext(ctx, "apt-get", "install", "-y", "-q", pkg)
		cmd.Env = append(os.Environ(), "DEBIAN_FRONTEND=noninteractive")
		out, err := cmd.CombinedOutput()
		if err != nil {
			return fmt.Errorf("apt-get install %s: %v\n%s", pkg, err, out)
		}
		return nil
	}
	if err := install(); err != nil {
		if out, uerr := exec.CommandContext(ctx, "apt-get", "update", "-q").CombinedOutput(); uerr != nil {
			return "", fmt.Errorf("apt-get update: %v\n%s", uerr, out)
		}
		if err := install(); err != nil {
			return "", err
		}
	}
	return lookTool(prog)
}

// lookTool finds prog in $PATH or the sbin folders.
func lookTool(prog string) (string, error) {
	if p, err := exec.LookPath(prog); err == nil {
		return p, nil
	}
	for _, dir := range []string{"/usr/sbin", "/sbin"} {
		if p := filepath.Join(dir, prog); isExec(p) {
			return p, nil
		}
	}
	return "", fmt.Errorf("%s not found", prog)
}

func isExec(p string) bool {
	fi, err := os.Stat(p)
	return err == nil && fi.Mode().IsRegular() && fi.Mode()&0o111 != 0
}

// ftpUser is the throwaway virtual user pure-ftpd serves; its uid and gid
// are nobody's.
const (
	ftpUser = "bench"
	ftpUID  = 65534
)

// startFTP starts pure-ftpd on loopback for up to 200 clients; see
// startFTPAt.
func (b *bench) startFTP(ctx context.Context) (*child, string, error) {
	return b.startFTPAt(ctx, loopbackFTP, "pure-ftpd", 200)
}

// ftpMaxPassive is the most passive ports pure-ftpd gets: 16000 to 31999,
// below Linux's ephemeral range.
const (
	ftpPassiveLow = 16000
	ftpMaxPassive = 16000
)

// ftpPassive returns the passive port range for maxClients: pure-ftpd
// caps its clients at half its passive ports. A small range is placed at
// random, so two runs at once rarely collide.
func ftpPassive(maxClients int, rnd byte) (lo, hi int) {
	n := min(2*maxClients, ftpMaxPassive)
	if n <= 400 {
		lo = 20000 + int(rnd)<<5
	} else {
		lo = ftpPassiveLow
	}
	return lo, lo + n - 1
}

// startFTPAt sets up a throwaway puredb with one virtual user chrooted to
// b.ftpRoot and starts pure-ftpd in the foreground at st, on a free port,
// with a passive range on the same address for maxClients clients (all
// from one address; at most 8,000). It returns the base URL
// ftp://user:password@HOST:PORT/.
//
// pure-ftpd sizes its listen backlog from its client limit (3 + clients/8),
// so 1,000 connections arriving at once need a limit near 8,000: with 134
// (the backlog of a 1,050 limit) most of them overflow the accept queue and
// hang until the kernel resets them a minute later.
//
// The password is hashed with SHA-512 crypt (openssl passwd -6): pure-pw's
// own argon2id hash takes seconds to check, which would dominate every
// curl run.
//
// extra are more pure-ftpd flags (the tls workload's -Y and certificate).
func (b *bench) startFTPAt(ctx context.Context, st site, name string, maxClients int, extra ...string) (*child, string, error) {
	ftpd, err := ensureTool(ctx, "pure-ftpd", "pure-ftpd")
	if err != nil {
		return nil, "", err
	}
	purepw, err := ensureTool(ctx, "pure-pw", "pure-ftpd")
	if err != nil {
		return nil, "", err
	}
	if _, err := ensureTool(ctx, "curl", "curl"); err != nil {
		return nil, "", err
	}
	if _, err := ensureTool(ctx, "openssl", "openssl"); err != nil {
		return nil, "", err
	}
	var rnd [12]byte
	rand.Read(rnd[:])
	pass, salt := hex.EncodeToString(rnd[:8]), hex.EncodeToString(rnd[8:])
	hash, err := exec.CommandContext(ctx, "openssl", "passwd", "-6", "-salt", salt, pass).Output()
	if err != nil {
		return nil, "", fmt.Errorf("openssl passwd: %w", err)
	}
	passwd := filepath.Join(b.work, name+".passwd")
	pdb := filepath.Join(b.work, name+".pdb")
	line := fmt.Sprintf("%s:%s:%d:%d::%s/./::::::::::::\n", ftpUser, strings.TrimSpace(string(hash)), ftpUID, ftpUID, b.ftpRoot)
	if err := os.WriteFile(passwd, []byte(line), 0o600); err != nil {
		return nil, "", err
	}
	if out, err := exec.CommandContext(ctx, purepw, "mkdb", pdb, "-f", passwd).CombinedOutput(); err != nil {
		return nil, "", fmt.Errorf("pure-pw mkdb: %v: %s", err, out)
	}
	port, err := st.port()
	if err != nil {
		return nil, "", err
	}
	lo, hi := ftpPassive(maxClients, rnd[0])
	args := append(append(slices.Clone(st.prefix), ftpd), ftpArgs(st.host, port, pdb, maxClients, lo, hi,
		filepath.Join(b.work, name+".pid"))...)
	args = append(args, extra...)
	c, err := b.procs.start(name, args...)
	if err != nil {
		return nil, "", err
	}
	addr := net.JoinHostPort(st.host, strconv.Itoa(port))
	url := fmt.Sprintf("ftp://%s:%s@%s/", ftpUser, pass, addr)
	for deadline := time.Now().Add(10 * time.Second); ; {
		if err = st.ready(ctx, url); err == nil {
			return c, url, nil
		}
		if c.exited() || time.Now().After(deadline) || ctx.Err() != nil {
			b.procs.stop(c)
			return nil, "", fmt.Errorf("%s did not come up (see %s.log): %v", name, name, err)
		}
		time.Sleep(100 * time.Millisecond)
	}
}

// ftpArgs is pure-ftpd's command line: bound to host:port, virtual users
// from pdb only, chrooted, no DNS, no syslog, maxClients clients in all and
// from one address (every bench client shares one), and passive ports lo
// to hi on host.
func ftpArgs(host string, port int, pdb string, maxClients, lo, hi int, pidFile string) []string {
	n := strconv.Itoa(maxClients)
	return []string{
		"-S", fmt.Sprintf("%s,%d", host, port),
		"-l", "puredb:" + pdb, "-E", "-A", "-H",
		"-f", "none",
		"-c", n, "-C", n,
		"-p", fmt.Sprintf("%d:%d", lo, hi), "-P", host,
		"-g", pidFile}
}

// ftpBanner is the loopback readiness check of pure-ftpd: it greets with
// 220.
func ftpBanner(_ context.Context, url string) error {
	_, rest, _ := strings.Cut(url, "@")
	return banner(strings.TrimSuffix(rest, "/"))
}

// banner checks that an FTP server greets with 220.
func banner(addr string) error {
	nc, err := net.DialTimeout("tcp", addr, time.Second)
	if err != nil {
		return err
	}
	defer nc.Close()
	nc.SetDeadline(time.Now().Add(2 * time.Second))
	line, err := bufio.NewReader(nc).ReadString('\n')
	if err != nil {
		return err
	}
	if !strings.HasPrefix(line, "220") {
		return fmt.Errorf("unexpected greeting %q", line)
	}
	return nil
}

// curlTimes is what curl's --write-out reports about one transfer.
type curlTimes struct {
	pretransfer, total float64 // seconds
	bytes              int64   // downloaded or uploaded
}

// curlFormat makes curl print the fields parseCurl reads.
const curlFormat = "%{time_pretransfer} %{time_total} %{size_download} %{size_upload}\n"

// parseCurl reads curl's --write-out line made by curlFormat.
func parseCurl(out string) (curlTimes, error) {
	f := strings.Fields(out)
	if len(f) < 4 {
		return curlTimes{}, fmt.Errorf("curl printed %q", out)
	}
	var t curlTimes
	var err error
	var down, up int64
	if t.pretransfer, err = strconv.ParseFloat(f[0], 64); err == nil {
		if t.total, err = strconv.ParseFloat(f[1], 64); err == nil {
			if down, err = strconv.ParseInt(f[2], 10, 64); err == nil {
				up, err = strconv.ParseInt(f[3], 10, 64)
			}
		}
	}
	if err != nil {
		return curlTimes{}, fmt.Errorf("curl printed %q: %w", out, err)
	}
	t.bytes = max(down, up)
	return t, nil
}

// curl runs one transfer: a download of url to /dev/null, or an upload of
// upload to url.
func curl(ctx context.Context, url, upload string) *exec.Cmd {
	args := []string{"-sS", "-w", curlFormat}
	if upload == "" {
		args = append(args, "-o", "/dev/null", url)
	} else {
		args = append(args, "-T", upload, url)
	}
	return exec.CommandContext(ctx, "curl", args...)
}

// runCurl runs one curl transfer and checks its size.
func runCurl(ctx context.Context, url, upload string, want int64) (curlTimes, error) {
	var stderr strings.Builder
	cmd := curl(ctx, url, upload)
	cmd.Stderr = &stderr
	out, err := cmd.Output()
	if err != nil {
		return curlTimes{}, fmt.Errorf("curl: %v: %s", err, stderr.String())
	}
	t, err := parseCurl(string(out))
	if err == nil && t.bytes != want {
		err = fmt.Errorf("curl moved %d bytes, want %d", t.bytes, want)
	}
	return t, err
}
