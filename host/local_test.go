package host

import (
	"bytes"
	"context"
	"errors"
	"io"
	"net"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/hashicorp/go-hclog"

	"github.com/selectftp/selectftp/host/auth"
	"github.com/selectftp/selectftp/plugins"
	"github.com/selectftp/selectftp/protocol"
	"github.com/selectftp/selectftp/sdk"
)

// The tests of Local, a front end's session: each property the FTP front
// relies on, through the standard verbs in-process (and get as a real
// plugin process in local_plugin_test.go).

// localServer serves the standard verbs (upper as the fallback) with users
// (nil: anonymous), and returns once it serves.
func localServer(t *testing.T, users auth.Store, tune func(*Server)) *Server {
	t.Helper()
	return localServerCmds(t, users, tune, plugins.Standard())
}

// localServerCmds is localServer with cmds in-process.
func localServerCmds(t *testing.T, users auth.Store, tune func(*Server), cmds []sdk.Command) *Server {
	t.Helper()
	s := &Server{Root: t.TempDir(), Backend: BackendGoroutine, Fallback: "upper", Users: users,
		Logger: hclog.New(&hclog.LoggerOptions{Level: hclog.Warn, Output: testWriter{t}})}
	if err := s.Register(cmds...); err != nil {
		t.Fatal(err)
	}
	if tune != nil {
		tune(s)
	}
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	served := make(chan error, 1)
	go func() { served <- s.Serve(ln) }()
	t.Cleanup(func() {
		s.Close()
		select {
		case <-served:
		case <-time.After(10 * time.Second):
			t.Error("Serve did not return after Close")
		}
	})
	for deadline := time.Now().Add(10 * time.Second); !s.localServing(); {
		if time.Now().After(deadline) {
			t.Fatal("the server did not start")
		}
		time.Sleep(5 * time.Millisecond) // polling a start, bounded by the deadline
	}
	return s
}

// fromIP is a client address for LoginPlain.
func fromIP(ip string) net.Addr { return &net.TCPAddr{IP: net.ParseIP(ip), Port: 40000} }

// localLogin logs in or fails the test.
func localLogin(t *testing.T, s *Server, ip, user, pw string) *Local {
	t.Helper()
	l, err := s.LoginPlain(context.Background(), fromIP(ip), user, pw)
	if err != nil {
		t.Fatalf("login %s: %v", user, err)
	}
	t.Cleanup(l.Close)
	return l
}

// memOut is an Output that records what came by Write and by SendFile.
type memOut struct {
	mu        sync.Mutex
	buf       bytes.Buffer
	sentFiles int   // SendFile calls
	sentBytes int64 // bytes through SendFile
}

func (o *memOut) Write(p []byte) (int, error) {
	o.mu.Lock()
	defer o.mu.Unlock()
	return o.buf.Write(p)
}

func (o *memOut) SendFile(f *os.File, off, n int64) (int64, error) {
	o.mu.Lock()
	defer o.mu.Unlock()
	o.sentFiles++
	m, err := io.Copy(&o.buf, io.NewSectionReader(f, off, n))
	o.sentBytes += m
	return m, err
}

// call runs a call and fails the test on a call error (not a status).
func call(t *testing.T, l *Local, c Call) Result {
	t.Helper()
	if c.Body == nil && c.Size == 0 {
		c.Size = -1
	}
	r, err := l.Call(context.Background(), c)
	if err != nil {
		t.Fatalf("%s %v: %v", c.Verb, c.Args, err)
	}
	return r
}

func wantCode(t *testing.T, r Result, code protocol.Code) {
	t.Helper()
	if r.Status.Code != code {
		t.Fatalf("status %s (%s), want %s", r.Status.Code, r.Status.Message, code)
	}
}

