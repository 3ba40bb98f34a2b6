//go:build linux

package main

import (
	"os"
	"os/exec"
	"regexp"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/selectftp/selectftp/host"
)

// ptyChildEnv makes the test binary run the CLI instead of the tests, so
// that the shell can be driven as a child process on a pseudo-terminal
// without building the command separately.
const ptyChildEnv = "SELECTFTP_TEST_PTY_CHILD"

func TestMain(m *testing.M) {
	if os.Getenv(ptyChildEnv) == "1" {
		os.Exit(run(os.Args[1:], os.Stdin, os.Stdout, os.Stderr))
	}
	os.Exit(m.Run())
}

// ptyWait bounds every wait on the shell, so that a hang fails the test.
const ptyWait = 10 * time.Second

const shellPrompt = "selectftp> "

// ptyShell is the selectftp shell running in a child process whose
// stdin, stdout and stderr are the slave side of a pseudo-terminal.
type ptyShell struct {
	t      *testing.T
	master *os.File
	cmd    *exec.Cmd

	mu      sync.Mutex
	raw     []byte        // everything read from the master
	readErr error         // set when the reader stops
	notify  chan struct{} // signalled after each read

	seen     int // how much of the cleaned output has been matched; test goroutine only
	readDone chan struct{}
	exited   chan struct{} // closed when cmd.Wait returns
}

func startPTYShell(t *testing.T, args ...string) *ptyShell {
	t.Helper()
	master, slave, err := openPTY(24, 80)
	if err != nil {
		t.Skipf("no pseudo-terminal: %v", err)
	}
	cmd := exec.Command(os.Args[0], args...)
	// Under -race the child would otherwise sleep a second before exiting.
	gorace := strings.TrimSpace(os.Getenv("GORACE") + " atexit_sleep_ms=0")
	cmd.Env = append(os.Environ(), ptyChildEnv+"=1", "GORACE="+gorace)
	cmd.Stdin, cmd.Stdout, cmd.Stderr = slave, slave, slave
	// A new session with the pty as its controlling terminal (fd 0 in
	// the child), as a login shell would have.
	cmd.SysProcAttr = &syscall.SysProcAttr{Setsid: true, Setctty: true, Ctty: 0}
	err = cmd.Start()
	slave.Close() // the child has its copy; the master sees EIO once it exits
	if err != nil {
		master.Close()
		t.Fatalf("start shell: %v", err)
	}
	p := &ptyShell{
		t:        t,
		master:   master,
		cmd:      cmd,
		notify:   make(chan struct{}, 1),
		readDone: make(chan struct{}),
		exited:   make(chan struct{}),
	}
	go p.read()
	go func() {
		cmd.Wait()
		close(p.exited)
	}()
	t.Cleanup(func() {
		select {
		case <-p.exited:
		default:
			cmd.Process.Kill()
			select {
			case <-p.exited:
			case <-time.After(ptyWait):
				t.Errorf("shell pid %d did not die", cmd.Process.Pid)
			}
		}
		master.Close() // unblocks the reader
		<-p.readDone
	})
	return p
}

