package main

import (
	"bytes"
	"crypto/sha256"
	"fmt"
	"io"
	"math/rand"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"
)

func writeRandom(t *testing.T, path string, n int, seed int64) []byte {
	t.Helper()
	b := make([]byte, n)
	rand.New(rand.NewSource(seed)).Read(b)
	if err := os.WriteFile(path, b, 0o644); err != nil {
		t.Fatal(err)
	}
	return b
}

// writeBig writes n random bytes to path without holding them in memory:
// two 512 MiB uploads under the race detector once held the test binary at
// 4 GiB.
func writeBig(t *testing.T, path string, n int64, seed int64) {
	t.Helper()
	f, err := os.Create(path)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := io.CopyN(f, rand.New(rand.NewSource(seed)), n); err != nil {
		t.Fatal(err)
	}
	if err := f.Close(); err != nil {
		t.Fatal(err)
	}
}

func TestRoundTripsThroughTheRealClient(t *testing.T) {
	s := startServer(t, nil)
	dir := t.TempDir()
	// Sizes around the read buffer (64 KiB), the body buffer and gRPC chunk
	// (256 KiB), and a few MiB.
	sizes := []int{0, 1, 65535, 65536, 65537, 262143, 262144, 262145, 4<<20 + 3}
	names := []string{"plain.bin", "with space.bin", "日本語 ファイル.bin", "emoji 🚀.bin"}
	for i, n := range sizes {
		name := names[i%len(names)]
		local := filepath.Join(dir, fmt.Sprint(i)+"-"+name)
		want := writeRandom(t, local, n, int64(n))
		remote := fmt.Sprint(i) + " " + name
		if r := s.clientIn(dir, "", "put", local, remote); r.code != 0 {
			t.Fatalf("put %d bytes: %+v", n, r)
		}
		if got, err := os.ReadFile(filepath.Join(s.root, remote)); err != nil || !bytes.Equal(got, want) {
			t.Fatalf("server copy of %d bytes differs (%v)", n, err)
		}
		back := filepath.Join(dir, "back-"+fmt.Sprint(i))
		if r := s.clientIn(dir, "", "get", remote, back); r.code != 0 {
			t.Fatalf("get %d bytes: %+v", n, r)
		}
		if got, _ := os.ReadFile(back); sha256.Sum256(got) != sha256.Sum256(want) {
			t.Fatalf("round trip of %d bytes differs", n)
		}
	}
	// Default names: put LOCAL uses its base name; get REMOTE lands here.
	writeRandom(t, filepath.Join(dir, "default.txt"), 1000, 9)
	if r := s.clientIn(dir, "", "put", "default.txt"); r.code != 0 {
		t.Fatalf("put default: %+v", r)
	}
	other := t.TempDir()
	if r := s.clientIn(other, "", "get", "default.txt"); r.code != 0 {
		t.Fatalf("get default: %+v", r)
	}
	if _, err := os.Stat(filepath.Join(other, "default.txt")); err != nil {
		t.Fatal(err)
	}
	// Standard input and output.
	if r := s.client("from stdin\n", "put", "-", "stdin.txt"); r.code != 0 {
		t.Fatalf("put -: %+v", r)
	}
	if r := s.client("", "get", "stdin.txt", "-"); r.code != 0 || r.stdout != "from stdin\n" {
		t.Fatalf("get -: %+v", r)
	}
}

