package ftpfront

import (
	"bufio"
	"bytes"
	"context"
	"crypto/rand"
	"fmt"
	"io"
	"net"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"
)

// startFront serves a front over a fake host in a temporary folder.
func startFront(t *testing.T, h *fakeHost, cfg Config) string {
	t.Helper()
	addr, _ := startFrontF(t, h, cfg)
	return addr
}

func startFrontF(t *testing.T, h *fakeHost, cfg Config) (string, *Front) {
	t.Helper()
	if h.root == "" {
		h.root = t.TempDir()
	}
	f, err := newFront(h, cfg)
	if err != nil {
		t.Fatal(err)
	}
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	done := make(chan error, 1)
	go func() { done <- f.Serve(ln) }()
	t.Cleanup(func() {
		ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		defer cancel()
		f.Shutdown(ctx)
		<-done
	})
	return ln.Addr().String(), f
}

// settle waits (bounded) until no client of f is in a transfer.
func settle(t *testing.T, f *Front) {
	t.Helper()
	deadline := time.Now().Add(10 * time.Second)
	for f.busy() {
		if time.Now().After(deadline) {
			t.Fatal("a transfer did not end")
		}
		time.Sleep(5 * time.Millisecond)
	}
}

// ftpConn is a minimal FTP client: enough to drive the front exactly.
type ftpConn struct {
	t *testing.T
	c net.Conn
	r *bufio.Reader
}

func dialFTP(t *testing.T, addr string) *ftpConn {
	t.Helper()
	c, err := net.Dial("tcp", addr)
	if err != nil {
		t.Fatal(err)
	}
	c.SetDeadline(time.Now().Add(20 * time.Second))
	fc := &ftpConn{t: t, c: c, r: bufio.NewReader(c)}
	t.Cleanup(func() { c.Close() })
	fc.expect(220)
	return fc
}

// reply reads one (possibly multi-line) reply.
func (f *ftpConn) reply() (int, string) {
	f.t.Helper()
	var all []string
	for {
		line, err := f.r.ReadString('\n')
		if err != nil {
			f.t.Fatalf("reading a reply: %v (so far %q)", err, all)
		}
		line = strings.TrimRight(line, "\r\n")
		all = append(all, line)
		if len(line) >= 4 && line[3] == ' ' {
			if code, err := strconv.Atoi(line[:3]); err == nil {
				return code, strings.Join(all, "\n")
			}
		}
	}
}

func (f *ftpConn) cmd(format string, args ...any) (int, string) {
	f.t.Helper()
	fmt.Fprintf(f.c, format+"\r\n", args...)
	return f.reply()
}

func (f *ftpConn) expect(code int) string {
	f.t.Helper()
	got, msg := f.reply()
	if got != code {
		f.t.Fatalf("want %d, got %q", code, msg)
	}
	return msg
}

func (f *ftpConn) must(code int, format string, args ...any) string {
	f.t.Helper()
	got, msg := f.cmd(format, args...)
	if got != code {
		f.t.Fatalf("%s: want %d, got %q", fmt.Sprintf(format, args...), code, msg)
	}
	return msg
}

func (f *ftpConn) login() {
	f.t.Helper()
	f.must(331, "USER anonymous")
	f.must(230, "PASS x")
	f.must(200, "TYPE I")
}

// epsv opens a passive data connection.
func (f *ftpConn) epsv() net.Conn {
	f.t.Helper()
	msg := f.must(229, "EPSV")
	i := strings.Index(msg, "(|||")
	port := strings.TrimSuffix(msg[i+4:], "|)")
	host, _, _ := net.SplitHostPort(f.c.RemoteAddr().String())
	d, err := net.Dial("tcp", net.JoinHostPort(host, port))
	if err != nil {
		f.t.Fatal(err)
	}
	d.SetDeadline(time.Now().Add(20 * time.Second))
	return d
}

func (f *ftpConn) retr(name string) []byte {
	f.t.Helper()
	d := f.epsv()
	defer d.Close()
	f.must(150, "RETR %s", name)
	b, err := io.ReadAll(d)
	if err != nil {
		f.t.Fatal(err)
	}
	f.expect(226)
	return b
}

func (f *ftpConn) stor(name string, b []byte) {
	f.t.Helper()
	d := f.epsv()
	f.must(150, "STOR %s", name)
	d.Write(b)
	d.Close()
	f.expect(226)
}

func randBytes(t *testing.T, n int) []byte {
	b := make([]byte, n)
	rand.Read(b)
	return b
}