// TestLocalAnonymousPutGetCd: without users, the anonymous names log in
// and others fail; put stores a body that carries no digest (hashed, not
// verified), cd moves Dir and later relative paths follow it, get hands
// the file to Output.SendFile, an unknown verb reaches the fallback.
func TestLocalAnonymousPutGetCd(t *testing.T) {
	s := localServer(t, nil, nil)
	for _, bad := range []string{"alice", "", "anonymous2"} {
		if _, err := s.LoginPlain(context.Background(), fromIP("127.0.0.1"), bad, "x"); !errors.Is(err, ErrAuthFailed) {
			t.Fatalf("login %q without users: %v, want ErrAuthFailed", bad, err)
		}
	}
	localLogin(t, s, "127.0.0.1", "FTP", "")
	l := localLogin(t, s, "127.0.0.1", "anonymous", "me@example.com")
	if l.User() != "" || l.Dir() != "/" {
		t.Fatalf("anonymous: User %q Dir %q", l.User(), l.Dir())
	}
	wantCode(t, call(t, l, Call{Verb: "mkdir", Args: []string{"d"}}), protocol.CodeOK)
	wantCode(t, call(t, l, Call{Verb: "cd", Args: []string{"d"}}), protocol.CodeOK)
	if l.Dir() != "/d" {
		t.Fatalf("Dir after cd d: %q", l.Dir())
	}
	data := bytes.Repeat([]byte("0123456789abcdef"), 100_000) // 1.6 MB: more than the body buffer
	r := call(t, l, Call{Verb: "put", Args: []string{"f.bin"}, Body: bytes.NewReader(data), Size: -1})
	wantCode(t, r, protocol.CodeOK)
	if got, err := os.ReadFile(filepath.Join(s.Root, "d", "f.bin")); err != nil || !bytes.Equal(got, data) {
		t.Fatalf("stored %d bytes (%v), want %d under d/", len(got), err, len(data))
	}
	out := &memOut{}
	r = call(t, l, Call{Verb: "get", Args: []string{"f.bin"}, Out: out})
	wantCode(t, r, protocol.CodeOK)
	if !bytes.Equal(out.buf.Bytes(), data) || out.sentBytes != int64(len(data)) || out.sentFiles == 0 {
		t.Fatalf("get: %d bytes, %d through SendFile in %d calls; want %d through SendFile",
			out.buf.Len(), out.sentBytes, out.sentFiles, len(data))
	}
	if r.Status.Size == nil || *r.Status.Size != int64(len(data)) {
		t.Fatalf("status size %v", r.Status.Size)
	}
	out = &memOut{}
	r = call(t, l, Call{Verb: "get", Args: []string{"f.bin"}, Params: map[string]any{"offset": 10}, Out: out})
	wantCode(t, r, protocol.CodeOK)
	if !bytes.Equal(out.buf.Bytes(), data[10:]) {
		t.Fatalf("get from offset 10: %d bytes", out.buf.Len())
	}
	out = &memOut{}
	r = call(t, l, Call{Verb: "shout", Args: []string{"hi"}, Out: out})
	wantCode(t, r, protocol.CodeOK)
	if r.Status.Fallback != "upper" || out.buf.String() != "SHOUT HI\n" {
		t.Fatalf("unknown verb: fallback %q, output %q", r.Status.Fallback, out.buf.String())
	}
	wantCode(t, call(t, l, Call{Verb: "get", Args: []string{"nope"}}), protocol.CodeNotFound)
}

// TestLocalBodyAbortKeepsNothing: a Body that fails mid-way aborts the
// upload: the command reads canceled and put keeps nothing, under the name
// or elsewhere.
func TestLocalBodyAbortKeepsNothing(t *testing.T) {
	s := localServer(t, nil, nil)
	l := localLogin(t, s, "127.0.0.1", "anonymous", "")
	src := io.MultiReader(bytes.NewReader(make([]byte, 3<<20)), iotestErr{errors.New("data connection reset")})
	r := call(t, l, Call{Verb: "put", Args: []string{"half.bin"}, Body: src, Size: -1})
	wantCode(t, r, protocol.CodeCanceled)
	if ents, _ := os.ReadDir(s.Root); len(ents) != 0 {
		t.Fatalf("an aborted upload left %v", ents)
	}
	// A declared size the body does not reach fails too, and keeps nothing.
	r = call(t, l, Call{Verb: "put", Args: []string{"short.bin"}, Body: bytes.NewReader(make([]byte, 10)), Size: 20})
	if r.Status.Code == protocol.CodeOK {
		t.Fatal("a body short of its declared size was stored")
	}
	if ents, _ := os.ReadDir(s.Root); len(ents) != 0 {
		t.Fatalf("a short upload left %v", ents)
	}
}

