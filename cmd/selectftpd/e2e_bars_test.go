//go:build linux

package main

// End-to-end tests of what issue 9's "Done means" asks of transfers seen
// by a user: several progress bars and the total line on a terminal,
// Ctrl-C during an upload in the shell, and -P 8 really running transfers
// at once.

import (
	"bytes"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"slices"
	"strings"
	"syscall"
	"testing"
	"time"
)

// startTermCLI runs selectftp --addr s.addr args in dir with stdin, stdout
// and stderr on a pseudo-terminal, as startTermShell does for the shell.
func (s *server) startTermCLI(dir string, args ...string) *termShell {
	t := s.t
	t.Helper()
	master, slave, err := openTerm(24, 100)
	if err != nil {
		t.Skipf("no pseudo-terminal: %v", err)
	}
	cmd := exec.Command(bins.client, append([]string{"--addr", s.addr}, args...)...)
	cmd.Dir = dir
	state := t.TempDir()
	cmd.Env = append(os.Environ(), "XDG_STATE_HOME="+state, "HOME="+state, "TERM=xterm")
	cmd.Stdin, cmd.Stdout, cmd.Stderr = slave, slave, slave
	cmd.SysProcAttr = &syscall.SysProcAttr{Setsid: true, Setctty: true, Ctty: 0}
	err = cmd.Start()
	slave.Close()
	if err != nil {
		master.Close()
		t.Fatalf("start selectftp: %v", err)
	}
	p := &termShell{t: t, master: master, cmd: cmd, notify: make(chan struct{}, 1),
		readDone: make(chan struct{}), exited: make(chan struct{})}
	go p.read()
	go func() { cmd.Wait(); close(p.exited) }()
	t.Cleanup(func() {
		select {
		case <-p.exited:
		default:
			cmd.Process.Kill()
			<-p.exited
		}
		master.Close()
		<-p.readDone
	})
	return p
}

// writeFlatTree makes n files of size bytes each (distinct contents) in a new
// folder name under root, and returns their names.
func writeFlatTree(t *testing.T, root, name string, n, size int) []string {
	t.Helper()
	dir := filepath.Join(root, name)
	if err := os.MkdirAll(dir, 0o755); err != nil {
		t.Fatal(err)
	}
	var names []string
	for i := range n {
		b := bytes.Repeat([]byte{byte(i)}, size)
		copy(b, fmt.Sprintf("file %d\n", i))
		f := fmt.Sprintf("f%03d.bin", i)
		if err := os.WriteFile(filepath.Join(dir, f), b, 0o644); err != nil {
			t.Fatal(err)
		}
		names = append(names, f)
	}
	return names
}

// sameFiles checks that every name has the same bytes in both folders.
func sameFiles(t *testing.T, a, b string, names []string) {
	t.Helper()
	for _, n := range names {
		x, errA := os.ReadFile(filepath.Join(a, n))
		y, errB := os.ReadFile(filepath.Join(b, n))
		if errA != nil || errB != nil || !bytes.Equal(x, y) {
			t.Fatalf("%s differs: %v, %v", n, errA, errB)
		}
	}
}

// -P 4 get -r on a terminal draws one bar per running transfer and the
// total line under them, all at once; each transfer ends with its summary.
func TestCLIBarsForParallelTransfers(t *testing.T) {
	s := startFileServer(t)
	// Four files of 512 KiB at 256 KiB/s each: two seconds apiece, so all
	// four run together for a while.
	names := writeFlatTree(t, s.root, "d", 4, 512<<10)
	work := t.TempDir()
	p := s.startTermCLI(work, "-P", "4", "--limit-rate", "256K", "get", "-r", "d", "back")
	p.expectRE(regexp.MustCompile(`total \(4 running\)  \[[^\]\n]*\]\s+[0-9]+%  [0-9.]+ [KM]iB / 2\.0 MiB`))
	// The four bars were on the screen with it: each a label, a bar and
	// a count of its own 512 KiB.
	out := p.output()
	for _, n := range names {
		bar := regexp.MustCompile(`get /d/` + regexp.QuoteMeta(n) + `  \[[^\]\n]*\]\s+[0-9]+%  [0-9.]+ (B|KiB) / 512\.0 KiB`)
		if !bar.MatchString(out) {
			t.Fatalf("no bar for %s on the terminal; output:\n%s", n, out)
		}
	}
	for range names {
		p.expectRE(regexp.MustCompile(`get: /d/f00[0-3]\.bin -> back/f00[0-3]\.bin \(512\.0 KiB in `))
	}
	p.expectExit(0)
	sameFiles(t, filepath.Join(s.root, "d"), filepath.Join(work, "back"), names)
}

