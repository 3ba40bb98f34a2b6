package host

import (
	"context"
	"errors"
	"net"
	"testing"
	"time"

	"github.com/hashicorp/go-hclog"
)

// TestShutdownDuringPluginStart: plugins start with no server lock held, so
// a Shutdown that comes while they start is not stuck behind them; it cuts
// the start short, and Serve returns ErrServerClosed having released what
// it opened.
func TestShutdownDuringPluginStart(t *testing.T) {
	for _, stop := range []string{"shutdown", "close"} {
		t.Run(stop, func(t *testing.T) {
			t.Parallel()
			inScan := make(chan struct{})
			s := &Server{Root: t.TempDir(), PluginDir: t.TempDir(), Logger: hclog.NewNullLogger()}
			// A plugin start that takes long unless cancelled (a real
			// one may take 10 s).
			s.scanHook = func(ctx context.Context) {
				close(inScan)
				select {
				case <-ctx.Done():
				case <-time.After(20 * time.Second):
				}
			}
			ln, err := net.Listen("tcp", "127.0.0.1:0")
			if err != nil {
				t.Fatal(err)
			}
			served := make(chan error, 1)
			go func() { served <- s.Serve(ln) }()
			select {
			case <-inScan:
			case <-time.After(10 * time.Second):
				t.Fatal("the plugin start never began")
			}
			began := time.Now()
			if stop == "shutdown" {
				ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
				defer cancel()
				if err := s.Shutdown(ctx); err != nil {
					t.Fatalf("Shutdown: %v", err)
				}
			} else {
				s.Close()
			}
			select {
			case err := <-served:
				if !errors.Is(err, ErrServerClosed) {
					t.Fatalf("Serve returned %v, want ErrServerClosed", err)
				}
			case <-time.After(10 * time.Second):
				t.Fatal("Serve did not return")
			}
			if took := time.Since(began); took > 5*time.Second {
				t.Fatalf("%s took %v: it waited for the plugin start", stop, took)
			}
			if s.engine != nil || s.serving {
				t.Fatal("a server stopped during its start went on to serve")
			}
			if _, err := net.DialTimeout("tcp", ln.Addr().String(), time.Second); err == nil {
				t.Fatal("the listener is still open")
			}
		})
	}
}

// TestDefaultsOnRead: the server reads a zero field as its default and
// leaves the caller's struct as it was.
func TestDefaultsOnRead(t *testing.T) {
	var s Server
	if s.maxConns() != DefaultMaxConns || s.idleTimeout() != DefaultIdleTimeout ||
		s.maxConnsPerIP() != DefaultMaxConnsPerIP || s.defaultRequestTimeout() != DefaultRequestTimeout ||
		s.scanInterval() != DefaultPluginScanInterval || s.rootDir() != "." {
		t.Fatal("a zero Server does not read as its defaults")
	}
	s = Server{MaxConnsPerIP: -1, MinBodyRate: -1, RequestTimeout: -1, IdleTimeout: -1, MaxConns: 7}
	if s.maxConnsPerIP() != -1 || s.minBodyRate() != -1 || s.defaultRequestTimeout() != -1 {
		t.Fatal("a negative \"no limit\" was replaced by a default")
	}
	if s.idleTimeout() != DefaultIdleTimeout || s.maxConns() != 7 {
		t.Fatal("a negative timeout must read as the default, a set value as itself")
	}
	if n := New(); n.PluginDir != "" {
		t.Fatalf("New sets PluginDir %q; an embedder's program would fail at once", n.PluginDir)
	}
}

// TestServeLeavesFieldsAlone: serving reads the defaults, it does not write
// them into the caller's struct (which the caller may share or reuse).
func TestServeLeavesFieldsAlone(t *testing.T) {
	s, addr := startServer(t, "", nil)
	if r := dialRaw(t, addr).hello().request("upper", []string{"x"}, nil, nil); string(r.body) != "X\n" {
		t.Fatalf("got %+v", r)
	}
	if s.MaxConns != 0 || s.IdleTimeout != 0 || s.MaxHeader != 0 || s.HelloTimeout != 0 ||
		s.RequestTimeout != 0 || s.MinBodyRate != 0 || s.PluginScanInterval != 0 || s.Backend != "" {
		t.Fatalf("Serve wrote defaults into the Server: %+v", s)
	}
}
