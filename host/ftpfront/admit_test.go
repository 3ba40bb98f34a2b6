package ftpfront

import (
	"bufio"
	"context"
	"errors"
	"io"
	"net"
	"strings"
	"sync"
	"testing"
	"time"
)

// admitHost is the fake host with the host's admission: perIP
// connections per address, banned addresses, and a defender that bans at
// threshold protocol errors.
type admitHost struct {
	*fakeHost
	perIP     int
	threshold int

	mu     sync.Mutex
	open   map[string]int
	banned bool
	scored int
}

func (h *admitHost) Admit(remote net.Addr) (func(), error) {
	ip, _, _ := net.SplitHostPort(remote.String())
	h.mu.Lock()
	defer h.mu.Unlock()
	if h.banned {
		return nil, errors.New("too many failed logins from your address; try again in 30m0s")
	}
	if h.perIP > 0 && h.open[ip] >= h.perIP {
		return nil, errors.New("too many connections from " + ip)
	}
	h.open[ip]++
	var once sync.Once
	return func() {
		once.Do(func() {
			h.mu.Lock()
			h.open[ip]--
			h.mu.Unlock()
		})
	}, nil
}

func (h *admitHost) ProtocolError(net.Addr) bool {
	h.mu.Lock()
	defer h.mu.Unlock()
	h.scored++
	if h.threshold > 0 && h.scored >= h.threshold {
		h.banned = true
	}
	return h.banned
}

func (h *admitHost) counts() (open, scored int) {
	h.mu.Lock()
	defer h.mu.Unlock()
	for _, n := range h.open {
		open += n
	}
	return open, h.scored
}

// startAdmitFront serves a front over h.
func startAdmitFront(t *testing.T, h *admitHost, cfg Config) string {
	t.Helper()
	h.fakeHost = &fakeHost{root: t.TempDir()}
	h.open = map[string]int{}
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
	return ln.Addr().String()
}

// refusedWith421 dials addr and checks the connection is answered 421
// and closed; it returns the reply.
func refusedWith421(t *testing.T, addr string) string {
	t.Helper()
	c, err := net.Dial("tcp", addr)
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	c.SetDeadline(time.Now().Add(10 * time.Second))
	r := bufio.NewReader(c)
	line, err := r.ReadString('\n')
	if err != nil || !strings.HasPrefix(line, "421 ") {
		t.Fatalf("want a 421 at connect, got %q (%v)", line, err)
	}
	if rest, err := r.ReadString('\n'); err != io.EOF {
		t.Fatalf("the refused connection stayed open: %q %v", rest, err)
	}
	return line
}

// closedAfter reads fc until the server closes it, and returns the last
// reply line seen.
func closedAfter(t *testing.T, fc *ftpConn) string {
	t.Helper()
	var last string
	for {
		line, err := fc.r.ReadString('\n')
		if err == io.EOF {
			return last
		}
		if err != nil {
			t.Fatalf("the server did not close the connection: %v (last %q)", err, last)
		}
		last = line
	}
}

// The host's connection limits hold FTP control connections: over the
// per-address limit a client gets 421 at connect and is closed, and a
// closed connection gives its slot back.
func TestAdmissionLimitGets421(t *testing.T) {
	h := &admitHost{perIP: 2}
	addr := startAdmitFront(t, h, Config{})
	a := dialFTP(t, addr)
	dialFTP(t, addr)
	if line := refusedWith421(t, addr); !strings.Contains(line, "too many connections") {
		t.Fatalf("the 421 does not say why: %q", line)
	}
	a.must(221, "QUIT")
	a.c.Close()
	deadline := time.Now().Add(10 * time.Second)
	for open, _ := h.counts(); open != 1; open, _ = h.counts() {
		if time.Now().After(deadline) {
			t.Fatalf("a closed connection kept its slot: %d open", open)
		}
		time.Sleep(5 * time.Millisecond) // polling the release, bounded
	}
	dialFTP(t, addr) // the freed slot
}

// A banned address is answered 421 at connect, before the library sees it.
func TestBannedAddressGets421(t *testing.T) {
	h := &admitHost{}
	addr := startAdmitFront(t, h, Config{})
	h.mu.Lock()
	h.banned = true
	h.mu.Unlock()
	if line := refusedWith421(t, addr); !strings.Contains(line, "failed logins") {
		t.Fatalf("the 421 does not say why: %q", line)
	}
}

// A client that does not log in within LoginTimeout is told 421 and
// closed, and scored; one that logged in stays past it.
func TestSilentClientClosedAfterLoginTimeout(t *testing.T) {
	h := &admitHost{}
	const limit = 300 * time.Millisecond
	addr := startAdmitFront(t, h, Config{LoginTimeout: limit})
	t0 := time.Now()
	silent := dialFTP(t, addr)
	if last := closedAfter(t, silent); !strings.HasPrefix(last, "421 ") {
		t.Fatalf("a silent client was closed without a 421: %q", last)
	}
	if took := time.Since(t0); took < limit || took > limit+5*time.Second {
		t.Fatalf("closed after %v, want about %v", took, limit)
	}
	if _, scored := h.counts(); scored != 1 {
		t.Fatalf("the timeout before a login scored %d, want 1", scored)
	}

	// USER given, no PASS: still not logged in.
	half := dialFTP(t, addr)
	half.must(331, "USER alice")
	if last := closedAfter(t, half); !strings.HasPrefix(last, "421 ") {
		t.Fatalf("a client stopped between USER and PASS: %q", last)
	}

	in := dialFTP(t, addr)
	in.login()
	deadline := time.Now().Add(3 * limit)
	for time.Now().Before(deadline) {
		in.must(200, "NOOP")  // a logged-in client is past the login deadline
		time.Sleep(limit / 3) // pacing the probe, not a synchronisation
	}
}

// Errors the library answers before a login (an unknown command, one that
// needs a login) are scored; at the ban the connection is closed. A failed
// password is not scored again (the login scores it), and nothing after a
// login is.
func TestProtocolErrorsBeforeLoginScored(t *testing.T) {
	h := &admitHost{threshold: 3}
	addr := startAdmitFront(t, h, Config{})

	in := dialFTP(t, addr)
	in.login()
	in.must(500, "BOGUS")
	bad := dialFTP(t, addr)
	bad.must(331, "USER bad")
	bad.must(530, "PASS x")
	if _, scored := h.counts(); scored != 0 {
		t.Fatalf("a failed password or an error after a login scored %d", scored)
	}

	fc := dialFTP(t, addr)
	fc.must(500, "BOGUS")
	fc.must(530, "LIST")
	if _, scored := h.counts(); scored != 2 {
		t.Fatalf("two protocol errors before a login scored %d", scored)
	}
	fc.must(500, "AGAIN") // the third: banned, and closed
	if last := closedAfter(t, fc); last != "" {
		t.Fatalf("more after the ban: %q", last)
	}
	refusedWith421(t, addr)
}
