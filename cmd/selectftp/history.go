package main

import (
	"bufio"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strings"
)

// historyMax bounds the shell history, in memory and on disk: enough for
// weeks of use, small enough to read at every start.
const historyMax = 1000

// historyPath is where the shell keeps its history across sessions: the
// user's state folder (XDG base directories), which is for data worth
// keeping but not worth backing up.
func historyPath() (string, error) {
	if dir := os.Getenv("XDG_STATE_HOME"); filepath.IsAbs(dir) {
		return filepath.Join(dir, "selectftp", "history"), nil
	}
	home, err := os.UserHomeDir()
	if err != nil {
		return "", fmt.Errorf("no folder for the history: %w", err)
	}
	return filepath.Join(home, ".local", "state", "selectftp", "history"), nil
}

// history is the shell's term.History, loaded from a file and appended to
// it line by line, so that two shells open at once both keep their lines.
// A history that cannot be written warns once and goes on in memory: the
// history is a convenience, never a reason to stop working.
type history struct {
	path    string
	max     int
	lines   []string // oldest first
	onDisk  int      // lines in the file, as far as this process knows
	warn    io.Writer
	warned  bool
	noWrite bool
}

// loadHistory reads the history at path; a missing file is an empty
// history, any other problem is reported on warn and the shell starts
// with an empty one.
func loadHistory(path string, max int, warn io.Writer) *history {
	h := &history{path: path, max: max, warn: warn}
	if path == "" {
		h.noWrite = true
		return h
	}
	f, err := os.Open(path)
	if err != nil {
		if !errors.Is(err, os.ErrNotExist) {
			h.fail("read", err)
		}
		return h
	}
	defer f.Close()
	sc := bufio.NewScanner(f)
	sc.Buffer(make([]byte, 0, 4096), 1<<20)
	for sc.Scan() {
		h.onDisk++
		if line := sc.Text(); line != "" {
			h.lines = append(h.lines, line)
		}
	}
	if err := sc.Err(); err != nil {
		h.fail("read", err)
	}
	if len(h.lines) > max {
		h.lines = h.lines[len(h.lines)-max:]
	}
	return h
}

// Add records a line the user entered and appends it to the file.
func (h *history) Add(line string) {
	// A line never holds a newline here, but a pasted control character
	// or a blank line is not worth recalling.
	if strings.TrimSpace(line) == "" || strings.ContainsAny(line, "\r\n") {
		return
	}
	if w := strings.TrimSpace(line); w == "quit" || w == "exit" {
		return // the next session's Up should find the last real command
	}
	if n := len(h.lines); n > 0 && h.lines[n-1] == line {
		return // repeating a command does not push older ones out
	}
	h.lines = append(h.lines, line)
	if len(h.lines) > h.max {
		h.lines = h.lines[len(h.lines)-h.max:]
	}
	if h.noWrite {
		return
	}
	if err := h.append(line); err != nil {
		h.fail("write", err)
	}
}

// Len is the number of lines kept.
func (h *history) Len() int { return len(h.lines) }

// At returns the idx-th most recent line (0: the last).
func (h *history) At(idx int) string { return h.lines[len(h.lines)-1-idx] }

func (h *history) append(line string) error {
	if err := os.MkdirAll(filepath.Dir(h.path), 0o700); err != nil {
		return err
	}
	f, err := os.OpenFile(h.path, os.O_WRONLY|os.O_APPEND|os.O_CREATE, 0o600)
	if err != nil {
		return err
	}
	_, err = io.WriteString(f, line+"\n")
	if cerr := f.Close(); err == nil {
		err = cerr
	}
	if err != nil {
		return err
	}
	h.onDisk++
	if h.onDisk > h.max {
		return h.compact()
	}
	return nil
}

// compact rewrites the file with its last max lines. It reads the file
// again rather than writing what this process holds, so the lines of
// another shell open at the same time survive; the rename makes a reader
// see the old file or the new one, never half of one.
func (h *history) compact() error {
	b, err := os.ReadFile(h.path)
	if err != nil {
		return err
	}
	lines := strings.SplitAfter(string(b), "\n")
	if lines[len(lines)-1] == "" {
		lines = lines[:len(lines)-1]
	}
	if len(lines) > h.max {
		lines = lines[len(lines)-h.max:]
	}
	tmp, err := os.CreateTemp(filepath.Dir(h.path), ".history-*")
	if err != nil {
		return err
	}
	_, err = io.WriteString(tmp, strings.Join(lines, ""))
	if cerr := tmp.Close(); err == nil {
		err = cerr
	}
	if err == nil {
		err = os.Rename(tmp.Name(), h.path)
	}
	if err != nil {
		os.Remove(tmp.Name())
		return err
	}
	h.onDisk = len(lines)
	return nil
}

// fail warns once, in one line, and stops writing.
func (h *history) fail(what string, err error) {
	h.noWrite = true
	if !h.warned {
		h.warned = true
		fmt.Fprintf(h.warn, "selectftp: warning: the history is not kept (%s: %v)\n", what, err)
	}
}