type iotestErr struct{ err error }

func (e iotestErr) Read([]byte) (int, error) { return 0, e.err }

// localUsers is alice (every permission) and reader (list and read).
func localUsers(t *testing.T, lim auth.Limits) testUsers {
	u := loginUsers(t)
	a := u["alice"]
	a.Limits = lim
	u["alice"] = a
	u["reader"] = auth.Account{Name: "reader", Root: "alice", Perms: []auth.Perm{auth.PermList, auth.PermRead},
		Credentials: creds["alice"]}
	return u
}

// TestLocalPermissionsAndTrees: a user's calls run in their own tree, a
// read-only user cannot put (permission, nothing stored), the audit log
// has the login and the requests under an "f" session.
func TestLocalPermissionsAndTrees(t *testing.T) {
	rec := &auditRecorder{}
	s := localServer(t, localUsers(t, auth.Limits{}), func(s *Server) { s.Audit = rec })
	alice := localLogin(t, s, "127.0.0.1", "alice", "alice-pw")
	if alice.User() != "alice" {
		t.Fatalf("User %q", alice.User())
	}
	wantCode(t, call(t, alice, Call{Verb: "put", Args: []string{"a.txt"}, Body: strings.NewReader("hello"), Size: 5}), protocol.CodeOK)
	if b, err := os.ReadFile(filepath.Join(s.Root, "alice", "a.txt")); err != nil || string(b) != "hello" {
		t.Fatalf("alice's file: %q %v", b, err)
	}
	reader := localLogin(t, s, "127.0.0.1", "reader", "alice-pw")
	r := call(t, reader, Call{Verb: "put", Args: []string{"b.txt"}, Body: strings.NewReader("x"), Size: 1})
	wantCode(t, r, protocol.CodePermission)
	if _, err := os.Stat(filepath.Join(s.Root, "alice", "b.txt")); err == nil {
		t.Fatal("a read-only user's put stored a file")
	}
	out := &memOut{}
	wantCode(t, call(t, reader, Call{Verb: "get", Args: []string{"/a.txt"}, Out: out}), protocol.CodeOK)
	if out.buf.String() != "hello" {
		t.Fatalf("reader got %q", out.buf.String())
	}
	wantCode(t, call(t, reader, Call{Verb: "get", Args: []string{"../alice/a.txt"}}), protocol.CodeNotFound)

	var sawLogin, sawPut bool
	for _, e := range rec.all() {
		if !strings.HasPrefix(e.Session, "f") {
			t.Errorf("audit session %q, want an f id", e.Session)
		}
		sawLogin = sawLogin || e.Event == AuditLogin && e.User == "alice" && e.Result == "ok" && e.IP == "127.0.0.1"
		sawPut = sawPut || e.Event == AuditRequest && e.User == "alice" && e.Verb == "put" && e.BytesIn == 5 && e.Code == "ok"
	}
	if !sawLogin || !sawPut {
		t.Fatalf("audit: login %v, put %v in %+v", sawLogin, sawPut, rec.all())
	}
}

// auditRecorder keeps audit events.
type auditRecorder struct {
	mu sync.Mutex
	es []AuditEvent
}

func (a *auditRecorder) Audit(e AuditEvent) { a.mu.Lock(); a.es = append(a.es, e); a.mu.Unlock() }
func (a *auditRecorder) all() []AuditEvent {
	a.mu.Lock()
	defer a.mu.Unlock()
	return append([]AuditEvent(nil), a.es...)
}

