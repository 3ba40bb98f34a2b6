package main

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"os/signal"
	"strings"
	"sync"
	"syscall"
	"time"
	"unicode"

	"golang.org/x/term"
)

// runShell is the interactive shell on the terminal fd (stdin). The
// terminal is raw only while a line is edited: commands run in the normal
// mode, so their output needs no translation and Ctrl-C raises SIGINT,
// which cancels the running command instead of killing the shell.
func runShell(s *session, fd int) int {
	s.stdin = nil // it carries the commands
	var termOut io.Writer = os.Stdout
	if _, ok := terminalFd(s.stdout); !ok {
		termOut = os.Stderr // keep the prompt out of redirected output
	}

	cmp := &completer{
		verbs:  completionCandidates(s.greet(termOut)),
		remote: s.remoteLister,
		local:  localLister,
	}
	t := term.NewTerminal(struct {
		io.Reader
		io.Writer
	}{&ctrlCReader{r: os.Stdin}, termOut}, "selectftp> ")
	// Warnings may come while the terminal is raw, where a bare \n would
	// not return the cursor to the left.
	warn := crlfWriter{s.stderr}
	histFile, err := historyPath()
	if err != nil {
		fmt.Fprintf(warn, "selectftp: warning: the history is not kept (%v)\n", err)
	}
	t.History = loadHistory(histFile, historyMax, warn)
	t.AutoCompleteCallback = func(line string, pos int, key rune) (string, int, bool) {
		if key != '\t' {
			return "", 0, false
		}
		newLine, newPos, list, ok := cmp.complete(line, pos)
		if len(list) > 0 {
			// Terminal.Write redraws the prompt and line below the list.
			// It runs on its own goroutine because it takes the
			// terminal's lock, which x/term may hold around this
			// callback; on a fast paste the list can land after the
			// command's output, which only affects the screen.
			go t.Write([]byte(strings.Join(list, "  ") + "\n"))
		}
		return newLine, newPos, ok
	}

	sh := &shellSignals{fd: fd, out: termOut, s: s}
	stop := sh.start()
	defer stop()

	for {
		if w, h, err := term.GetSize(fd); err == nil && w > 0 && h > 0 {
			t.SetSize(w, h)
		}
		state, err := term.MakeRaw(fd)
		if err != nil {
			fmt.Fprintf(s.stderr, "selectftp: %v\n", err)
			return exitFailed
		}
		sh.prompting(state)
		line, err := t.ReadLine()
		sh.prompting(nil)
		term.Restore(fd, state)
		if errors.Is(err, io.EOF) {
			fmt.Fprintln(termOut)
			return exitOK
		}
		if err != nil && !errors.Is(err, term.ErrPasteIndicator) {
			fmt.Fprintf(s.stderr, "selectftp: read command: %v\n", err)
			return exitFailed
		}
		if rest, ok := strings.CutPrefix(strings.TrimLeftFunc(line, unicode.IsSpace), "!"); ok {
			// The child has the terminal: Ctrl-C is its business, and the
			// shell's handler, with no command to cancel, ignores it.
			if err := s.bang(rest); err != nil {
				fmt.Fprintf(s.stderr, "selectftp: %v\n", err)
			}
			if sh.running(nil) {
				return exitInterrupted
			}
			continue
		}
		words, err := splitWords(line)
		if err != nil {
			fmt.Fprintf(s.stderr, "selectftp: %v\n", err)
			continue
		}
		if len(words) == 0 {
			continue
		}
		if words[0] == "quit" || words[0] == "exit" {
			return exitOK
		}
		if ok, err := s.localCommand(words); ok {
			if err != nil {
				fmt.Fprintf(s.stderr, "selectftp: %v\n", err)
			}
			continue
		}
		ctx, cancel := context.WithCancel(context.Background())
		sh.running(cancel)
		err = s.run(ctx, words)
		interrupted := ctx.Err() != nil
		quit := sh.running(nil)
		cancel()
		switch {
		case err != nil && interrupted:
			fmt.Fprintln(s.stderr, "selectftp: interrupted")
		case err != nil:
			fmt.Fprintf(s.stderr, "selectftp: %v\n", err)
		}
		if quit {
			return exitInterrupted
		}
	}
}

