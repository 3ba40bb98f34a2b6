// Package plugins discovers, starts, supervises and stops the command plugin
// binaries in a folder. Each binary serves one verb over go-plugin's gRPC
// transport; the manager hands the host a command per verb that restarts a
// crashed plugin on its next request.
package plugins

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"sort"
	"sync"
	"time"

	"github.com/hashicorp/go-hclog"

	"github.com/selectftp/selectftp/sdk"
)

// Config says where plugins live and how to register them.
type Config struct {
	// Dir is the plugins folder.
	Dir string
	// Settings holds each verb's settings, passed to its plugin at start.
	Settings map[string]map[string]any
	// Logger receives the manager's and the plugins' log lines.
	Logger hclog.Logger
	// Register adds a started plugin's command to the dispatch table; an
	// error (a duplicate verb) makes the manager stop that plugin.
	Register func(cmd sdk.Command, path string) error
	// Unregister removes a verb that path served.
	Unregister func(verb, path string)
	// StartTimeout bounds a plugin's start and handshake (default 10s).
	StartTimeout time.Duration
}

// Manager owns the plugin processes of one folder.
type Manager struct {
	cfg     Config
	mu      sync.Mutex // serialises scans and guards procs
	procs   map[string]*proc
	refused map[string]fileID // binaries that failed: not retried until they change
	dirLost bool              // the folder could not be read last time
	// unsafe files already warned about, so each rescan does not repeat it
	unsafe     map[string]fileID
	unsafeMode map[string]os.FileMode
	stop       chan struct{}
	stopped    bool
	wg         sync.WaitGroup
}

// New returns a manager; nothing starts until Scan.
func New(cfg Config) *Manager {
	if cfg.Logger == nil {
		cfg.Logger = hclog.NewNullLogger()
	}
	if cfg.StartTimeout <= 0 {
		cfg.StartTimeout = 10 * time.Second
	}
	return &Manager{cfg: cfg, procs: map[string]*proc{}, refused: map[string]fileID{},
		unsafe: map[string]fileID{}, unsafeMode: map[string]os.FileMode{}, stop: make(chan struct{})}
}

// fileID tells whether a plugin file was replaced since it was started.
type fileID struct {
	size  int64
	mtime time.Time
	ino   uint64
}

// Scan brings the running plugins in line with the folder: it starts new
// binaries, restarts replaced ones and stops those whose file is gone. A
// binary that fails to start is logged and skipped; the rest keep working.
func (m *Manager) Scan(ctx context.Context) {
	m.mu.Lock()
	defer m.mu.Unlock()
	if m.stopped {
		return
	}
	found := m.discover()
	for path, p := range m.procs {
		if id, ok := found[path]; !ok || id != p.id {
			m.cfg.Logger.Info("plugin removed or replaced; stopping it", "path", path, "verb", p.desc.Verb)
			m.cfg.Unregister(p.desc.Verb, path)
			p.kill()
			delete(m.procs, path)
		}
	}
	paths := make([]string, 0, len(found))
	for path, id := range found {
		if _, ok := m.procs[path]; ok {
			continue
		}
		if old, ok := m.refused[path]; ok && old == id {
			continue // said once already; retried when the file changes
		}
		delete(m.refused, path)
		paths = append(paths, path)
	}
	for path := range m.refused {
		if _, ok := found[path]; !ok {
			delete(m.refused, path)
		}
	}
	sort.Strings(paths) // a duplicate verb loses to the file that sorts first
	for _, path := range paths {
		p := &proc{m: m, path: path, id: found[path], log: m.cfg.Logger.Named(filepath.Base(path))}
		if err := p.start(ctx); err != nil {
			m.cfg.Logger.Error("plugin failed to start; skipping it", "path", path, "error", err)
			m.refused[path] = found[path]
			continue
		}
		if err := m.cfg.Register(p, path); err != nil {
			m.cfg.Logger.Error("plugin skipped", "path", path, "error", err)
			m.refused[path] = found[path]
			p.kill()
			continue
		}
		m.cfg.Logger.Info("plugin loaded", "verb", p.desc.Verb, "path", path)
		m.procs[path] = p
	}
}

// discover lists the folder's plugin binaries, refusing unsafe ones.
func (m *Manager) discover() map[string]fileID {
	found := map[string]fileID{}
	entries, err := os.ReadDir(m.cfg.Dir)
	if err != nil {
		if !m.dirLost { // once, not at every rescan
			m.cfg.Logger.Warn("cannot read the plugins folder; its verbs stop", "dir", m.cfg.Dir, "error", err)
		}
		m.dirLost = true
		return found
	}
	m.dirLost = false
	for _, e := range entries {
		name := e.Name()
		if name[0] == '.' {
			continue // editors' and installers' temporary files
		}
		path, err := filepath.Abs(filepath.Join(m.cfg.Dir, name))
		if err != nil {
			continue
		}
		fi, err := os.Stat(path)
		if err != nil || !fi.Mode().IsRegular() || fi.Mode().Perm()&0o111 == 0 {
			continue // settings files, READMEs, folders
		}
		if err := checkSafe(path, fi); err != nil {
			if id := identify(fi); m.unsafe[path] != id || fi.Mode() != m.unsafeMode[path] {
				m.cfg.Logger.Warn("plugin refused", "path", path, "reason", err)
				m.unsafe[path], m.unsafeMode[path] = id, fi.Mode()
			}
			continue
		}
		delete(m.unsafe, path)
		found[path] = identify(fi)
	}
	return found
}

// Watch rescans the folder every interval until Close.
func (m *Manager) Watch(interval time.Duration) {
	m.wg.Add(1)
	go func() {
		defer m.wg.Done()
		t := time.NewTicker(interval)
		defer t.Stop()
		for {
			select {
			case <-m.stop:
				return
			case <-t.C:
				m.Scan(context.Background())
			}
		}
	}()
}

// Close stops watching and kills every plugin process.
func (m *Manager) Close() {
	m.mu.Lock()
	if m.stopped {
		m.mu.Unlock()
		return
	}
	m.stopped = true
	close(m.stop)
	procs := m.procs
	m.procs = map[string]*proc{}
	m.mu.Unlock()
	m.wg.Wait()
	for _, p := range procs {
		p.kill()
	}
}

// Verbs lists the verbs of the running plugins, for logs and tests.
func (m *Manager) Verbs() []string {
	m.mu.Lock()
	defer m.mu.Unlock()
	var vs []string
	for _, p := range m.procs {
		vs = append(vs, p.desc.Verb)
	}
	sort.Strings(vs)
	return vs
}

func (m *Manager) settings(verb string) map[string]any { return m.cfg.Settings[verb] }

func errorf(format string, args ...any) error { return fmt.Errorf(format, args...) }