// Ctrl-C during a put in the shell stops it and returns to the prompt;
// nothing appears under the name on the server, and the next command works.
func TestShellCtrlCDuringPut(t *testing.T) {
	s := startFileServer(t)
	dir := t.TempDir()
	// Sparse: it costs no disk here; the rate keeps what the server
	// writes small until the Ctrl-C (and 1 GiB is a size it has room for).
	if f, err := os.Create(filepath.Join(dir, "big")); err != nil {
		t.Fatal(err)
	} else {
		if err := f.Truncate(1 << 30); err != nil {
			t.Skipf("no sparse files here: %v", err)
		}
		f.Close()
	}
	sh := s.startTermCLI(dir, "--limit-rate", "4M")
	sh.expect(termPrompt)
	sh.send("put big\r")
	sh.expectRE(regexp.MustCompile(`[1-9][0-9.]* [KM]iB / 1\.0 GiB`))
	sh.send("\x03")
	sh.expect("selectftp: interrupted")
	sh.expect(termPrompt)
	sh.send("ls\r")
	sh.expect(termPrompt)
	sh.send("upper still here\r")
	sh.expectLine("STILL HERE")
	sh.expect(termPrompt)
	sh.send("quit\r")
	sh.expectExit(0)
	// ls listed nothing between the two prompts, and nothing is there.
	out := sh.output()
	if i := strings.LastIndex(out, "ls\n"); i < 0 || strings.Contains(out[i:], "big") {
		t.Fatalf("ls after Ctrl-C shows the upload:\n%s", out)
	}
	if _, err := os.Lstat(filepath.Join(s.root, "big")); !os.IsNotExist(err) {
		t.Fatalf("the server has big after Ctrl-C: %v", err)
	}
	if files := listFiles(t, s.root); slices.ContainsFunc(files, func(f string) bool { return !strings.HasPrefix(f, ".") }) {
		t.Fatalf("server files after Ctrl-C: %q", files)
	}
	if files := listFiles(t, dir); !slices.Equal(files, []string{"big"}) {
		t.Fatalf("local files: %q", files)
	}
}

// -P 8 over 100 paced files keeps several connections busy at once, as
// the proxy between client and server counts.
func TestCLIParallelOverlaps(t *testing.T) {
	s := startFileServer(t)
	// 100 files of 16 KiB at 64 KiB/s each: a quarter second apiece, 25 s
	// one after another; at once they take a few.
	names := writeFlatTree(t, s.root, "many", 100, 16<<10)
	px := startProxy(t, s.addr, false, false)
	work := t.TempDir()
	start := time.Now()
	r := runCLI(t, px.addr, work, "", "-q", "-P", "8", "--limit-rate", "64K", "get", "-r", "many", "back")
	took := time.Since(start)
	if r.code != 0 || r.stdout != "" || r.stderr != "" {
		t.Fatalf("get -r -P 8: exit %d, stdout %q, stderr %q", r.code, r.stdout, r.stderr)
	}
	sameFiles(t, filepath.Join(s.root, "many"), filepath.Join(work, "back"), names)
	if peak := px.peak.Load(); peak < 4 {
		t.Fatalf("at most %d connections at once (took %v), want at least 4", peak, took)
	}
	t.Logf("100 files, -P 8: %d connections at once at most, %v", px.peak.Load(), took)
}
