package host

import (
	"context"
	"errors"
	"fmt"
	"net"
	"os"
	"path/filepath"
	"sync"
	"sync/atomic"
	"time"

	"github.com/hashicorp/go-hclog"

	"github.com/selectftp/selectftp/host/internal/netpoll"
	"github.com/selectftp/selectftp/host/internal/plugins"
	"github.com/selectftp/selectftp/internal/workers"
	"github.com/selectftp/selectftp/protocol"
	"github.com/selectftp/selectftp/sdk"
)

// Defaults used by New and the selectftpd command.
const (
	DefaultAddr      = "127.0.0.1:2121"
	DefaultRoot      = "./data"
	DefaultPluginDir = "./plugins.d"
	DefaultFallback  = "upper"
	// DefaultMaxConnsPerIP is the per-address connection limit: well below
	// the total, so one host cannot take every slot.
	DefaultMaxConnsPerIP = 128
	// DefaultHelloTimeout bounds the handshake.
	DefaultHelloTimeout = 10 * time.Second
	// DefaultMinRate is the slowest a client may send a body or read
	// output, in bytes per second.
	DefaultMinRate = 1 << 10
	// DefaultRequestTimeout is how long a request may move no byte.
	DefaultRequestTimeout = 60 * time.Second
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
// change after. The zero value serves in-process commands only, from the
// current folder; New sets the defaults selectftpd uses.
type Server struct {
	// Addr is the address ListenAndServe listens on (default DefaultAddr).
	Addr string
	// Root is the folder clients' paths are confined to (default "."). It is
	// created when missing.
	Root string
	// PluginDir is where plugin binaries are discovered; "" loads none.
	PluginDir string
	// PluginSettings holds each verb's settings, passed to its plugin.
	PluginSettings map[string]map[string]any
	// PluginScanInterval is how often PluginDir is rescanned for added,
	// changed and removed plugins (default 2s; negative: never).
	PluginScanInterval time.Duration
	// Fallback is the verb unknown verbs are routed to, with the client's
	// word prepended to the args; "" answers unknown_verb instead.
	Fallback string
	// Backend picks the connection engine: BackendReactor (default where
	// supported) or BackendGoroutine.
	Backend string
	// MaxConns limits open connections (default 1024); a client over the
	// limit is told "busy" and closed.
	MaxConns int
	// MaxConnsPerIP limits open connections from one address (default
	// DefaultMaxConnsPerIP; negative: no limit), so one host cannot take
	// every slot.
	MaxConnsPerIP int
	// MaxHeader limits control frames (default 64 KiB).
	MaxHeader int
	// IdleTimeout closes connections with no request and no traffic
	// (default 5m).
	IdleTimeout time.Duration
	// FrameTimeout closes connections that started a frame header or control
	// frame and did not finish it (default 30s).
	FrameTimeout time.Duration
	// WriteTimeout closes connections whose peer accepts no bytes while
	// output waits (default 60s). It is also the window MinWriteRate is
	// measured over.
	WriteTimeout time.Duration
	// HelloTimeout closes connections that have not completed the Hello
	// this long after they were accepted (default 10s).
	HelloTimeout time.Duration
	// MinBodyRate is the slowest a request body may arrive, in bytes per
	// second averaged over each FrameTimeout window (default 1 KiB/s;
	// negative: no minimum). Time the server makes the client wait does
	// not count.
	MinBodyRate int
	// MinWriteRate is the slowest a client may read output, in bytes per
	// second averaged over each WriteTimeout window in which output waited
	// throughout (default 1 KiB/s; negative: no minimum).
	MinWriteRate int
	// RequestTimeout cancels a request that moves no byte (body in,
	// output out) for this long (default 60s; negative: never). Transfers
	// are measured by progress, not by how long they take. A command that
	// ignores the cancellation is answered for a few seconds later, and
	// its connection closed.
	RequestTimeout time.Duration
	// VerbTimeouts overrides RequestTimeout per verb.
	VerbTimeouts map[string]time.Duration
	// Logger receives the server's log (default: hclog to stderr).
	Logger hclog.Logger

	reg       registry
	mu        sync.Mutex
	engine    netpoll.Engine
	root      *os.Root
	plugins   *plugins.Manager
	sessions  map[*session]struct{}
	perIP     map[string]int // open connections by peer address
	closing   atomic.Bool
	serving   bool
	done      chan struct{} // closed when the last session ends after Shutdown
	nextID    atomic.Uint64
	workers   *workers.Pool // runs requests
	rootClose sync.Once
}

// New returns a Server with selectftpd's defaults: DefaultAddr,
// DefaultRoot, DefaultPluginDir and the "upper" fallback.
func New() *Server {
	return &Server{Addr: DefaultAddr, Root: DefaultRoot, PluginDir: DefaultPluginDir, Fallback: DefaultFallback}
}

// Register adds an in-process command. Verbs are lower-case words; a verb
// already registered is an error. Register before Serve; plugins loaded later
// with the same verb are skipped.
func (s *Server) Register(cmd sdk.Command) error {
	return s.reg.add(cmd, "in-process")
}

// Commands lists the verbs the server serves now, sorted.
func (s *Server) Commands() []sdk.Description { return s.reg.list() }

func (s *Server) logger() hclog.Logger {
	if s.Logger == nil {
		s.Logger = hclog.New(&hclog.LoggerOptions{Name: "selectftpd"})
	}
	return s.Logger
}

func (s *Server) defaults() {
	s.logger()
	if s.Root == "" {
		s.Root = "."
	}
	if s.MaxConns <= 0 {
		s.MaxConns = 1024
	}
	if s.MaxHeader <= 0 {
		s.MaxHeader = 64 << 10
	}
	if s.IdleTimeout <= 0 {
		s.IdleTimeout = 5 * time.Minute
	}
	if s.FrameTimeout <= 0 {
		s.FrameTimeout = 30 * time.Second
	}
	if s.WriteTimeout <= 0 {
		s.WriteTimeout = 60 * time.Second
	}
	if s.MaxConnsPerIP == 0 {
		s.MaxConnsPerIP = DefaultMaxConnsPerIP
	}
	if s.HelloTimeout <= 0 {
		s.HelloTimeout = DefaultHelloTimeout
	}
	if s.MinBodyRate == 0 {
		s.MinBodyRate = DefaultMinRate
	}
	if s.MinWriteRate == 0 {
		s.MinWriteRate = DefaultMinRate
	}
	if s.RequestTimeout == 0 {
		s.RequestTimeout = DefaultRequestTimeout
	}
	if s.PluginScanInterval == 0 {
		s.PluginScanInterval = 2 * time.Second
	}
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
		"backend", s.Backend, "verbs", len(s.reg.list()))
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

func (s *Server) start(ln net.Listener) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.closing.Load() {
		return ErrServerClosed
	}
	if s.serving {
		return errors.New("host: Serve called twice")
	}
	s.defaults()
	if s.PluginDir != "" {
		// A mistyped folder would otherwise serve no verbs, silently.
		if fi, err := os.Stat(s.PluginDir); err != nil || !fi.IsDir() {
			if err == nil {
				err = errors.New("not a folder")
			}
			return fmt.Errorf("host: plugins folder %s: %w", s.PluginDir, err)
		}
	}
	abs, err := filepath.Abs(s.Root)
	if err != nil {
		return err
	}
	if err := os.MkdirAll(abs, 0o755); err != nil {
		return fmt.Errorf("host: create root: %w", err)
	}
	if s.root, err = os.OpenRoot(abs); err != nil {
		return fmt.Errorf("host: open root: %w", err)
	}
	if err := s.startEngine(ln); err != nil {
		s.root.Close()
		return err
	}
	s.sessions = map[*session]struct{}{}
	s.perIP = map[string]int{}
	s.workers = workers.New(10 * time.Second)
	s.serving = true
	if s.PluginDir != "" {
		s.plugins = plugins.New(plugins.Config{
			Dir: s.PluginDir, Settings: s.PluginSettings, Logger: s.logger().Named("plugins"),
			Register:   func(cmd sdk.Command, path string) error { return s.reg.add(cmd, path) },
			Unregister: func(verb, path string) { s.reg.remove(verb, path) },
		})
		if err := s.plugins.Scan(context.Background()); err != nil {
			// A plugins folder someone else could write is refused: an
			// operator must hear it at start, not find a server with no
			// verbs.
			s.plugins.Close()
			s.engine.Close()
			s.root.Close()
			s.serving = false
			return fmt.Errorf("host: %w", err)
		}
		if s.PluginScanInterval > 0 {
			s.plugins.Watch(s.PluginScanInterval)
		}
	}
	if _, ok := s.reg.lookup(s.Fallback); s.Fallback != "" && !ok {
		s.logger().Warn("the fallback verb is not served (yet); unknown verbs get unknown_verb", "fallback", s.Fallback)
	}
	return nil
}

