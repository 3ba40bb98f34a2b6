package host

import (
	"context"
	"crypto/tls"
	"errors"
	"fmt"
	"net"
	"os"
	"path/filepath"
	"sync"
	"sync/atomic"
	"time"

	"github.com/hashicorp/go-hclog"

	"github.com/selectftp/selectftp/host/auth"
	"github.com/selectftp/selectftp/host/internal/netpoll"
	"github.com/selectftp/selectftp/host/internal/plugins"
	"github.com/selectftp/selectftp/internal/checksum"
	"github.com/selectftp/selectftp/internal/workers"
	"github.com/selectftp/selectftp/protocol"
	"github.com/selectftp/selectftp/sdk"
)

// Defaults. A Server reads a zero field as its default (see each field), so
// these are what an embedder gets without setting anything; selectftpd's
// flags start from the same values.
const (
	// DefaultAddr is where ListenAndServe listens when Addr is empty.
	DefaultAddr = "127.0.0.1:2121"
	// DefaultRoot is selectftpd's --root. A Server whose Root is empty
	// serves the current folder instead.
	DefaultRoot = "./data"
	// DefaultPluginDir is selectftpd's --plugins. A Server whose PluginDir
	// is empty loads no plugins: it serves its in-process commands only.
	DefaultPluginDir = "./plugins.d"
	// DefaultFallback is the verb New routes unknown verbs to.
	DefaultFallback = "upper"
	// DefaultMaxConns bounds open connections.
	DefaultMaxConns = 1024
	// DefaultMaxConnsPerIP is the per-address connection limit: well below
	// the total, so one host cannot take every slot.
	DefaultMaxConnsPerIP = 128
	// DefaultMaxHeader bounds control frames.
	DefaultMaxHeader = 64 << 10
	// DefaultIdleTimeout closes a connection with no request and no traffic.
	DefaultIdleTimeout = 5 * time.Minute
	// DefaultFrameTimeout closes a connection that leaves a frame half-sent.
	DefaultFrameTimeout = 30 * time.Second
	// DefaultWriteTimeout closes a connection that accepts no output.
	DefaultWriteTimeout = 60 * time.Second
	// DefaultHelloTimeout bounds the handshake.
	DefaultHelloTimeout = 10 * time.Second
	// DefaultMinRate is the slowest a client may send a body or read
	// output, in bytes per second.
	DefaultMinRate = 1 << 10
	// DefaultRequestTimeout is how long a request may move no byte.
	DefaultRequestTimeout = 60 * time.Second
	// DefaultPluginScanInterval is how often the plugins folder is rescanned.
	DefaultPluginScanInterval = 2 * time.Second
)

// Version is the server version sent in the Hello frame.
const Version = "0.1.0"

// ErrServerClosed is returned by Serve and ListenAndServe after Shutdown or
// Close.
var ErrServerClosed = errors.New("host: server closed")

// Backend names for Server.Backend.
const (
	BackendReactor   = "reactor"   // epoll event loops (Linux)
	BackendGoroutine = "goroutine" // a goroutine per connection
)

