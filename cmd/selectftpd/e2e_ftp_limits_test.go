package main

import (
	"bufio"
	"errors"
	"fmt"
	"io"
	"net"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"
)

// End-to-end tests of the FTP front's admission (review finding 3): the
// server's connection limits, its bans, a pre-login deadline and the
// scoring of protocol errors before a login, with the real selectftpd.

// ftpLine is a raw FTP control connection: reply lines, nothing more.
type ftpLine struct {
	t *testing.T
	c net.Conn
	r *bufio.Reader
}

func dialFTPLine(t *testing.T, addr string) *ftpLine {
	t.Helper()
	c, err := net.DialTimeout("tcp", addr, 5*time.Second)
	if err != nil {
		t.Fatal(err)
	}
	c.SetDeadline(time.Now().Add(30 * time.Second))
	t.Cleanup(func() { c.Close() })
	return &ftpLine{t: t, c: c, r: bufio.NewReader(c)}
}

// line reads a reply line ("" at the end of the connection: closed, or
// reset because a command crossed the server's close).
func (f *ftpLine) line() string {
	f.t.Helper()
	s, err := f.r.ReadString('\n')
	if s == "" && (err == io.EOF || errors.Is(err, syscall.ECONNRESET)) {
		return ""
	}
	if err != nil {
		f.t.Fatalf("reading a reply: %v", err)
	}
	return strings.TrimRight(s, "\r\n")
}

// send sends a command and returns its reply line.
func (f *ftpLine) send(cmd string) string {
	f.t.Helper()
	fmt.Fprintf(f.c, "%s\r\n", cmd)
	return f.line()
}

// expectEnd checks the server closes the connection with nothing more.
func (f *ftpLine) expectEnd() {
	f.t.Helper()
	if l := f.line(); l != "" {
		f.t.Fatalf("the connection stayed open: %q", l)
	}
}

// --max-conns-per-ip holds FTP control connections: the third from one
// address is answered 421 and closed; a closed one frees its slot.
func TestFTPConnectionsPerIP(t *testing.T) {
	_, addr := startFTP(t, []string{"--max-conns-per-ip", "2"})
	a := dialFTPLine(t, addr)
	if l := a.line(); !strings.HasPrefix(l, "220 ") {
		t.Fatalf("first: %q", l)
	}
	b := dialFTPLine(t, addr)
	if l := b.line(); !strings.HasPrefix(l, "220 ") {
		t.Fatalf("second: %q", l)
	}
	c := dialFTPLine(t, addr)
	if l := c.line(); !strings.HasPrefix(l, "421 ") || !strings.Contains(l, "too many connections") {
		t.Fatalf("third connection from one address: %q, want 421 too many connections", l)
	}
	c.expectEnd()
	a.send("QUIT")
	a.c.Close()
	waitFor(t, "the freed slot", func() bool {
		d := dialFTPLine(t, addr)
		defer d.c.Close()
		return strings.HasPrefix(d.line(), "220 ")
	})
}

// A client that does not log in within --ftp-login-timeout is told 421
// and closed, instead of holding its slot for the 15-minute idle timeout.
func TestFTPSilentClientClosed(t *testing.T) {
	_, addr := startFTP(t, []string{"--ftp-login-timeout", "500ms"})
	c := dialFTPLine(t, addr)
	if l := c.line(); !strings.HasPrefix(l, "220 ") {
		t.Fatalf("greeting: %q", l)
	}
	t0 := time.Now()
	if l := c.line(); !strings.HasPrefix(l, "421 ") {
		t.Fatalf("a silent client got %q, want 421", l)
	}
	c.expectEnd()
	if took := time.Since(t0); took > 10*time.Second {
		t.Fatalf("closed after %v", took)
	}
}

// Protocol errors before a login score the address with the defender
// (with users): at the ban the connection is closed, and the next
// connection from the address gets 421 at connect.
func TestFTPProtocolErrorsBan(t *testing.T) {
	needBinaries(t)
	usersFile := filepath.Join(t.TempDir(), "users.json")
	addUser(t, usersFile, "alice", "alice-pw")
	s, addr := startFTP(t, []string{"--users", usersFile})
	c := dialFTPLine(t, addr)
	if l := c.line(); !strings.HasPrefix(l, "220 ") {
		t.Fatalf("greeting: %q", l)
	}
	// The default threshold is 15 points, a protocol error costs 1.
	closed := false
	for i := 0; i < 40 && !closed; i++ {
		switch l := c.send("LIST"); {
		case l == "":
			closed = true
		case !strings.HasPrefix(l, "530 "):
			t.Fatalf("LIST before a login: %q", l)
		}
	}
	if !closed {
		t.Fatal("40 commands before a login and no ban")
	}
	d := dialFTPLine(t, addr)
	if l := d.line(); !strings.HasPrefix(l, "421 ") || !strings.Contains(l, "try again") {
		t.Fatalf("a banned address got %q at connect, want 421", l)
	}
	d.expectEnd()
	waitFor(t, "the refusal in the log", func() bool { return strings.Contains(s.logText(), "FTP connection refused") })
}
