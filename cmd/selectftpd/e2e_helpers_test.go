package main

// End-to-end tests: they build the real binaries once, start the real server
// with the real plugins, and drive the real client.

import (
	"bufio"
	"bytes"
	"encoding/json"
	"flag"
	"fmt"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"slices"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"
)

// bins holds the binaries TestMain built.
var bins struct {
	dir     string
	server  string
	client  string
	plugins map[string]string
}

// verbs are the plugins a test server runs unless it names others;
// fileVerbs are the file-management verbs, built too (allVerbs).
var (
	verbs     = []string{"put", "get", "helps", "upper"}
	fileVerbs = []string{"ls", "stat", "rm", "mkdir", "mv", "sum", "cd", "pwd"}
	allVerbs  = append(slices.Clone(verbs), fileVerbs...)
)

func TestMain(m *testing.M) {
	flag.Parse()
	code := func() int {
		if testing.Short() {
			return m.Run()
		}
		dir, err := os.MkdirTemp("", "selectftp-e2e-")
		if err != nil {
			fmt.Fprintln(os.Stderr, err)
			return 1
		}
		defer os.RemoveAll(dir)
		bins.dir = dir
		bins.server = filepath.Join(dir, "selectftpd")
		bins.client = filepath.Join(dir, "selectftp")
		bins.plugins = map[string]string{}
		targets := map[string]string{bins.server: "./cmd/selectftpd", bins.client: "./cmd/selectftp"}
		for _, v := range allVerbs {
			bins.plugins[v] = filepath.Join(dir, "plugins", v)
			targets[bins.plugins[v]] = "./plugins/" + v + "/plugin"
		}
		var wg sync.WaitGroup
		errs := make(chan error, len(targets))
		sem := make(chan struct{}, runtime.NumCPU())
		for out, pkg := range targets {
			wg.Add(1)
			go func() {
				defer wg.Done()
				sem <- struct{}{}
				defer func() { <-sem }()
				cmd := exec.Command("go", "build", "-o", out, pkg)
				cmd.Dir = "../.."
				if b, err := cmd.CombinedOutput(); err != nil {
					errs <- fmt.Errorf("build %s: %v\n%s", pkg, err, b)
				}
			}()
		}
		wg.Wait()
		close(errs)
		for err := range errs {
			fmt.Fprintln(os.Stderr, err)
			return 1
		}
		return m.Run()
	}()
	os.Exit(code)
}

func needBinaries(t *testing.T) {
	t.Helper()
	if bins.dir == "" {
		t.Skip("end-to-end tests are skipped in -short mode")
	}
}

// server is a running selectftpd.
type server struct {
	t       *testing.T
	cmd     *exec.Cmd
	addr    string
	root    string
	plugins string
	logMu   sync.Mutex
	log     bytes.Buffer
	exited  chan struct{}
}

// startServer runs selectftpd on a free loopback port with a fresh root and
// a plugins folder holding the given verbs (all four when none are named).
func startServer(t *testing.T, extraArgs []string, only ...string) *server {
	t.Helper()
	needBinaries(t)
	if len(only) == 0 {
		only = verbs
	}
	s := &server{t: t, root: filepath.Join(t.TempDir(), "root"), plugins: filepath.Join(t.TempDir(), "plugins.d"),
		exited: make(chan struct{})}
	if err := os.MkdirAll(s.plugins, 0o755); err != nil {
		t.Fatal(err)
	}
	for _, v := range only {
		s.installPlugin(v, v)
	}
	args := append([]string{"--listen", "127.0.0.1:0", "--root", s.root, "--plugins", s.plugins,
		"--log-format", "json", "--log-level", "debug", "--plugin-scan", "200ms", "--shutdown-timeout", "5s"}, extraArgs...)
	s.cmd = exec.Command(bins.server, args...)
	stderr, err := s.cmd.StderrPipe()
	if err != nil {
		t.Fatal(err)
	}
	if err := s.cmd.Start(); err != nil {
		t.Fatal(err)
	}
	addr := make(chan string, 1)
	go func() {
		sc := bufio.NewScanner(stderr)
		sc.Buffer(make([]byte, 1<<20), 1<<20)
		for sc.Scan() {
			line := sc.Text()
			s.logMu.Lock()
			s.log.WriteString(line + "\n")
			s.logMu.Unlock()
			var entry map[string]any
			if json.Unmarshal([]byte(line), &entry) == nil && entry["@message"] == "serving" {
				addr <- entry["addr"].(string)
			}
		}
	}()
	go func() { s.cmd.Wait(); close(s.exited) }()
	t.Cleanup(func() {
		s.cmd.Process.Kill()
		<-s.exited
		if t.Failed() {
			t.Logf("server log:\n%s", s.logText())
		}
	})
	select {
	case s.addr = <-addr:
	case <-s.exited:
		t.Fatalf("server exited at start:\n%s", s.logText())
	case <-time.After(60 * time.Second):
		t.Fatalf("server did not start:\n%s", s.logText())
	}
	return s
}