// Server serves selectftp clients. Set fields before Serve; they must not
// change after, and the server never changes them itself: a zero field
// means its default (the Default constants), read when used. The zero value
// serves in-process commands only (see Register), from the current folder.
type Server struct {
	// Addr is the address ListenAndServe listens on (default DefaultAddr).
	Addr string
	// Root is the folder clients' paths are confined to (default ".", the
	// current folder). It is created when missing.
	Root string
	// PluginDir is where plugin binaries are discovered; "" (the default,
	// also New's) loads none. selectftpd sets DefaultPluginDir.
	PluginDir string
	// PluginSettings holds each verb's settings, passed to its plugin.
	PluginSettings map[string]map[string]any
	// PluginScanInterval is how often PluginDir is rescanned for added,
	// changed and removed plugins (default DefaultPluginScanInterval; negative: never).
	PluginScanInterval time.Duration
	// Fallback is the verb unknown verbs are routed to, with the client's
	// word prepended to the args; "" answers unknown_verb instead.
	Fallback string
	// Backend picks the connection engine: BackendReactor (default where
	// supported) or BackendGoroutine.
	Backend string
	// MaxConns limits open connections (default DefaultMaxConns); a client over the
	// limit is told "busy" and closed.
	MaxConns int
	// MaxConnsPerIP limits open connections from one address (default
	// DefaultMaxConnsPerIP; negative: no limit), so one host cannot take
	// every slot.
	MaxConnsPerIP int
	// MaxHeader limits control frames (default DefaultMaxHeader).
	MaxHeader int
	// IdleTimeout closes connections with no request and no traffic
	// (default DefaultIdleTimeout).
	IdleTimeout time.Duration
	// FrameTimeout closes connections that started a frame header or control
	// frame and did not finish it (default DefaultFrameTimeout).
	FrameTimeout time.Duration
	// WriteTimeout closes connections whose peer accepts no bytes while
	// output waits (default DefaultWriteTimeout). It is also the window MinWriteRate is
	// measured over.
	WriteTimeout time.Duration
	// HelloTimeout closes connections that have not completed the Hello
	// this long after they were accepted (default DefaultHelloTimeout).
	HelloTimeout time.Duration
	// MinBodyRate is the slowest a request body may arrive, in bytes per
	// second averaged over each FrameTimeout window (default DefaultMinRate;
	// negative: no minimum). Time the server makes the client wait does
	// not count.
	MinBodyRate int
	// MinWriteRate is the slowest a client may read output, in bytes per
	// second averaged over each WriteTimeout window in which output waited
	// throughout (default DefaultMinRate; negative: no minimum).
	MinWriteRate int
	// RequestTimeout cancels a request that moves no byte (body in,
	// output out) for this long (default DefaultRequestTimeout; negative:
	// never). Transfers
	// are measured by progress, not by how long they take. A command that
	// ignores the cancellation is answered for a few seconds later, and
	// its connection closed.
	RequestTimeout time.Duration
	// VerbTimeouts overrides RequestTimeout per verb.
	VerbTimeouts map[string]time.Duration
	// MinChecksum is the weakest digest a transfer may be verified with:
	// "" or "xxh128" accepts any (xxh128, the default, catches accidental
	// corruption at memory speed); "sha256" or "blake3" requires a
	// cryptographic one, either of the two. A request naming a weaker one
	// is refused before its body.
	MinChecksum string
	// Logger receives the server's log (default: hclog to stderr).
	Logger hclog.Logger
	// Users, when set, makes every client log in (SCRAM-SHA-256, see
	// docs/PROTOCOL.md) before its first request, and each session's
	// requests run in its account's Root. nil serves anonymously: every
	// client gets the whole of Root.
	Users auth.Store
	// TLSConfig, when set, makes the server speak TLS only, from each
	// connection's first byte, on either backend (see host/tls.go);
	// logins are then bound to the connection (SCRAM-SHA-256-PLUS).
	// Set ClientAuth and ClientCAs to require client certificates.
	TLSConfig *tls.Config
	// DecoyKey is the secret (auth.DecoyKeySize bytes) unknown names'
	// stand-in salts are derived from, with Users. Keep it across
	// restarts (users.DecoyKey keeps one beside the users file), or a
	// restart changes every unknown name's salt and no real one's, which
	// tells the names apart. nil: a random key per process.
	DecoyKey []byte
	// Defender scores failed logins and protocol errors before a login
	// per client address, delays failed logins' answers and bans an
	// address that keeps failing (see DefenderConfig). nil: a Defender
	// with the default numbers.
	Defender *Defender
	// Audit receives an event per login and per request (nil: none); see
	// AuditLog for JSON lines.
	Audit Auditor

	reg       registry
	mu        sync.Mutex
	starting  chan struct{}      // non-nil while start runs; closed when it ends
	stopStart context.CancelFunc // cancels a plugin start under way
	backend   string             // the engine chosen
	hello     []byte             // the Hello reply, the same for every client
	minSum    checksum.Algorithm // MinChecksum, parsed
	sums      []string           // the algorithms accepted, the default first
	logOnce   sync.Once
	log       hclog.Logger // Logger, or the default one
	engine    netpoll.Engine
	root      *os.Root
	plugins   *plugins.Manager
	sessions  map[*session]struct{}
	perIP     map[string]int // open connections by peer address
	closing   atomic.Bool
	serving   bool
	done      chan struct{} // closed when the last session ends after Shutdown
	nextID    atomic.Uint64
	bigBodies atomic.Int32  // uploads holding a bigBodyBuffer
	workers   *workers.Pool // runs requests
	rootClose sync.Once
	logins    *logins               // with Users: decoys and the users' trees
	defender  *Defender             // Defender, or the default one
	scanHook  func(context.Context) // tests: runs just before the first plugin scan
	fronts    frontState            // front ends' connections and calls (admit.go)
}

