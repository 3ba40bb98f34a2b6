// Package ftpfront serves the host's verbs to standard FTP clients (RFC 959
// with FEAT, SIZE, MDTM, REST STREAM, MLSD/MLST, EPSV/EPRT, AUTH TLS and
// HASH) on github.com/fclairamb/ftpserverlib. Every FTP command becomes a
// verb call on a host session, so plugins, users, permissions, limits,
// quotas and the audit log apply exactly as for the native protocol; the
// front itself never touches the disk. docs/FTP.md maps each command.
package ftpfront

import (
	"context"
	"crypto/tls"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"sync"
	"time"

	ftpserver "github.com/fclairamb/ftpserverlib"
	"github.com/hashicorp/go-hclog"
)

// Config is a front's settings. The zero value serves on loopback with
// passive ports the system picks, no TLS, a 30-second login deadline and a
// 15-minute idle timeout.
type Config struct {
	// PassivePorts is the range PASV/EPSV listen in (both 0: any port).
	PassivePortMin, PassivePortMax int
	// PublicHost is the IPv4 address PASV announces ("": the control
	// connection's local address), for a server behind NAT.
	PublicHost string
	// TLSConfig enables AUTH TLS, PBSZ and PROT P (nil: clear only).
	TLSConfig *tls.Config
	// AllowPlainLogin lets a password cross a connection that is neither
	// TLS nor loopback. Off, such a login is refused before it is checked.
	AllowPlainLogin bool
	// IdleTimeout closes a control connection idle this long (0: 15 min).
	IdleTimeout time.Duration
	// LoginTimeout closes a control connection that has not logged in
	// this long after its accept, with a 421 (0: DefaultLoginTimeout;
	// negative: never, and only IdleTimeout applies).
	LoginTimeout time.Duration
	// UploadSettle is how long the end of an upload's data waits for its
	// control connection to close before the file is committed, because a
	// killed FTP client's data connection ends exactly as a finished one
	// does (0: 20 ms; negative: do not wait).
	UploadSettle time.Duration
	// Logger receives the front's and the library's lines (nil: none).
	Logger hclog.Logger
}

// Front is an FTP server in front of a host.
type Front struct {
	cfg     Config
	be      backend
	lib     *ftpserver.FtpServer
	log     hclog.Logger
	mu      sync.Mutex
	pending map[string]*ctlConn   // accepted control connections, until ClientConnected claims them
	conns   map[*ctlConn]struct{} // admitted control connections not closed yet
	clients map[uint32]ftpserver.ClientContext
	ctx     context.Context // cancelled when the front shuts down for good
	cancel  context.CancelFunc
	served  bool

	libSettings *ftpserver.Settings
}

const defaultSettle = 20 * time.Millisecond

func newFront(be backend, cfg Config) (*Front, error) {
	if (cfg.PassivePortMin == 0) != (cfg.PassivePortMax == 0) || cfg.PassivePortMin < 0 ||
		cfg.PassivePortMax > 65535 || cfg.PassivePortMin > cfg.PassivePortMax {
		return nil, fmt.Errorf("ftpfront: passive ports %d-%d: want 1-65535, low to high", cfg.PassivePortMin, cfg.PassivePortMax)
	}
	if cfg.PublicHost != "" {
		if ip := net.ParseIP(cfg.PublicHost); ip == nil || ip.To4() == nil {
			return nil, fmt.Errorf("ftpfront: public host %q: PASV announces an IPv4 address only", cfg.PublicHost)
		}
	}
	if cfg.IdleTimeout <= 0 {
		cfg.IdleTimeout = 15 * time.Minute
	}
	if cfg.LoginTimeout == 0 {
		cfg.LoginTimeout = DefaultLoginTimeout
	}
	if cfg.UploadSettle == 0 {
		cfg.UploadSettle = defaultSettle
	}
	if cfg.Logger == nil {
		cfg.Logger = hclog.NewNullLogger()
	}
	f := &Front{cfg: cfg, be: be, log: cfg.Logger, pending: map[string]*ctlConn{}, conns: map[*ctlConn]struct{}{}, clients: map[uint32]ftpserver.ClientContext{}}
	f.ctx, f.cancel = context.WithCancel(context.Background())
	f.lib = ftpserver.NewFtpServer(&mainDriver{f: f})
	// The library logs every connection at Info: those are the front's Debug.
	w := cfg.Logger.StandardWriter(&hclog.StandardLoggerOptions{ForceLevel: hclog.Debug})
	f.lib.Logger = slog.New(slog.NewTextHandler(w, &slog.HandlerOptions{Level: slog.LevelInfo}))
	return f, nil
}

