// Package hosttest runs a real selectftp server for tests, as net/http's
// httptest runs a real http.Server: a *host.Server on a loopback port,
// with in-process commands, a temporary root and no plugin binaries.
//
//	srv := hosttest.NewServer(t, put.New(), get.New(), upper.New(), helps.New())
//	c, err := client.Dial(ctx, srv.Addr)
//
// For what a real server never sends (garbage in a response, a connection
// cut mid-body, a foreign protocol), [NewFaultServer] runs a raw listener
// whose connections a test writes byte by byte.
package hosttest

import (
	"context"
	"errors"
	"net"
	"os"
	"path/filepath"
	"sync"
	"testing"
	"time"

	"github.com/hashicorp/go-hclog"

	"github.com/selectftp/selectftp/host"
	"github.com/selectftp/selectftp/sdk"
)

// Server is a running host.Server for one test.
type Server struct {
	// Addr is the address it listens on, 127.0.0.1:port.
	Addr string
	// Root is the temporary folder it serves; files a test puts there are
	// what clients see.
	Root string
	// Host is the server itself. Set its fields between NewUnstartedServer
	// and Start; after Start they must not change.
	Host *host.Server

	t        testing.TB
	ln       net.Listener
	served   chan error
	mu       sync.Mutex
	requests int
	sessions map[string]bool
	started  bool
	closed   bool
}

// NewServer starts a server with cmds registered in-process and stops it
// when the test ends. With upper among cmds, unknown verbs reach it, as
// in selectftpd.
func NewServer(t testing.TB, cmds ...sdk.Command) *Server {
	t.Helper()
	s := NewUnstartedServer(t, cmds...)
	s.Start()
	return s
}

// NewUnstartedServer is NewServer without the start, so that a test can
// set s.Host's fields (timeouts, limits, Backend) first. It listens
// already, so s.Addr is known.
func NewUnstartedServer(t testing.TB, cmds ...sdk.Command) *Server {
	t.Helper()
	root := t.TempDir()
	// TempDir's own path may go through a symlink (/tmp on macOS); the
	// resolved one is what the server reports in errors and logs.
	if r, err := filepath.EvalSymlinks(root); err == nil {
		root = r
	}
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatalf("hosttest: listen: %v", err)
	}
	s := &Server{Addr: ln.Addr().String(), Root: root, t: t, ln: ln, sessions: map[string]bool{}}
	h := host.New()
	h.Root = root
	h.PluginDir = ""
	h.PluginScanInterval = -1
	h.Logger = hclog.New(&hclog.LoggerOptions{Name: "hosttest", Level: hclog.Warn, Output: testWriter{t}})
	for _, c := range cmds {
		if err := h.Register(counted{c, s}); err != nil {
			ln.Close()
			t.Fatalf("hosttest: register %s: %v", c.Describe().Verb, err)
		}
	}
	s.Host = h
	t.Cleanup(s.Close)
	return s
}

// Start serves on the listener NewUnstartedServer opened.
func (s *Server) Start() {
	s.t.Helper()
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.started {
		s.t.Fatal("hosttest: Start called twice")
	}
	s.started = true
	s.served = make(chan error, 1)
	go func() { s.served <- s.Host.Serve(s.ln) }()
}

// Close shuts the server down gracefully (5 s at most, then abruptly). It
// runs by itself when the test ends; calling it twice is harmless.
func (s *Server) Close() {
	s.mu.Lock()
	started, closed := s.started, s.closed
	s.closed = true
	s.mu.Unlock()
	if closed {
		return
	}
	if !started {
		s.ln.Close()
		return
	}
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	if err := s.Host.Shutdown(ctx); err != nil {
		s.t.Errorf("hosttest: shutdown: %v", err)
		s.Host.Close()
	}
	if err := <-s.served; err != nil && !errors.Is(err, host.ErrServerClosed) {
		s.t.Errorf("hosttest: serve: %v", err)
	}
}

// Requests returns how many requests the registered commands have run.
func (s *Server) Requests() int {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.requests
}

// Sessions returns how many connections have run at least one request.
func (s *Server) Sessions() int {
	s.mu.Lock()
	defer s.mu.Unlock()
	return len(s.sessions)
}

// Path returns where the remote path name lies on disk.
func (s *Server) Path(name string) string { return filepath.Join(s.Root, filepath.FromSlash(name)) }

// ReadFile returns the content of the remote file name.
func (s *Server) ReadFile(name string) ([]byte, error) { return os.ReadFile(s.Path(name)) }

// WriteFile stores data as the remote file name, making its folders.
func (s *Server) WriteFile(name string, data []byte) {
	s.t.Helper()
	p := s.Path(name)
	if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
		s.t.Fatal(err)
	}
	if err := os.WriteFile(p, data, 0o644); err != nil {
		s.t.Fatal(err)
	}
}

// counted runs a command and counts its requests and their connections.
type counted struct {
	sdk.Command
	s *Server
}

func (c counted) Run(ctx context.Context, req *sdk.Request, w sdk.ResponseWriter) error {
	c.s.mu.Lock()
	c.s.requests++
	c.s.sessions[req.SessionID] = true
	c.s.mu.Unlock()
	return c.Command.Run(ctx, req, w)
}

// testWriter sends the server's warnings to the test log, where a failing
// test shows them.
type testWriter struct{ t testing.TB }

func (w testWriter) Write(p []byte) (int, error) {
	w.t.Log(string(p))
	return len(p), nil
}