func (s *Server) startEngine(ln net.Listener) error {
	opts := netpoll.Options{ReadBuffer: 256 << 10, OnAcceptError: func(err error) {
		go s.logger().Warn("accept failed; retrying", "error", err)
	}}
	_, isTCP := ln.(*net.TCPListener)
	switch s.Backend {
	case "", BackendReactor:
		if isTCP {
			if e, err := netpoll.NewReactor(opts); err == nil {
				s.engine, s.Backend = e, BackendReactor
				return nil
			} else if s.Backend == BackendReactor {
				return fmt.Errorf("host: reactor: %w", err)
			}
		} else if s.Backend == BackendReactor {
			return fmt.Errorf("host: the reactor needs a TCP listener, not %T", ln)
		}
		s.engine, s.Backend = netpoll.NewGoroutine(opts), BackendGoroutine
	case BackendGoroutine:
		s.engine = netpoll.NewGoroutine(opts)
	default:
		return fmt.Errorf("host: unknown backend %q", s.Backend)
	}
	return nil
}

// Shutdown stops the server gracefully: it stops accepting, tells idle
// clients the server is shutting down, lets running requests finish, then
// stops the plugins. If ctx ends first, it closes what is left and returns
// ctx's error.
func (s *Server) Shutdown(ctx context.Context) error {
	s.mu.Lock()
	if !s.closing.CompareAndSwap(false, true) {
		s.mu.Unlock()
		return nil
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
		ss.shutdown()
	}
	var err error
	select {
	case <-s.done:
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
	s.mu.Unlock()
	if serving {
		s.release()
	}
	return nil
}

func (s *Server) release() {
	s.engine.Close()
	if s.plugins != nil {
		s.plugins.Close()
	}
	// s.root stays set: requests still finishing read it without a lock,
	// and a closed os.Root fails their file calls cleanly.
	s.rootClose.Do(func() { s.root.Close() })
}

// addSession tracks ss, or says why not. It checks closing under s.mu, as
// Shutdown sets it, so no session slips in after Shutdown took its list.
func (s *Server) addSession(ss *session) (code protocol.Code, msg string, ok bool) {
	s.mu.Lock()
	defer s.mu.Unlock()
	switch {
	case s.closing.Load():
		return protocol.CodeShuttingDown, "the server is shutting down", false
	case len(s.sessions) >= s.MaxConns:
		return protocol.CodeBusy, fmt.Sprintf("too many connections (limit %d); try again later", s.MaxConns), false
	case s.MaxConnsPerIP > 0 && s.perIP[ss.ip] >= s.MaxConnsPerIP:
		return protocol.CodeBusy, fmt.Sprintf("too many connections from %s (limit %d); try again later", ss.ip, s.MaxConnsPerIP), false
	}
	s.sessions[ss] = struct{}{}
	s.perIP[ss.ip]++
	return "", "", true
}

func (s *Server) dropSession(ss *session) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if _, ok := s.sessions[ss]; !ok {
		return
	}
	delete(s.sessions, ss)
	if s.perIP[ss.ip]--; s.perIP[ss.ip] <= 0 {
		delete(s.perIP, ss.ip) // the map must not grow with every address ever seen
	}
	if s.done != nil && len(s.sessions) == 0 {
		close(s.done)
	}
}

// dispatch runs req on its command, or on the fallback for unknown verbs.
func (s *Server) dispatch(ctx context.Context, req *sdk.Request, w sdk.ResponseWriter) error {
	e, ok := s.reg.lookup(req.Verb)
	if ok {
		req.Verb = e.desc.Verb
	} else if s.Fallback != "" {
		if e, ok = s.reg.lookup(s.Fallback); ok {
			req.Args = append([]string{req.Verb}, req.Args...)
			req.Verb = e.desc.Verb
		}
	}
	if !ok {
		if _, ok := s.reg.lookup("helps"); ok {
			return sdk.Errorf(sdk.CodeUnknownVerb, "unknown verb %q; helps lists the verbs", req.Verb)
		}
		return sdk.Errorf(sdk.CodeUnknownVerb, "unknown verb %q", req.Verb)
	}
	return e.cmd.Run(ctx, req, w)
}
