// Package plugins discovers, starts, supervises and stops the command plugin
// binaries in a folder. Each binary serves one verb over go-plugin's gRPC
// transport; the manager hands the host a command per verb that restarts a
// crashed plugin on its next request.
package plugins

import (
	"context"
	"errors"
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
	// HealthInterval is how often each plugin process is pinged (default
	// 5s; negative: never). A process that misses HealthFailures pings in
	// a row, each bounded by HealthTimeout (default 3s), stopped or hung,
	// is killed: its requests fail with "unavailable" and the next request
	// starts a new one. With the defaults that takes 11 to 16s.
	HealthInterval time.Duration
	// HealthTimeout bounds one ping.
	HealthTimeout time.Duration
	// HealthFailures is how many pings in a row must fail before the
	// process is killed (default 3): a loaded machine can make a healthy
	// plugin miss one. After a miss the next ping comes sooner (see
	// healthRetry).
	HealthFailures int
}

// Manager owns the plugin processes of one folder.
type Manager struct {
	cfg     Config
	mu      sync.Mutex // serialises scans and guards procs
	procs   map[string]*proc
	refused map[string]fileID // binaries that failed: not retried until they change
	// refused binaries whose verb another file served (path -> verb): the
	// verb's file going away is a change too, so they are tried again
	dupOf  map[string]string
	dirErr string // why the folder was refused last time, said once
	// refusals already logged (path -> reason), so rescans do not repeat them
	unsafe  map[string]string
	stop    chan struct{}
	stopped bool
	wg      sync.WaitGroup
}

// New returns a manager; nothing starts until Scan.
func New(cfg Config) *Manager {
	if cfg.Logger == nil {
		cfg.Logger = hclog.NewNullLogger()
	}
	if cfg.StartTimeout <= 0 {
		cfg.StartTimeout = 10 * time.Second
	}
	if cfg.HealthInterval == 0 {
		cfg.HealthInterval = 5 * time.Second
	}
	if cfg.HealthTimeout <= 0 {
		cfg.HealthTimeout = 3 * time.Second
	}
	if cfg.HealthFailures <= 0 {
		cfg.HealthFailures = 3
	}
	return &Manager{cfg: cfg, procs: map[string]*proc{}, refused: map[string]fileID{},
		dupOf: map[string]string{}, unsafe: map[string]string{}, stop: make(chan struct{})}
}

// fileID is what fstat said of an opened plugin file: a rescan restarts a
// plugin whose file was replaced or re-permissioned since it started.
type fileID struct {
	dev, ino     uint64
	size         int64
	mode, uid    uint32
	mtime, ctime int64
}

// candidate is a checked plugin file, open: it is executed from this
// descriptor, never by its path. An unsure candidate (f nil) could not be
// opened for a passing reason: what runs from it is left as it is.
type candidate struct {
	id     fileID
	f      *os.File
	unsure bool
}

// Scan brings the running plugins in line with the folder: it starts new
// binaries, restarts replaced ones and stops those whose file is gone. A
// binary that fails to start or its checks is logged and skipped; the rest
// keep working. A folder that cannot be trusted (see openTrustedDir) or
// is gone stops every plugin, and Scan returns why. A passing error (out
// of descriptors or memory) changes nothing: it is returned, so that a
// server's start fails on it, and the next scan tries again.
func (m *Manager) Scan(ctx context.Context) error {
	m.mu.Lock()
	defer m.mu.Unlock()
	if m.stopped {
		return nil
	}
	found, dirErr := m.discover()
	defer func() {
		for _, c := range found {
			if c.f != nil {
				c.f.Close() // started processes hold their own copy
			}
		}
	}()
	if dirErr != nil && !settled(dirErr) {
		return dirErr
	}
	for path, p := range m.procs {
		c, ok := found[path]
		if ok && c.unsure {
			continue
		}
		if !ok || c.id != p.id {
			m.cfg.Logger.Info("plugin removed or replaced; stopping it", "path", path, "verb", p.desc.Verb)
			m.cfg.Unregister(p.desc.Verb, path)
			p.kill()
			delete(m.procs, path)
			for dup, verb := range m.dupOf {
				if verb == p.desc.Verb {
					delete(m.refused, dup)
					delete(m.dupOf, dup)
				}
			}
		}
	}
	paths := make([]string, 0, len(found))
	for path, c := range found {
		id := c.id
		if _, ok := m.procs[path]; ok || c.unsure {
			continue
		}
		if old, ok := m.refused[path]; ok && old == id {
			continue // said once already; retried when the file changes
		}
		delete(m.refused, path)
		delete(m.dupOf, path)
		paths = append(paths, path)
	}
	for path := range m.refused {
		if _, ok := found[path]; !ok {
			delete(m.refused, path)
			delete(m.dupOf, path)
		}
	}
	sort.Strings(paths) // a duplicate verb loses to the file that sorts first
	for _, path := range paths {
		c := found[path]
		p := &proc{m: m, path: path, id: c.id, log: m.cfg.Logger.Named(filepath.Base(path))}
		if err := p.start(ctx, c.f); err != nil {
			m.cfg.Logger.Error("plugin failed to start; skipping it", "path", path, "error", err)
			m.refused[path] = c.id
			continue
		}
		if err := m.cfg.Register(p, path); err != nil {
			m.cfg.Logger.Error("plugin skipped", "path", path, "error", err)
			m.refused[path] = c.id
			m.dupOf[path] = p.desc.Verb
			p.kill()
			continue
		}
		m.cfg.Logger.Info("plugin loaded", "verb", p.desc.Verb, "path", path)
		m.procs[path] = p
	}
	return dirErr
}