func TestTextCommands(t *testing.T) {
	s := startServer(t, nil)
	if r := s.client("", "upper", "hello", "wörld"); r.code != 0 || r.stdout != "HELLO WÖRLD\n" {
		t.Fatalf("upper: %+v", r)
	}
	if r := s.client("", "select", "ftp", "rocks"); r.code != 0 || r.stdout != "SELECT FTP ROCKS\n" {
		t.Fatalf("fallback: %+v", r)
	}
	r := s.client("", "helps")
	if r.code != 0 {
		t.Fatalf("helps: %+v", r)
	}
	var listed []string
	for _, line := range strings.Split(strings.TrimSpace(r.stdout), "\n") {
		verb, summary, ok := strings.Cut(line, "\t")
		if !ok || strings.TrimSpace(summary) == "" {
			t.Fatalf("helps line %q is not VERB<TAB>summary", line)
		}
		listed = append(listed, verb)
	}
	if !slices.Equal(listed, []string{"get", "helps", "put", "upper"}) {
		t.Fatalf("helps listed %v", listed)
	}
	if r := s.client("", "helps", "put"); r.code != 0 || !strings.Contains(r.stdout, "put") {
		t.Fatalf("helps put: %+v", r)
	}
	// Scripts pipe commands in, one per line.
	r = s.client("upper one\n# a comment\n\nupper \"two words\"\nhelps upper\n")
	if r.code != 0 || !strings.HasPrefix(r.stdout, "ONE\nTWO WORDS\n") {
		t.Fatalf("script: %+v", r)
	}
	// Logs: plugin lines appear under the plugin's name.
	if !strings.Contains(s.logText(), `"@module":"upper"`) {
		t.Fatalf("no plugin module in the log:\n%s", s.logText())
	}
}

func TestBadInputGetsClearErrors(t *testing.T) {
	s := startServer(t, nil)
	outside := t.TempDir()
	os.WriteFile(filepath.Join(outside, "secret"), []byte("secret"), 0o644)
	if err := os.Symlink(filepath.Join(outside, "secret"), filepath.Join(s.root, "link")); err != nil {
		t.Fatal(err)
	}
	if err := os.Symlink(outside, filepath.Join(s.root, "dirlink")); err != nil {
		t.Fatal(err)
	}
	os.Mkdir(filepath.Join(s.root, "sub"), 0o755)
	dir := t.TempDir()
	writeRandom(t, filepath.Join(dir, "f"), 100, 1)
	cases := []struct {
		name string
		args []string
		want string // in stderr
	}{
		{"get missing file", []string{"get", "nope.txt"}, "not_found"},
		// Paths are virtual: ".." stops at the top of the tree and "/" is
		// its top, so these name files inside it, which do not exist.
		{"get dot-dot", []string{"get", "../secret"}, "not_found"},
		{"get absolute", []string{"get", filepath.Join(outside, "secret")}, "not_found"},
		{"get symlink out", []string{"get", "link"}, "permission"},
		{"put through symlinked folder", []string{"put", "f", "dirlink/escaped"}, "permission"},
		{"put absolute", []string{"put", "f", filepath.Join(outside, "abs")}, "no folder"},
		{"put missing local", []string{"put", "does-not-exist"}, "does-not-exist"},
		{"get without args", []string{"get"}, "usage"},
		{"put without args", []string{"put"}, "usage"},
		{"put stdin without name", []string{"put", "-"}, "REMOTE"},
		{"get a folder", []string{"get", "sub", "out"}, "directory"},
		{"put into a missing folder", []string{"put", "f", "nofolder/x"}, "no folder nofolder"},
		{"unknown checksum", []string{"--checksum", "md5", "get", "f"}, "choose one of xxh128, sha256, blake3"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			r := s.clientIn(dir, "", tc.args...)
			if r.code == 0 {
				t.Fatalf("succeeded: %+v", r)
			}
			lines := strings.Split(strings.TrimSpace(r.stderr), "\n")
			if len(lines) != 1 || !strings.Contains(strings.ToLower(r.stderr), strings.ToLower(tc.want)) {
				t.Fatalf("stderr %q: want one line mentioning %q", r.stderr, tc.want)
			}
		})
	}
	// put ../escaped lands at the top of the tree, never beside it.
	if r := s.clientIn(dir, "", "put", "f", "../escaped"); r.code != 0 {
		t.Fatalf("put ../escaped: %+v", r)
	}
	if _, err := os.Stat(filepath.Join(s.root, "escaped")); err != nil {
		t.Fatalf("put ../escaped did not land at the top of the tree: %v", err)
	}
	for _, name := range []string{"escaped", "abs"} {
		if _, err := os.Stat(filepath.Join(outside, name)); err == nil {
			t.Fatalf("%s was written outside the root", name)
		}
		if _, err := os.Stat(filepath.Join(filepath.Dir(s.root), name)); err == nil {
			t.Fatalf("%s was written beside the root", name)
		}
	}
	// A failed get leaves no local file behind.
	if _, err := os.Stat(filepath.Join(dir, "nope.txt")); err == nil {
		t.Fatal("a failed get left a local file")
	}
	if r := s.client("", "upper", "still", "serving"); r.stdout != "STILL SERVING\n" {
		t.Fatalf("server unhealthy after bad input: %+v", r)
	}
}