// New returns a Server that listens on DefaultAddr, serves DefaultRoot and
// routes unknown verbs to DefaultFallback. It loads no plugins (PluginDir
// is empty): register in-process commands, or set PluginDir, as selectftpd
// does with DefaultPluginDir.
func New() *Server {
	return &Server{Addr: DefaultAddr, Root: DefaultRoot, Fallback: DefaultFallback}
}

// Register adds in-process commands, such as plugins.Standard() for the
// standard verbs. Verbs are lower-case words; a verb already registered is
// an error (the others are still added). Register before Serve; plugins
// loaded later with the same verb are skipped.
func (s *Server) Register(cmds ...sdk.Command) error {
	var errs []error
	for _, cmd := range cmds {
		if err := s.reg.add(cmd, "in-process"); err != nil {
			errs = append(errs, err)
		}
	}
	return errors.Join(errs...)
}

// Commands lists the verbs the server serves now, sorted.
func (s *Server) Commands() []sdk.Description { return s.reg.list() }

// logger is Logger, or a default one made once; the field stays as set.
func (s *Server) logger() hclog.Logger {
	s.logOnce.Do(func() {
		s.log = s.Logger
		if s.log == nil {
			s.log = hclog.New(&hclog.LoggerOptions{Name: "selectftpd"})
		}
	})
	return s.log
}

// orDefault is v, or def when v is zero (or, unless negOK, negative).
func orDefault[T int | time.Duration](v, def T, negOK bool) T {
	if v == 0 || (v < 0 && !negOK) {
		return def
	}
	return v
}

// The effective settings: each field as set, or its default.

func (s *Server) maxConns() int  { return orDefault(s.MaxConns, DefaultMaxConns, false) }
func (s *Server) maxHeader() int { return orDefault(s.MaxHeader, DefaultMaxHeader, false) }
func (s *Server) maxConnsPerIP() int {
	return orDefault(s.MaxConnsPerIP, DefaultMaxConnsPerIP, true)
}
func (s *Server) idleTimeout() time.Duration {
	return orDefault(s.IdleTimeout, DefaultIdleTimeout, false)
}
func (s *Server) frameTimeout() time.Duration {
	return orDefault(s.FrameTimeout, DefaultFrameTimeout, false)
}
func (s *Server) writeTimeout() time.Duration {
	return orDefault(s.WriteTimeout, DefaultWriteTimeout, false)
}
func (s *Server) helloTimeout() time.Duration {
	return orDefault(s.HelloTimeout, DefaultHelloTimeout, false)
}
func (s *Server) minBodyRate() int  { return orDefault(s.MinBodyRate, DefaultMinRate, true) }
func (s *Server) minWriteRate() int { return orDefault(s.MinWriteRate, DefaultMinRate, true) }
func (s *Server) defaultRequestTimeout() time.Duration {
	return orDefault(s.RequestTimeout, DefaultRequestTimeout, true)
}
func (s *Server) scanInterval() time.Duration {
	return orDefault(s.PluginScanInterval, DefaultPluginScanInterval, true)
}
func (s *Server) rootDir() string {
	if s.Root == "" {
		return "."
	}
	return s.Root
}

