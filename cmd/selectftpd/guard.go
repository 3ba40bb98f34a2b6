package main

import (
	"flag"
	"fmt"
	"net/netip"
	"os"
	"os/signal"
	"strings"
	"sync"
	"syscall"

	"github.com/hashicorp/go-hclog"

	"github.com/selectftp/selectftp/host"
)

// guardFlags are the defender's and the audit log's flags.
type guardFlags struct {
	cfg      host.DefenderConfig
	allow    string
	auditLog string
}

// addGuardFlags registers --defender-* and --audit-log on fs.
func addGuardFlags(fs *flag.FlagSet) *guardFlags {
	g := &guardFlags{}
	fs.IntVar(&g.cfg.Threshold, "defender-threshold", host.DefaultBanThreshold,
		"ban an address whose score reaches this (a failed login scores 2, a protocol error before the login 1; negative: no defender)")
	fs.DurationVar(&g.cfg.Window, "defender-window", host.DefaultScoreWindow, "how long a scored event counts")
	fs.DurationVar(&g.cfg.BanTime, "defender-ban-time", host.DefaultBanTime, "the first ban's length; each repeat within a day is 1.5 times longer")
	fs.DurationVar(&g.cfg.MaxBanTime, "defender-max-ban-time", host.DefaultMaxBanTime, "the longest ban")
	fs.DurationVar(&g.cfg.LoginDelay, "defender-delay", host.DefaultLoginDelay, "wait before answering a failed login, doubling with each further one (negative: none)")
	fs.DurationVar(&g.cfg.MaxLoginDelay, "defender-max-delay", host.DefaultMaxLoginDelay, "the longest wait before a failed login's answer")
	fs.StringVar(&g.allow, "defender-allow", "", "comma-separated `addresses or CIDRs` never delayed or banned, e.g. 10.0.0.0/8,192.0.2.7")
	fs.StringVar(&g.auditLog, "audit-log", "", "append JSON lines for every login and request to `file` (reopened on SIGHUP, for logrotate)")
	return g
}

// apply sets srv's Defender and Audit from the flags. stop flushes and
// closes the audit log; call it after Serve returns.
func (g *guardFlags) apply(srv *host.Server, log hclog.Logger) (stop func(), err error) {
	for _, s := range strings.FieldsFunc(g.allow, func(r rune) bool { return r == ',' || r == ' ' }) {
		p, err := netip.ParsePrefix(s)
		if err != nil {
			a, aerr := netip.ParseAddr(s)
			if aerr != nil {
				return nil, fmt.Errorf("--defender-allow: %q is neither an address nor a CIDR", s)
			}
			p = netip.PrefixFrom(a.Unmap(), a.Unmap().BitLen())
		}
		g.cfg.AllowList = append(g.cfg.AllowList, p.Masked())
	}
	srv.Defender = host.NewDefender(g.cfg)
	if g.auditLog == "" {
		return func() {}, nil
	}
	f, err := openAuditFile(g.auditLog)
	if err != nil {
		return nil, fmt.Errorf("--audit-log: %w", err)
	}
	al := host.NewAuditLog(f, 0)
	srv.Audit = al
	hup := make(chan os.Signal, 1)
	signal.Notify(hup, syscall.SIGHUP)
	done := make(chan struct{})
	go func() {
		for {
			select {
			case <-done:
				return
			case <-hup:
			}
			if err := f.reopen(); err != nil {
				log.Error("audit log not reopened; writing to the old file", "audit_log", g.auditLog, "error", err)
			}
		}
	}()
	return func() {
		signal.Stop(hup)
		close(done)
		al.Close()
		if n := al.Dropped(); n > 0 {
			log.Warn("audit events were dropped: the audit log could not keep up", "dropped", n)
		}
		f.close()
	}, nil
}

// auditFile is the audit log's file, reopened by path on SIGHUP so that
// logrotate can move it away.
type auditFile struct {
	path string
	mu   sync.Mutex
	f    *os.File
}

func openAuditFile(path string) (*auditFile, error) {
	a := &auditFile{path: path}
	return a, a.reopen()
}

// reopen opens the path again (creating it, readable by the owner only:
// it names users and addresses) and closes the old file.
func (a *auditFile) reopen() error {
	f, err := os.OpenFile(a.path, os.O_WRONLY|os.O_APPEND|os.O_CREATE, 0o600)
	if err != nil {
		return err
	}
	a.mu.Lock()
	old := a.f
	a.f = f
	a.mu.Unlock()
	if old != nil {
		old.Close()
	}
	return nil
}

func (a *auditFile) Write(p []byte) (int, error) {
	a.mu.Lock()
	defer a.mu.Unlock()
	return a.f.Write(p)
}

func (a *auditFile) close() {
	a.mu.Lock()
	defer a.mu.Unlock()
	a.f.Close()
}