// TestLocalQuota: a stream crossing the quota is refused and keeps
// nothing; a declared size that cannot fit is refused before a byte of the
// body is read.
func TestLocalQuota(t *testing.T) {
	s := localServer(t, localUsers(t, auth.Limits{QuotaBytes: 100 << 10}), nil)
	alice := localLogin(t, s, "127.0.0.1", "alice", "alice-pw")
	r := call(t, alice, Call{Verb: "put", Args: []string{"big"}, Body: bytes.NewReader(make([]byte, 1<<20)), Size: -1})
	wantCode(t, r, protocol.CodeQuotaExceeded)
	if ents, _ := os.ReadDir(filepath.Join(s.Root, "alice")); len(ents) != 0 {
		t.Fatalf("an upload over the quota left %v", ents)
	}
	src := &countReader{r: bytes.NewReader(make([]byte, 1<<20))}
	r = call(t, alice, Call{Verb: "put", Args: []string{"big"}, Body: src, Size: 1 << 20})
	wantCode(t, r, protocol.CodeQuotaExceeded)
	if src.n != 0 {
		t.Fatalf("a declared size over the quota read %d bytes of the body first", src.n)
	}
	wantCode(t, call(t, alice, Call{Verb: "put", Args: []string{"small"}, Body: bytes.NewReader(make([]byte, 50<<10)), Size: -1}), protocol.CodeOK)
	wantCode(t, call(t, alice, Call{Verb: "put", Args: []string{"small2"}, Body: bytes.NewReader(make([]byte, 60<<10)), Size: -1}), protocol.CodeQuotaExceeded)
}

type countReader struct {
	r io.Reader
	n int
}

func (c *countReader) Read(p []byte) (int, error) { n, err := c.r.Read(p); c.n += n; return n, err }

// TestLocalUserSlots: a user's most sessions count Local sessions; Close
// gives the slot back, once.
func TestLocalUserSlots(t *testing.T) {
	s := localServer(t, localUsers(t, auth.Limits{MaxConns: 1}), nil)
	a, err := s.LoginPlain(context.Background(), fromIP("127.0.0.1"), "alice", "alice-pw")
	if err != nil {
		t.Fatal(err)
	}
	if _, err := s.LoginPlain(context.Background(), fromIP("127.0.0.1"), "alice", "alice-pw"); sdk.CodeOf(err) != protocol.CodeBusy {
		t.Fatalf("second session: %v, want busy", err)
	}
	a.Close()
	a.Close() // idempotent: must not give a second slot back
	b := localLogin(t, s, "127.0.0.1", "alice", "alice-pw")
	if _, err := s.LoginPlain(context.Background(), fromIP("127.0.0.1"), "alice", "alice-pw"); sdk.CodeOf(err) != protocol.CodeBusy {
		t.Fatalf("after a double Close: %v, want busy", err)
	}
	if _, err := a.Call(context.Background(), Call{Verb: "pwd", Size: -1}); !errors.Is(err, ErrLocalClosed) {
		t.Fatalf("Call after Close: %v", err)
	}
	wantCode(t, call(t, b, Call{Verb: "pwd"}), protocol.CodeOK)
}

// TestLocalUploadRate: a Local body is read no faster than the user's
// upload rate.
func TestLocalUploadRate(t *testing.T) {
	const rate = 256 << 10
	s := localServer(t, localUsers(t, auth.Limits{RateUp: rate}), nil)
	alice := localLogin(t, s, "127.0.0.1", "alice", "alice-pw")
	start := time.Now()
	wantCode(t, call(t, alice, Call{Verb: "put", Args: []string{"f"}, Body: bytes.NewReader(make([]byte, 512<<10)), Size: -1}), protocol.CodeOK)
	// 512 KiB at 256 KiB/s with a 25.6 KiB burst: about 1.9 s.
	if took, least := time.Since(start), 1500*time.Millisecond; took < least {
		t.Fatalf("512 KiB at %d B/s took %v, want at least %v", rate, took, least)
	}
}