func TestSixteenClientsAtOnce(t *testing.T) {
	s := startServer(t, nil)
	dir := t.TempDir()
	const n = 16
	sums := make([][32]byte, n)
	for i := range n {
		sums[i] = sha256.Sum256(writeRandom(t, filepath.Join(dir, fmt.Sprint(i)), 8<<20+i, int64(i)))
	}
	var wg sync.WaitGroup
	errs := make(chan string, 2*n)
	for i := range n {
		wg.Add(1)
		go func() {
			defer wg.Done()
			name := fmt.Sprint(i)
			if r := s.clientIn(dir, "", "put", name, "up-"+name); r.code != 0 {
				errs <- fmt.Sprintf("put %d: %+v", i, r)
				return
			}
			back := filepath.Join(t.TempDir(), "x")
			if r := s.clientIn(dir, "", "get", "up-"+name, back); r.code != 0 {
				errs <- fmt.Sprintf("get %d: %+v", i, r)
				return
			}
			if b, _ := os.ReadFile(back); sha256.Sum256(b) != sums[i] {
				errs <- fmt.Sprintf("client %d: checksum differs", i)
			}
		}()
	}
	// Small commands keep being answered while the transfers run. The
	// latencies are logged, not asserted: these machines are shared.
	var worst time.Duration
	for i := range 20 {
		start := time.Now()
		if r := s.client("", "upper", "ping", fmt.Sprint(i)); r.stdout != fmt.Sprintf("PING %d\n", i) {
			t.Errorf("small command during transfers: %+v", r)
		}
		worst = max(worst, time.Since(start))
	}
	wg.Wait()
	close(errs)
	for e := range errs {
		t.Error(e)
	}
	t.Logf("slowest small command (a whole client process) during 16 transfers: %v", worst)
}

func TestInterruptedUploadLeavesNothing(t *testing.T) {
	s := startServer(t, nil)
	dir := t.TempDir()
	writeBig(t, filepath.Join(dir, "big"), 512<<20, 3)
	cmd := s.startClient(dir, "put", "big", "big.bin")
	// Kill the client once the upload is under way.
	s.waitUploadStaged()
	cmd.Process.Kill()
	cmd.Wait()
	// Every CLI put is resumable (put -c): its bytes wait, hidden, under
	// the staging name, and nothing is under the real one.
	waitFor(t, "the upload to be left for put -c only", func() bool { return onlyPartial(t, s.root, "big.bin") })
	if r := s.client("", "upper", "ok"); r.stdout != "OK\n" {
		t.Fatalf("%+v", r)
	}
}

func TestPluginCrashAndRestart(t *testing.T) {
	s := startServer(t, nil)
	dir := t.TempDir()
	writeBig(t, filepath.Join(dir, "big"), 512<<20, 4)
	cmd := s.startClient(dir, "put", "big", "big.bin")
	s.waitUploadStaged()
	syscall.Kill(s.pluginPID("put"), syscall.SIGKILL)
	err := cmd.Wait()
	if err == nil {
		t.Fatal("the upload succeeded although its plugin was killed")
	}
	if !strings.Contains(cmd.Stderr.(*bytes.Buffer).String(), "unavailable") {
		t.Fatalf("client error %q does not say the plugin went away", cmd.Stderr.(*bytes.Buffer).String())
	}
	// Nothing is under the real name: only the hidden resumable partial.
	waitFor(t, "the host to stop writing the upload", func() bool { return onlyPartial(t, s.root, "big.bin") })
	// The next request starts a new plugin process.
	writeRandom(t, filepath.Join(dir, "small"), 1000, 5)
	if r := s.clientIn(dir, "", "put", "small", "small.bin"); r.code != 0 {
		t.Fatalf("put after the crash: %+v", r)
	}
}