// Serve answers FTP clients on ln until Shutdown; it returns nil then.
func (f *Front) Serve(ln net.Listener) error {
	f.mu.Lock()
	if f.served {
		f.mu.Unlock()
		return errors.New("ftpfront: Serve called twice")
	}
	f.served = true
	f.mu.Unlock()
	f.libSettings = f.settings(&trackingListener{Listener: ln, f: f})
	if err := f.lib.Listen(); err != nil {
		return err
	}
	f.log.Info("FTP front", "addr", ln.Addr().String(), "tls", f.cfg.TLSConfig != nil,
		"passive_ports", fmt.Sprintf("%d-%d", f.cfg.PassivePortMin, f.cfg.PassivePortMax))
	return f.lib.Serve()
}

// Shutdown stops accepting, lets running transfers end until ctx is done,
// then closes every client.
func (f *Front) Shutdown(ctx context.Context) error {
	_ = f.lib.Stop() // ErrNotListening when Serve never ran: nothing to stop
	tick := time.NewTicker(20 * time.Millisecond)
	defer tick.Stop()
	var err error
wait:
	for f.busy() {
		select {
		case <-ctx.Done():
			err = ctx.Err()
			break wait
		case <-tick.C:
		}
	}
	f.cancel()
	// The library's Close races its own disconnect of a client ending
	// meanwhile (an unguarded flag); closing the sockets underneath is
	// safe and ends each client the same way (its transfer too).
	for _, c := range f.openConns() {
		_ = c.Close()
	}
	return err
}

// openConns lists the admitted control connections not closed yet.
func (f *Front) openConns() []*ctlConn {
	f.mu.Lock()
	defer f.mu.Unlock()
	out := make([]*ctlConn, 0, len(f.conns))
	for c := range f.conns {
		out = append(out, c)
	}
	return out
}

// busy tells whether a client is in a transfer.
func (f *Front) busy() bool {
	f.mu.Lock()
	defer f.mu.Unlock()
	for _, cc := range f.clients {
		if d, ok := cc.Extra().(*clientDriver); ok && d.transfers.Load() > 0 {
			return true
		}
	}
	return false
}

// trackingListener admits each control connection through the host (a
// refused one gets 421 and is closed here, unseen by the library), and
// remembers it so that the end of an upload can ask whether the client is
// still there.
type trackingListener struct {
	net.Listener
	f *Front
}

func (l *trackingListener) Accept() (net.Conn, error) {
	for {
		c, err := l.Listener.Accept()
		if err != nil {
			return nil, err
		}
		release, err := l.f.admit(c.RemoteAddr())
		if err != nil {
			l.f.refuse(c, err)
			continue
		}
		cc := newCtlConn(l.f, c, release)
		l.f.mu.Lock()
		l.f.pending[c.RemoteAddr().String()] = cc
		l.f.conns[cc] = struct{}{}
		l.f.mu.Unlock()
		return cc, nil
	}
}

func (f *Front) claim(remote net.Addr) *ctlConn {
	f.mu.Lock()
	defer f.mu.Unlock()
	k := remote.String()
	c := f.pending[k]
	delete(f.pending, k)
	return c
}

func isLoopback(a net.Addr) bool {
	if ta, ok := a.(*net.TCPAddr); ok {
		return ta.IP.IsLoopback()
	}
	host, _, err := net.SplitHostPort(a.String())
	ip := net.ParseIP(host)
	return err == nil && ip != nil && ip.IsLoopback()
}