func (s *server) logText() string {
	s.logMu.Lock()
	defer s.logMu.Unlock()
	return s.log.String()
}

// installPlugin copies a built plugin into the folder under name, by atomic
// rename as operators are told to.
func (s *server) installPlugin(verb, name string) {
	s.t.Helper()
	b, err := os.ReadFile(bins.plugins[verb])
	if err != nil {
		s.t.Fatal(err)
	}
	tmp := filepath.Join(s.plugins, "."+name+".tmp")
	if err := os.WriteFile(tmp, b, 0o755); err != nil {
		s.t.Fatal(err)
	}
	if err := os.Rename(tmp, filepath.Join(s.plugins, name)); err != nil {
		s.t.Fatal(err)
	}
}

// result is one run of the client.
type result struct {
	stdout, stderr string
	code           int
}

// client runs selectftp against s with args, feeding stdin.
func (s *server) client(stdin string, args ...string) result {
	s.t.Helper()
	return s.clientIn("", stdin, args...)
}

// clientIn runs the client in folder dir ("" for a temp folder).
func (s *server) clientIn(dir, stdin string, args ...string) result {
	s.t.Helper()
	if dir == "" {
		dir = s.t.TempDir()
	}
	cmd := exec.Command(bins.client, append([]string{"--addr", s.addr}, args...)...)
	cmd.Dir = dir
	cmd.Stdin = strings.NewReader(stdin)
	var out, errb bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, &errb
	done := make(chan error, 1)
	if err := cmd.Start(); err != nil {
		s.t.Fatal(err)
	}
	go func() { done <- cmd.Wait() }()
	select {
	case <-done:
	case <-time.After(120 * time.Second):
		cmd.Process.Kill()
		s.t.Fatalf("client %v hung", args)
	}
	return result{out.String(), errb.String(), cmd.ProcessState.ExitCode()}
}

// pluginPIDs lists live processes running a binary from s's plugins folder.
func (s *server) pluginPIDs() []int {
	return processesUnder(s.plugins)
}

func processesUnder(dir string) []int {
	var pids []int
	entries, _ := os.ReadDir("/proc")
	for _, e := range entries {
		var pid int
		if _, err := fmt.Sscanf(e.Name(), "%d", &pid); err != nil {
			continue
		}
		exe, err := os.Readlink(filepath.Join("/proc", e.Name(), "exe"))
		if err != nil || !strings.HasPrefix(exe, dir+string(filepath.Separator)) {
			continue
		}
		if st, err := os.ReadFile(filepath.Join("/proc", e.Name(), "stat")); err == nil {
			if f := strings.Fields(string(st)); len(f) > 2 && f[2] == "Z" {
				continue // a zombie has exited; its parent reaps it
			}
		}
		pids = append(pids, pid)
	}
	return pids
}

// pluginPID returns the process serving verb, waiting for it to exist.
func (s *server) pluginPID(verb string) int {
	s.t.Helper()
	want := filepath.Join(s.plugins, verb)
	var pid int
	waitFor(s.t, "the "+verb+" plugin process", func() bool {
		for _, p := range s.pluginPIDs() {
			if exe, _ := os.Readlink(fmt.Sprintf("/proc/%d/exe", p)); exe == want {
				pid = p
				return true
			}
		}
		return false
	})
	return pid
}

func (s *server) signal(sig syscall.Signal) { s.cmd.Process.Signal(sig) }

func waitFor(t *testing.T, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(20 * time.Second)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("timed out waiting for %s", what)
		}
		time.Sleep(20 * time.Millisecond)
	}
}

// listFiles returns every file under dir, relative, for "nothing partial
// left behind" checks.
func listFiles(t *testing.T, dir string) []string {
	t.Helper()
	var out []string
	filepath.Walk(dir, func(path string, fi os.FileInfo, err error) error {
		if err == nil && !fi.IsDir() {
			rel, _ := filepath.Rel(dir, path)
			out = append(out, rel)
		}
		return nil
	})
	return out
}

func readAllString(r io.Reader) string {
	b, _ := io.ReadAll(r)
	return string(b)
}
