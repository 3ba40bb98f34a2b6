package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/hashicorp/go-hclog"

	"github.com/selectftp/selectftp/host"
	"github.com/selectftp/selectftp/host/ftpfront"
)

// ftpFlags are the FTP front's flags (docs/FTP.md).
type ftpFlags struct {
	listen, ports, public *string
	allowPlain            *bool
	settle                *time.Duration
	loginTimeout          *time.Duration

	mu    sync.Mutex
	front *ftpfront.Front
	done  chan error
}

func addFTPFlags(fs *flag.FlagSet) *ftpFlags {
	return &ftpFlags{
		listen: fs.String("ftp-listen", "", "`address` to serve standard FTP clients on, e.g. 127.0.0.1:2122 (empty: no FTP)"),
		ports:  fs.String("ftp-passive-ports", "", "`range` of ports for FTP passive data connections, e.g. 50000-50100 (empty: any)"),
		public: fs.String("ftp-public-host", "", "IPv4 `address` FTP's PASV announces, for a server behind NAT (empty: the address the client reached)"),
		allowPlain: fs.Bool("ftp-allow-plain", false,
			"let FTP passwords cross a connection that is neither TLS (AUTH TLS) nor loopback"),
		settle: fs.Duration("ftp-upload-settle", 0, "how long the clean end of an FTP upload's data waits for its control connection to close "+
			"(a client killed mid-STOR) before the file is kept (0: 20ms; raise it if clients reach the server over a slow path)"),
		loginTimeout: fs.Duration("ftp-login-timeout", 0, "how long an FTP client may take from connecting to logging in before it is closed (0: 30s)"),
	}
}

// start serves FTP on --ftp-listen (nothing without it). The address obeys
// the native one's rule: other hosts may reach it only with --users and
// TLS, or --insecure.
func (f *ftpFlags) start(srv *host.Server, insecure bool, log hclog.Logger) error {
	if *f.listen == "" {
		if *f.ports != "" || *f.public != "" || *f.allowPlain {
			return errors.New("--ftp-passive-ports, --ftp-public-host and --ftp-allow-plain need --ftp-listen")
		}
		return nil
	}
	cfg := ftpfront.Config{PublicHost: *f.public, AllowPlainLogin: *f.allowPlain,
		IdleTimeout: srv.IdleTimeout, UploadSettle: *f.settle, LoginTimeout: *f.loginTimeout, Logger: log.Named("ftp")}
	if *f.ports != "" {
		lo, hi, ok := strings.Cut(*f.ports, "-")
		var err1, err2 error
		cfg.PassivePortMin, err1 = strconv.Atoi(strings.TrimSpace(lo))
		cfg.PassivePortMax, err2 = strconv.Atoi(strings.TrimSpace(hi))
		if !ok || err1 != nil || err2 != nil || cfg.PassivePortMin < 1 {
			return fmt.Errorf("--ftp-passive-ports: %q is not LOW-HIGH", *f.ports)
		}
	}
	if srv.TLSConfig != nil {
		cfg.TLSConfig = srv.TLSConfig.Clone()
	}
	front, err := ftpfront.New(srv, cfg)
	if err != nil {
		return fmt.Errorf("--ftp-*: %w", err)
	}
	ln, err := listen(*f.listen, insecure, srv.Users != nil, srv.TLSConfig != nil, log.Named("ftp"))
	if err != nil {
		return fmt.Errorf("--ftp-listen: %w", err)
	}
	f.mu.Lock()
	f.front, f.done = front, make(chan error, 1)
	f.mu.Unlock()
	go func() { f.done <- front.Serve(ln) }()
	return nil
}

// shutdown stops the FTP front (running transfers end until ctx is done).
func (f *ftpFlags) shutdown(ctx context.Context) {
	f.mu.Lock()
	front, done := f.front, f.done
	f.mu.Unlock()
	if front == nil {
		return
	}
	_ = front.Shutdown(ctx)
	<-done
}