// ListenAndServe listens on s.Addr and serves.
func (s *Server) ListenAndServe() error {
	addr := s.Addr
	if addr == "" {
		addr = DefaultAddr
	}
	ln, err := net.Listen("tcp", addr)
	if err != nil {
		return err
	}
	return s.Serve(ln)
}

// Serve opens the root, starts the plugins, and serves connections from ln
// until Shutdown or Close, when it returns ErrServerClosed. It closes ln.
func (s *Server) Serve(ln net.Listener) error {
	if err := s.start(ln); err != nil {
		ln.Close()
		return err
	}
	s.logger().Info("serving", "addr", ln.Addr().String(), "root", s.root.Name(),
		"backend", s.backend, "verbs", len(s.reg.list()))
	stopSweep := make(chan struct{})
	go s.sweep(stopSweep)
	err := s.engine.Serve(ln, &handler{s})
	close(stopSweep)
	if s.closing.Load() {
		return ErrServerClosed
	}
	s.closing.Store(true)
	s.release() // the engine failed: stop the plugins too
	return err
}

// start opens the root, makes the engine and starts the plugins. No lock is
// held while it works (plugins take up to seconds each to start): s.mu only
// claims the start and then publishes its result. A Shutdown or Close that
// comes meanwhile cancels the plugin start and start undoes its work.
func (s *Server) start(ln net.Listener) error {
	s.mu.Lock()
	if s.closing.Load() {
		s.mu.Unlock()
		return ErrServerClosed
	}
	if s.serving || s.starting != nil {
		s.mu.Unlock()
		return errors.New("host: Serve called twice")
	}
	ctx, cancel := context.WithCancel(context.Background())
	s.starting, s.stopStart = make(chan struct{}), cancel
	s.mu.Unlock()

	root, engine, mgr, err := s.open(ctx, ln)

	s.mu.Lock()
	defer s.mu.Unlock()
	close(s.starting)
	s.starting = nil
	cancel()
	if err == nil && s.closing.Load() {
		err = ErrServerClosed // Shutdown or Close came while we started
	}
	if err != nil {
		if mgr != nil {
			mgr.Close()
		}
		if engine != nil {
			engine.Close()
		}
		if root != nil {
			root.Close()
		}
		return err
	}
	s.root, s.engine, s.plugins = root, engine, mgr
	s.sessions = map[*session]struct{}{}
	s.perIP = map[string]int{}
	s.workers = workers.New(10 * time.Second)
	s.serving = true
	if _, ok := s.reg.lookup(s.Fallback); s.Fallback != "" && !ok {
		s.logger().Warn("the fallback verb is not served (yet); unknown verbs get unknown_verb", "fallback", s.Fallback)
	}
	return nil
}