// RETR reaches sendfile(2) on the data socket with the descriptor get hands
// over, and REST's offset becomes get's: the bytes are the file's from it.
func TestRetrSendfileAndRest(t *testing.T) {
	noLoopbackCopy(t) // as for a client on another machine
	h := &fakeHost{}
	addr := startFront(t, h, Config{})
	want := randBytes(t, 3<<20+17)
	os.WriteFile(filepath.Join(h.root, "big"), want, 0o644)
	c := dialFTP(t, addr)
	c.login()
	before := sendfileCalls.Load()
	if got := c.retr("big"); !bytes.Equal(got, want) {
		t.Fatalf("RETR: %d bytes, want %d, equal=false", len(got), len(want))
	}
	if sendfileCalls.Load() == before {
		t.Fatal("RETR copied the file: the zero-copy path was not taken")
	}
	c.must(350, "REST 1000")
	if got := c.retr("big"); !bytes.Equal(got, want[1000:]) {
		t.Fatalf("REST 1000 + RETR: %d bytes, want %d", len(got), len(want)-1000)
	}
	c.must(213, "SIZE big")
	if msg := c.must(213, "SIZE big"); !strings.HasSuffix(msg, strconv.Itoa(len(want))) {
		t.Fatalf("SIZE: %q", msg)
	}
	// A missing file is refused before any data connection opens.
	c.epsv().Close()
	c.must(550, "RETR nothing")
}

// STOR commits only a body that ended while its client stayed; a client
// that dies mid-upload (both sockets closed, as a killed curl's) or aborts
// leaves nothing under the name.
func TestStorAtomic(t *testing.T) {
	h := &fakeHost{}
	addr, f := startFrontF(t, h, Config{})
	c := dialFTP(t, addr)
	c.login()
	want := randBytes(t, 1<<20)
	c.stor("whole", want)
	if got, _ := os.ReadFile(filepath.Join(h.root, "whole")); !bytes.Equal(got, want) {
		t.Fatalf("STOR: stored %d bytes, want %d", len(got), len(want))
	}
	if got := c.retr("whole"); !bytes.Equal(got, want) {
		t.Fatal("RETR after STOR differs")
	}

	// The client dies: its control connection closes, then its data one.
	k := dialFTP(t, addr)
	k.login()
	d := k.epsv()
	k.must(150, "STOR killed")
	d.Write(want[:300<<10])
	// Its data connection ends first, as cleanly as a finished upload's;
	// its control connection a moment later.
	d.Close()
	k.c.Close()
	settle(t, f)
	if _, err := os.Stat(filepath.Join(h.root, "killed")); err == nil {
		t.Fatal("an upload whose client died was kept")
	}

	// ABOR in the middle.
	a := dialFTP(t, addr)
	a.login()
	d2 := a.epsv()
	a.must(150, "STOR aborted")
	d2.Write(want[:100<<10])
	fmt.Fprintf(a.c, "ABOR\r\n")
	for code, msg := a.reply(); code != 226; code, msg = a.reply() {
		if code != 426 {
			t.Fatalf("ABOR: %q", msg)
		}
	}
	d2.Close()
	settle(t, f)
	if _, err := os.Stat(filepath.Join(h.root, "aborted")); err == nil {
		t.Fatal("an aborted upload was kept")
	}
	if ents, _ := os.ReadDir(h.root); len(ents) != 1 {
		t.Fatalf("the folder holds %d entries, want only the whole upload", len(ents))
	}
}

func TestStorRefusedBeforeData(t *testing.T) {
	h := &fakeHost{readOnly: true}
	addr := startFront(t, h, Config{})
	c := dialFTP(t, addr)
	c.login()
	d := c.epsv()
	defer d.Close()
	if code, msg := c.cmd("STOR x"); code != 550 || !strings.Contains(msg, "permission denied") {
		t.Fatalf("STOR by a read-only user: %q", msg)
	}
	code, msg := c.cmd("APPE x")
	if code != 550 || !strings.Contains(msg, "permission denied") {
		t.Fatalf("APPE: %q", msg)
	}
}

// A client killed right after its last byte: the data connection ends
// cleanly and only the control connection's end tells. The upload must not
// be committed.
func TestStorClientDiesAfterData(t *testing.T) {
	h := &fakeHost{}
	addr, f := startFrontF(t, h, Config{UploadSettle: 3 * time.Second})
	c := dialFTP(t, addr)
	c.login()
	d := c.epsv()
	c.must(150, "STOR late")
	d.Write(randBytes(t, 64<<10))
	d.(*net.TCPConn).CloseWrite()
	// Without the check the server commits now and says 226; with it, it
	// waits for the client, which dies 300 ms on.
	c.c.SetReadDeadline(time.Now().Add(300 * time.Millisecond))
	if line, err := c.r.ReadString('\n'); err == nil {
		t.Fatalf("the server answered %q before the client died", line)
	}
	c.c.Close()
	d.Close()
	settle(t, f)
	if _, err := os.Stat(filepath.Join(h.root, "late")); err == nil {
		t.Fatal("the upload of a client that died was kept")
	}
}