func (p *ptyShell) read() {
	defer close(p.readDone)
	buf := make([]byte, 4096)
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

// ansiRE matches the escape sequences the shell writes (cursor motion,
// erasing, bracketed paste mode), and one cut short at the end of what
// has been read so far.
var ansiRE = regexp.MustCompile(`\x1b(\[[0-9;?]*[@-~]|[@-Z\\-_]|\[[0-9;?]*$|$)`)

// cleanTTY removes escape sequences and carriage returns from terminal
// output, leaving plain text with \n line ends. It works on a prefix the
// same as on the whole, so offsets into it stay valid as output grows.
func cleanTTY(b []byte) string {
	s := ansiRE.ReplaceAllString(string(b), "")
	return strings.ReplaceAll(s, "\r", "")
}

// output returns the cleaned output so far.
func (p *ptyShell) output() string {
	p.mu.Lock()
	defer p.mu.Unlock()
	return cleanTTY(p.raw)
}

// expectRE waits for re to match the cleaned output after what earlier
// expectations matched, and consumes the output up to the end of the match.
func (p *ptyShell) expectRE(re *regexp.Regexp) string {
	p.t.Helper()
	deadline := time.NewTimer(ptyWait)
	defer deadline.Stop()
	for {
		p.mu.Lock()
		out := cleanTTY(p.raw)
		readErr := p.readErr
		p.mu.Unlock()
		if loc := re.FindStringIndex(out[p.seen:]); loc != nil {
			m := out[p.seen+loc[0] : p.seen+loc[1]]
			p.seen += loc[1]
			return m
		}
		if readErr != nil {
			p.t.Fatalf("shell output ended (%v) without %q; unmatched output:\n%s", readErr, re, out[p.seen:])
		}
		select {
		case <-p.notify:
		case <-deadline.C:
			p.t.Fatalf("no %q from the shell within %v; unmatched output:\n%s", re, ptyWait, out[p.seen:])
		}
	}
}

// expect waits for text in the cleaned output; see expectRE.
func (p *ptyShell) expect(text string) {
	p.t.Helper()
	p.expectRE(regexp.MustCompile(regexp.QuoteMeta(text)))
}

// expectLine waits for a whole line of output.
func (p *ptyShell) expectLine(line string) {
	p.t.Helper()
	p.expectRE(regexp.MustCompile(`(?m)^` + regexp.QuoteMeta(line) + `$`))
}

// send types keys into the terminal.
func (p *ptyShell) send(keys string) {
	p.t.Helper()
	p.master.SetWriteDeadline(time.Now().Add(ptyWait))
	if _, err := p.master.WriteString(keys); err != nil {
		p.t.Fatalf("type %q: %v", keys, err)
	}
}

// expectExit waits for the shell to end and checks its exit status.
func (p *ptyShell) expectExit(want int) {
	p.t.Helper()
	select {
	case <-p.exited:
	case <-time.After(ptyWait):
		p.t.Fatalf("shell still running %v after the last key; output:\n%s", ptyWait, p.output())
	}
	if got := p.cmd.ProcessState.ExitCode(); got != want {
		p.t.Fatalf("shell exit status %d (%v), want %d; output:\n%s", got, p.cmd.ProcessState, want, p.output())
	}
}

// TestShellPTY drives the interactive shell on a real terminal: completion,
// the help alias, history and quit.
func TestShellPTY(t *testing.T) {
	srv := newServer(t)
	sh := startPTYShell(t, "--addr", srv.Addr)

	sh.expectLine("Connected to " + srv.Addr + " (selectftpd/" + host.Version + "). Type helps for its commands, quit to leave.")
	sh.expect(shellPrompt)

	// Tab completes the only verb starting with upp, adding a space.
	sh.send("upp\t")
	sh.expect("upper ")
	sh.send("hi there\r")
	// A failed completion would have sent verb upp: "UPP HI THERE".
	sh.expectLine("HI THERE")
	sh.expect(shellPrompt)

	// Up recalls the previous line; Enter runs it again.
	sh.send("\x1b[A")
	sh.expect("upper hi there")
	sh.send("\r")
	sh.expectLine("HI THERE")
	sh.expect(shellPrompt)

	// ? is helps: the server's verbs, one a line, sorted.
	sh.send("?\r")
	for _, v := range []string{"get", "helps", "put", "upper"} {
		sh.expectRE(regexp.MustCompile(`(?m)^` + v + `\s+\S`))
	}
	sh.expect(shellPrompt)

	// An ambiguous word is extended to the common prefix; a second Tab
	// lists the candidates and redraws the prompt and line below them.
	sh.send("h\t")
	sh.expect("help")
	sh.send("\t")
	// The list overwrites the line; stripping the cursor motion leaves
	// the old line before it.
	sh.expect("help  helps\n" + shellPrompt + "help")
	sh.send("\x15") // Ctrl-U: erase the line

	sh.send("quit\r")
	sh.expectExit(0)

	if out := sh.output(); strings.Contains(out, "selectftp: ") {
		t.Errorf("the shell reported an error; output:\n%s", out)
	}
	if n := srv.Requests(); n != 4 {
		t.Errorf("server saw %d requests, want 4 (helps for completion, upper twice, helps)", n)
	}
}

// TestShellPTYCtrlD checks that Ctrl-D on an empty line leaves the shell.
func TestShellPTYCtrlD(t *testing.T) {
	srv := newServer(t)
	sh := startPTYShell(t, "--addr", srv.Addr)
	sh.expect(shellPrompt)
	sh.send("\x04")
	sh.expectExit(0)
	if out := sh.output(); strings.Contains(out, "selectftp: ") {
		t.Errorf("the shell reported an error; output:\n%s", out)
	}
}