// discover opens and checks the folder's plugin binaries, refusing unsafe
// ones. A file that could not be opened for a passing reason is returned
// unsure; an error opening or reading the folder is returned as is (see
// settled). The caller closes the returned files.
func (m *Manager) discover() (map[string]candidate, error) {
	found := map[string]candidate{}
	dir, err := openTrustedDir(m.cfg.Dir)
	var entries []os.DirEntry
	if err == nil {
		entries, err = dir.ReadDir(-1)
		defer dir.Close()
	}
	if err != nil && !settled(err) {
		err = fmt.Errorf("plugins folder %s could not be read (retried at the next scan): %w", m.cfg.Dir, err)
		if err.Error() != m.dirErr { // once per distinct error, not at every rescan
			m.cfg.Logger.Warn("plugins folder could not be read for now; running plugins are kept", "dir", m.cfg.Dir, "error", err)
		}
		m.dirErr = err.Error()
		return found, err
	}
	if err != nil {
		err = fmt.Errorf("plugins folder %s refused, no plugin runs: %w", m.cfg.Dir, err)
		if err.Error() != m.dirErr { // once, not at every rescan
			m.cfg.Logger.Error("plugins folder refused; its verbs stop", "dir", m.cfg.Dir, "error", err)
		}
		m.dirErr = err.Error()
		return found, err
	}
	m.dirErr = ""
	for _, e := range entries {
		name := e.Name()
		if name[0] == '.' {
			continue // editors' and installers' temporary files
		}
		path, err := filepath.Abs(filepath.Join(m.cfg.Dir, name))
		if err != nil {
			continue
		}
		f, id, err := openPlugin(dir, name)
		if errors.Is(err, errNotPlugin) {
			continue // settings files, READMEs, folders
		}
		if err != nil && !settled(err) {
			if m.unsafe[path] != err.Error() {
				m.cfg.Logger.Warn("plugin file could not be opened for now; left as it is, retried at the next scan", "path", path, "error", err)
				m.unsafe[path] = err.Error()
			}
			found[path] = candidate{unsure: true}
			continue
		}
		if err != nil {
			if m.unsafe[path] != err.Error() {
				m.cfg.Logger.Warn("plugin refused", "path", path, "reason", err)
				m.unsafe[path] = err.Error()
			}
			continue
		}
		delete(m.unsafe, path)
		found[path] = candidate{id: id, f: f}
	}
	for path := range m.unsafe {
		if _, err := os.Lstat(path); err != nil {
			delete(m.unsafe, path) // gone: say it again if it comes back
		}
	}
	return found, nil
}

// reopen opens and checks path's file again for a restart, through the
// same checks as a scan.
func (m *Manager) reopen(path string) (*os.File, fileID, error) {
	dir, err := openTrustedDir(m.cfg.Dir)
	if err != nil {
		return nil, fileID{}, fmt.Errorf("plugins folder %s refused: %w", m.cfg.Dir, err)
	}
	defer dir.Close()
	f, id, err := openPlugin(dir, filepath.Base(path))
	if errors.Is(err, errNotPlugin) {
		err = fmt.Errorf("%s is no longer an executable file", path)
	}
	return f, id, err
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