// open does start's work without a lock. What it returns it opened; on
// error it has closed what it opened.
func (s *Server) open(ctx context.Context, ln net.Listener) (*os.Root, netpoll.Engine, *plugins.Manager, error) {
	s.logger()
	s.startGuard()
	if err := s.acceptChecksums(); err != nil {
		return nil, nil, nil, err
	}
	if s.Users != nil {
		decoys := auth.NewDecoys()
		if s.DecoyKey != nil {
			d, err := auth.NewDecoysKey(s.DecoyKey)
			if err != nil {
				return nil, nil, nil, fmt.Errorf("host: DecoyKey: %w", err)
			}
			decoys = d
		}
		s.logins = &logins{decoys: decoys, roots: map[string]*os.Root{}}
	}
	frame, err := protocol.Marshal(protocol.TypeHello, s.helloMessage())
	if err != nil {
		return nil, nil, nil, err
	}
	s.hello = frame // read by sessions only once serving, after s.mu
	if s.PluginDir != "" {
		// A mistyped folder would otherwise serve no verbs, silently.
		if fi, err := os.Stat(s.PluginDir); err != nil || !fi.IsDir() {
			if err == nil {
				err = errors.New("not a folder")
			}
			return nil, nil, nil, fmt.Errorf("host: plugins folder %s: %w", s.PluginDir, err)
		}
	}
	abs, err := filepath.Abs(s.rootDir())
	if err != nil {
		return nil, nil, nil, err
	}
	if err := os.MkdirAll(abs, 0o755); err != nil {
		return nil, nil, nil, fmt.Errorf("host: create root: %w", err)
	}
	root, err := os.OpenRoot(abs)
	if err != nil {
		return nil, nil, nil, fmt.Errorf("host: open root: %w", err)
	}
	engine, err := s.startEngine(ln)
	if err != nil {
		root.Close()
		return nil, nil, nil, err
	}
	if s.PluginDir == "" {
		return root, engine, nil, nil
	}
	mgr := plugins.New(plugins.Config{
		Dir: s.PluginDir, Settings: s.PluginSettings, Logger: s.logger().Named("plugins"),
		Register:   func(cmd sdk.Command, path string) error { return s.reg.add(cmd, path) },
		Unregister: func(verb, path string) { s.reg.remove(verb, path) },
	})
	if s.scanHook != nil {
		s.scanHook(ctx)
	}
	if err := mgr.Scan(ctx); err != nil {
		// A plugins folder someone else could write is refused: an
		// operator must hear it at start, not find a server with no
		// verbs.
		mgr.Close()
		engine.Close()
		root.Close()
		return nil, nil, nil, fmt.Errorf("host: %w", err)
	}
	if iv := s.scanInterval(); iv > 0 {
		mgr.Watch(iv)
	}
	return root, engine, mgr, nil
}

// startEngine makes the connection engine Backend names (and records which
// one in s.backend).
func (s *Server) startEngine(ln net.Listener) (netpoll.Engine, error) {
	opts := netpoll.Options{ReadBuffer: 256 << 10, OnAcceptError: func(err error) {
		go s.logger().Warn("accept failed; retrying", "error", err)
	}, TLS: s.tlsConfig(), TLSPlainReply: plainReply}
	_, isTCP := ln.(*net.TCPListener)
	switch s.Backend {
	case "", BackendReactor:
		if isTCP {
			if e, err := netpoll.NewReactor(opts); err == nil {
				s.backend = BackendReactor
				return e, nil
			} else if s.Backend == BackendReactor {
				return nil, fmt.Errorf("host: reactor: %w", err)
			}
		} else if s.Backend == BackendReactor {
			return nil, fmt.Errorf("host: the reactor needs a TCP listener, not %T", ln)
		}
	case BackendGoroutine:
	default:
		return nil, fmt.Errorf("host: unknown backend %q", s.Backend)
	}
	s.backend = BackendGoroutine
	return netpoll.NewGoroutine(opts), nil
}

// Shutdown stops the server gracefully: it stops accepting, tells idle
// clients the server is shutting down, lets running requests finish (front
// ends' Local calls too; new ones are refused), then stops the plugins. If
// ctx ends first, it closes what is left and returns ctx's error.
func (s *Server) Shutdown(ctx context.Context) error {
	s.mu.Lock()
	if !s.closing.CompareAndSwap(false, true) {
		s.mu.Unlock()
		return nil
	}
	if s.starting != nil {
		// Serve is still starting: cut the plugin start short, and
		// start undoes itself and makes Serve return ErrServerClosed.
		starting := s.starting
		s.stopStart()
		s.mu.Unlock()
		select {
		case <-starting:
			return nil
		case <-ctx.Done():
			return ctx.Err()
		}
	}
	if !s.serving {
		s.mu.Unlock()
		return nil
	}
	s.done = make(chan struct{})
	if len(s.sessions) == 0 {
		close(s.done)
	}
	live := make([]*session, 0, len(s.sessions))
	for ss := range s.sessions {
		live = append(live, ss)
	}
	s.mu.Unlock()

	s.engine.StopAccepting() // closes the listener
	for _, ss := range live {
		// An idle session closes at once, a busy one when its request
		// ends: step decides, on the session's loop.
		ss.post(func() { ss.apply(sessEvent{kind: evShutdown}) })
	}
	var err error
	select {
	case <-s.done:
		// Front ends' calls (Local) are drained like native requests.
		err = s.drainLocal(ctx)
	case <-ctx.Done():
		err = ctx.Err()
	}
	s.release()
	return err
}

