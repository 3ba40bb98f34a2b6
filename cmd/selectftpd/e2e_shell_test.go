//go:build linux

package main

// End-to-end tests of the client's interactive shell (issue 9): the real
// selectftp on a pseudo-terminal against the real server and plugins.

import (
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"slices"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"golang.org/x/sys/unix"
)

// termWait bounds every wait on the shell, so that a hang fails the test.
const termWait = 20 * time.Second

const termPrompt = "selectftp> "

// termShell is the selectftp shell in a child process whose stdin, stdout
// and stderr are the slave side of a pseudo-terminal; the test types into
// the master and reads what a user would see.
type termShell struct {
	t      *testing.T
	master *os.File
	cmd    *exec.Cmd

	mu      sync.Mutex
	raw     []byte
	readErr error
	notify  chan struct{}

	seen     int // offset into the cleaned output already matched
	readDone chan struct{}
	exited   chan struct{}
}

// startTermShell runs the client's shell against s in folder dir, with
// its state (the history) under state.
func (s *server) startTermShell(dir, state string) *termShell {
	t := s.t
	t.Helper()
	master, slave, err := openTerm(24, 100)
	if err != nil {
		t.Skipf("no pseudo-terminal: %v", err)
	}
	cmd := exec.Command(bins.client, "--addr", s.addr)
	cmd.Dir = dir
	cmd.Env = append(os.Environ(), "XDG_STATE_HOME="+state, "HOME="+state, "TERM=xterm")
	cmd.Stdin, cmd.Stdout, cmd.Stderr = slave, slave, slave
	// A session of its own with the pty as controlling terminal, so that
	// Ctrl-C typed into it raises SIGINT as for a user.
	cmd.SysProcAttr = &syscall.SysProcAttr{Setsid: true, Setctty: true, Ctty: 0}
	err = cmd.Start()
	slave.Close()
	if err != nil {
		master.Close()
		t.Fatalf("start shell: %v", err)
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

// openTerm opens a pseudo-terminal pair sized rows×cols; the master is
// non-blocking so closing it ends a pending Read.
func openTerm(rows, cols uint16) (master, slave *os.File, err error) {
	fd, err := unix.Open("/dev/ptmx", unix.O_RDWR|unix.O_NOCTTY|unix.O_CLOEXEC|unix.O_NONBLOCK, 0)
	if err != nil {
		return nil, nil, err
	}
	fail := func(err error) (*os.File, *os.File, error) {
		unix.Close(fd)
		return nil, nil, err
	}
	if err := unix.IoctlSetPointerInt(fd, unix.TIOCSPTLCK, 0); err != nil {
		return fail(err)
	}
	n, err := unix.IoctlGetUint32(fd, unix.TIOCGPTN)
	if err != nil {
		return fail(err)
	}
	if err := unix.IoctlSetWinsize(fd, unix.TIOCSWINSZ, &unix.Winsize{Row: rows, Col: cols}); err != nil {
		return fail(err)
	}
	sfd, err := unix.Open(fmt.Sprintf("/dev/pts/%d", n), unix.O_RDWR|unix.O_NOCTTY|unix.O_CLOEXEC, 0)
	if err != nil {
		return fail(err)
	}
	return os.NewFile(uintptr(fd), "/dev/ptmx"), os.NewFile(uintptr(sfd), "pts"), nil
}

func (p *termShell) read() {
	defer close(p.readDone)
	buf := make([]byte, 32<<10)
	for {
		n, err := p.master.Read(buf)
		p.mu.Lock()
		p.raw = append(p.raw, buf[:n]...)
		if err != nil {
			p.readErr = err
		}
		p.mu.Unlock()
		select {
		case p.notify <- struct{}{}:
		default:
		}
		if err != nil {
			return
		}
	}
}

// termEscRE matches escape sequences (cursor motion, erasing, bracketed
// paste), and one cut short at the end of what was read so far.
var termEscRE = regexp.MustCompile(`\x1b(\[[0-9;?]*[@-~]|[@-Z\\-_]|\[[0-9;?]*$|$)`)

func cleanTerm(b []byte) string {
	return strings.ReplaceAll(termEscRE.ReplaceAllString(string(b), ""), "\r", "")
}

func (p *termShell) output() string {
	p.mu.Lock()
	defer p.mu.Unlock()
	return cleanTerm(p.raw)
}

// expectRE waits for re in the output after what was matched before.
func (p *termShell) expectRE(re *regexp.Regexp) {
	p.t.Helper()
	deadline := time.NewTimer(termWait)
	defer deadline.Stop()
	for {
		p.mu.Lock()
		out := cleanTerm(p.raw)
		readErr := p.readErr
		p.mu.Unlock()
		if loc := re.FindStringIndex(out[p.seen:]); loc != nil {
			p.seen += loc[1]
			return
		}
		if readErr != nil {
			p.t.Fatalf("shell output ended (%v) without %q; unmatched:\n%s", readErr, re, out[p.seen:])
		}
		select {
		case <-p.notify:
		case <-deadline.C:
			p.t.Fatalf("no %q from the shell within %v; unmatched:\n%s", re, termWait, out[p.seen:])
		}
	}
}

func (p *termShell) expect(text string) {
	p.t.Helper()
	p.expectRE(regexp.MustCompile(regexp.QuoteMeta(text)))
}

func (p *termShell) expectLine(line string) {
	p.t.Helper()
	p.expectRE(regexp.MustCompile(`(?m)^` + regexp.QuoteMeta(line) + `$`))
}

func (p *termShell) send(keys string) {
	p.t.Helper()
	p.master.SetWriteDeadline(time.Now().Add(termWait))
	if _, err := p.master.WriteString(keys); err != nil {
		p.t.Fatalf("type %q: %v", keys, err)
	}
}

func (p *termShell) expectExit(want int) {
	p.t.Helper()
	select {
	case <-p.exited:
	case <-time.After(termWait):
		p.t.Fatalf("shell still running after the last key; output:\n%s", p.output())
	}
	if got := p.cmd.ProcessState.ExitCode(); got != want {
		p.t.Fatalf("shell exit status %d, want %d; output:\n%s", got, want, p.output())
	}
}

// Tab completes a remote path through the server's ls, and the completed
// command runs.
func TestShellCompletesRemotePath(t *testing.T) {
	s := startFileServer(t)
	if err := os.MkdirAll(filepath.Join(s.root, "sub"), 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(s.root, "sub", "file.txt"), []byte("hello"), 0o644); err != nil {
		t.Fatal(err)
	}
	dir := t.TempDir()
	sh := s.startTermShell(dir, t.TempDir())
	sh.expect(termPrompt)
	sh.send("get sub/fi\t")
	sh.expect("get sub/file.txt ")
	sh.send("\r")
	sh.expect("get: sub/file.txt -> file.txt (5 B")
	sh.expect(termPrompt)
	sh.send("quit\r")
	sh.expectExit(0)
	if b, err := os.ReadFile(filepath.Join(dir, "file.txt")); err != nil || string(b) != "hello" {
		t.Fatalf("the completed get did not fetch the file: %q, %v; output:\n%s", b, err, sh.output())
	}
}

// A command typed in one session is recalled with Up in the next, from
// the history file in the user's state folder.
func TestShellHistoryAcrossSessions(t *testing.T) {
	s := startFileServer(t)
	state := t.TempDir()
	sh := s.startTermShell(t.TempDir(), state)
	sh.expect(termPrompt)
	sh.send("upper one\r")
	sh.expectLine("ONE")
	sh.expect(termPrompt)
	sh.send("quit\r")
	sh.expectExit(0)

	sh = s.startTermShell(t.TempDir(), state)
	sh.expect(termPrompt)
	sh.send("\x1b[A")
	sh.expect("upper one")
	sh.send("\r")
	sh.expectLine("ONE")
	sh.expect(termPrompt)
	sh.send("\x04")
	sh.expectExit(0)
	fi, err := os.Stat(filepath.Join(state, "selectftp", "history"))
	if err != nil || fi.Mode().Perm() != 0o600 {
		t.Fatalf("history file: %v, %v", fi, err)
	}
}

// Ctrl-C during a large get stops it, leaves no local file but its hidden
// part (for get -c) and returns to the prompt; Ctrl-C at the prompt keeps
// the shell too.
func TestShellCtrlCDuringGet(t *testing.T) {
	s := startFileServer(t)
	if err := os.MkdirAll(s.root, 0o755); err != nil {
		t.Fatal(err)
	}
	// Sparse: it costs no disk, and takes minutes to send.
	big := filepath.Join(s.root, "big")
	if f, err := os.Create(big); err != nil {
		t.Fatal(err)
	} else {
		if err := f.Truncate(1 << 40); err != nil {
			t.Skipf("no sparse files here: %v", err)
		}
		f.Close()
	}
	dir := t.TempDir()
	sh := s.startTermShell(dir, t.TempDir())
	sh.expect(termPrompt)
	sh.send("get big\r")
	// The progress bar shows bytes are moving.
	sh.expectRE(regexp.MustCompile(`[1-9][0-9.]* [KMG]iB / 1\.0 TiB`))
	sh.send("\x03")
	sh.expect("partial download kept; get -c resumes it")
	sh.expect("selectftp: interrupted")
	sh.expect(termPrompt)
	// Nothing under the real name: only the hidden part get -c resumes.
	part := []string{".big.selectftp-part"}
	if files := listFiles(t, dir); !slices.Equal(files, part) {
		t.Fatalf("files left after Ctrl-C: %q", files)
	}
	sh.send("\x03") // at the prompt: clears the line, the shell stays
	sh.send("upper still here\r")
	sh.expectLine("STILL HERE")
	sh.expect(termPrompt)
	sh.send("quit\r")
	sh.expectExit(0)
	if files := listFiles(t, dir); !slices.Equal(files, part) {
		t.Fatalf("files left: %q", files)
	}
	if files := listFiles(t, s.root); !slices.Equal(files, []string{"big"}) {
		t.Fatalf("server files: %q", files)
	}
}