// crlfWriter ends lines with \r\n, for a terminal that may be raw.
type crlfWriter struct{ w io.Writer }

func (c crlfWriter) Write(p []byte) (int, error) {
	if _, err := c.w.Write(bytes.ReplaceAll(p, []byte("\n"), []byte("\r\n"))); err != nil {
		return 0, err
	}
	return len(p), nil
}

// greet connects, says so, and returns the server's verbs for completion.
// A server that is down is reported but does not stop the shell: every
// command tries to connect again.
func (s *session) greet(out io.Writer) []string {
	ctx, cancel := context.WithTimeout(context.Background(), 15*time.Second)
	defer cancel()
	c, err := s.connect(ctx)
	if err != nil {
		fmt.Fprintf(s.stderr, "selectftp: %v\n", err)
		return nil
	}
	name := c.Server().Server
	if name == "" {
		name = "selectftp server"
	}
	fmt.Fprintf(out, "Connected to %s (%s). Type helps for its commands, quit to leave.\n", s.addr, name)
	verbs, err := c.Verbs(ctx)
	if err == nil {
		s.verbsOf, s.verbs = c, verbs // the fallback note asks no more
	}
	if err != nil {
		fmt.Fprintf(s.stderr, "selectftp: no verb completion: %v\n", err)
		if c.Err() != nil {
			s.drop()
		}
	}
	return verbs
}

// shellSignals routes signals: Ctrl-C cancels the running command; SIGTERM
// and SIGHUP also end the shell, after the command has cleaned up, or at
// once, with the terminal restored, when it waits at the prompt.
type shellSignals struct {
	fd  int
	out io.Writer
	s   *session

	mu     sync.Mutex
	raw    *term.State        // set while a line is edited
	cancel context.CancelFunc // set while a command runs
	quit   bool
}

func (h *shellSignals) start() (stop func()) {
	sigc := make(chan os.Signal, 1)
	signal.Notify(sigc, os.Interrupt, syscall.SIGTERM, syscall.SIGHUP)
	done := make(chan struct{})
	go func() {
		for {
			select {
			case sig := <-sigc:
				h.handle(sig)
			case <-done:
				return
			}
		}
	}()
	return func() {
		signal.Stop(sigc)
		close(done)
	}
}

func (h *shellSignals) handle(sig os.Signal) {
	h.mu.Lock()
	defer h.mu.Unlock()
	if sig != os.Interrupt {
		h.quit = true
	}
	switch {
	case h.cancel != nil:
		h.cancel()
	case h.quit && h.raw != nil:
		term.Restore(h.fd, h.raw)
		fmt.Fprintln(h.out)
		h.s.drop()
		os.Exit(exitInterrupted)
	}
}

func (h *shellSignals) prompting(raw *term.State) {
	h.mu.Lock()
	defer h.mu.Unlock()
	h.raw = raw
}

// running records the cancel function of the running command and reports
// whether the shell should end.
func (h *shellSignals) running(cancel context.CancelFunc) (quit bool) {
	h.mu.Lock()
	defer h.mu.Unlock()
	h.cancel = cancel
	return h.quit
}

// ctrlCReader turns Ctrl-C at the prompt into Ctrl-E Ctrl-U, which clears
// the line as in other shells; the Terminal would otherwise treat it as
// end of input and the shell would quit.
type ctrlCReader struct {
	r       io.Reader
	pending []byte
}

func (c *ctrlCReader) Read(p []byte) (int, error) {
	if len(c.pending) > 0 {
		n := copy(p, c.pending)
		c.pending = c.pending[n:]
		return n, nil
	}
	n, err := c.r.Read(p)
	if bytes.IndexByte(p[:n], 3) < 0 {
		return n, err
	}
	out := make([]byte, 0, n+4)
	for _, b := range p[:n] {
		if b == 3 {
			out = append(out, 5, 21)
		} else {
			out = append(out, b)
		}
	}
	m := copy(p, out)
	c.pending = out[m:]
	return m, err
}