// Close stops the server at once: open connections are closed and running
// requests cancelled.
func (s *Server) Close() error {
	s.mu.Lock()
	s.closing.Store(true)
	serving := s.serving
	starting := s.starting
	if starting != nil {
		s.stopStart() // start undoes itself, seeing closing
	}
	s.mu.Unlock()
	if starting != nil {
		// Return only once start has undone what it opened: a caller
		// may reuse the port or remove the plugins folder next.
		<-starting
	}
	if serving {
		s.release()
	}
	return nil
}

func (s *Server) release() {
	s.cancelLocal() // what Shutdown's ctx did not wait for
	s.engine.Close()
	if s.plugins != nil {
		s.plugins.Close()
	}
	// s.root stays set: requests still finishing read it without a lock,
	// and a closed os.Root fails their file calls cleanly.
	s.rootClose.Do(func() { s.root.Close(); s.logins.closeRoots() })
}

// addSession tracks ss, or says why not. It checks closing under s.mu, as
// Shutdown sets it, so no session slips in after Shutdown took its list.
func (s *Server) addSession(ss *session) (code protocol.Code, msg string, ok bool) {
	// Worked out when needed rather than kept: 10,000 idle sessions would
	// each hold the string.
	if code, msg, banned := s.refuseBanned(ss.c.RemoteAddr()); banned {
		return code, msg, false
	}
	ip := peerIP(ss.c.RemoteAddr())
	s.mu.Lock()
	defer s.mu.Unlock()
	if code, msg, full := s.overLimits(ip); full {
		return code, msg, false
	}
	s.sessions[ss] = struct{}{}
	s.perIP[ip]++
	return "", "", true
}

func (s *Server) dropSession(ss *session) {
	ip := peerIP(ss.c.RemoteAddr())
	s.mu.Lock()
	defer s.mu.Unlock()
	if _, ok := s.sessions[ss]; !ok {
		return
	}
	delete(s.sessions, ss)
	if s.perIP[ip]--; s.perIP[ip] <= 0 {
		delete(s.perIP, ip) // the map must not grow with every address ever seen
	}
	if s.done != nil && len(s.sessions) == 0 {
		close(s.done)
	}
}

// dispatch runs req on its command, or on the fallback for unknown verbs.
// fallback is the verb that answered when req was routed to the fallback
// ("" when its own command ran): the Status says so, so that a client can
// tell "rm x" answered by upper from a delete.
func (s *Server) dispatch(ctx context.Context, req *sdk.Request, w sdk.ResponseWriter) (fallback string, err error) {
	e, ok := s.reg.lookup(req.Verb)
	if ok {
		req.Verb = e.desc.Verb
	} else if s.Fallback != "" {
		if e, ok = s.reg.lookup(s.Fallback); ok {
			req.Args = append([]string{req.Verb}, req.Args...)
			req.Verb = e.desc.Verb
			fallback = e.desc.Verb
		}
	}
	if !ok {
		if _, ok := s.reg.lookup("helps"); ok {
			return "", sdk.Errorf(sdk.CodeUnknownVerb, "unknown verb %q; helps lists the verbs", req.Verb)
		}
		return "", sdk.Errorf(sdk.CodeUnknownVerb, "unknown verb %q", req.Verb)
	}
	if err := authorize(ctx, e.desc, req); err != nil {
		return fallback, err
	}
	return fallback, e.cmd.Run(ctx, req, w)
}