// waitUploadStaged waits until the put plugin holds a file open under the
// root: its staging file, which has no name to look for.
func (s *server) waitUploadStaged() {
	s.t.Helper()
	pid := s.pluginPID("put")
	waitFor(s.t, "the upload to start", func() bool {
		fds, _ := os.ReadDir(fmt.Sprintf("/proc/%d/fd", pid))
		for _, fd := range fds {
			if link, err := os.Readlink(fmt.Sprintf("/proc/%d/fd/%s", pid, fd.Name())); err == nil && strings.HasPrefix(link, s.root+"/") {
				return true
			}
		}
		return false
	})
}

func (s *server) startClient(dir string, args ...string) *exec.Cmd {
	s.t.Helper()
	cmd := exec.Command(bins.client, append([]string{"--addr", s.addr, "-q"}, args...)...)
	cmd.Dir = dir
	cmd.Stderr = &bytes.Buffer{}
	if err := cmd.Start(); err != nil {
		s.t.Fatal(err)
	}
	s.t.Cleanup(func() { cmd.Process.Kill() })
	return cmd
}

func TestPluginFolderChanges(t *testing.T) {
	s := startServer(t, nil)
	if r := s.client("", "upper", "x"); r.stdout != "X\n" {
		t.Fatalf("%+v", r)
	}
	os.Remove(filepath.Join(s.plugins, "upper"))
	waitFor(t, "upper to leave helps", func() bool {
		return !strings.Contains(s.client("", "helps").stdout, "upper\t")
	})
	// Without its fallback verb, an unknown verb is a clear error.
	if r := s.client("", "upper", "x"); r.code == 0 || !strings.Contains(r.stderr, "unknown_verb") {
		t.Fatalf("after removal: %+v", r)
	}
	// A new binary adds its verb.
	s.installPlugin("upper", "upper")
	waitFor(t, "upper to come back", func() bool { return s.client("", "upper", "y").stdout == "Y\n" })
	// Unsafe and broken files are refused; the rest keep working.
	os.WriteFile(filepath.Join(s.plugins, "broken"), []byte("#!/bin/sh\nexit 1\n"), 0o755)
	s.installPlugin("upper", "writable")
	os.Chmod(filepath.Join(s.plugins, "writable"), 0o777)
	s.installPlugin("upper", "dup-upper") // the same verb twice
	waitFor(t, "the refusals to be logged", func() bool {
		l := s.logText()
		return strings.Contains(l, "plugin refused") && strings.Contains(l, "plugin failed to start") &&
			strings.Contains(l, "already served")
	})
	if r := s.client("", "get", "nothing"); !strings.Contains(r.stderr, "not_found") {
		t.Fatalf("other plugins broken: %+v", r)
	}
}

func TestSignalsStopEveryPlugin(t *testing.T) {
	for _, sig := range []syscall.Signal{syscall.SIGTERM, syscall.SIGINT, syscall.SIGKILL} {
		t.Run(sig.String(), func(t *testing.T) {
			s := startServer(t, nil)
			if n := len(s.pluginPIDs()); n != len(verbs) {
				t.Fatalf("%d plugin processes, want %d", n, len(verbs))
			}
			s.signal(sig)
			select {
			case <-s.exited:
			case <-time.After(20 * time.Second):
				t.Fatal("server did not exit")
			}
			if sig != syscall.SIGKILL && s.cmd.ProcessState.ExitCode() != 0 {
				t.Fatalf("exit code %d after %v", s.cmd.ProcessState.ExitCode(), sig)
			}
			waitFor(t, "every plugin process to end", func() bool { return len(s.pluginPIDs()) == 0 })
		})
	}
}
