package main

import (
	"bytes"
	"context"
	"crypto/rand"
	"io"
	"net"
	"os"
	"path/filepath"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/selectftp/selectftp/client"
	"github.com/selectftp/selectftp/host/hosttest"
	"github.com/selectftp/selectftp/internal/checksum"
	"github.com/selectftp/selectftp/plugins/get"
	"github.com/selectftp/selectftp/plugins/helps"
	"github.com/selectftp/selectftp/plugins/put"
	"github.com/selectftp/selectftp/plugins/upper"
	"github.com/selectftp/selectftp/protocol"
)

// runWith runs the program with a bounded wait: a hang fails the test
// instead of stalling the suite.
func runWith(t *testing.T, stdin string, args ...string) (code int, stdout, stderr string) {
	t.Helper()
	var out, errb bytes.Buffer
	done := make(chan int, 1)
	go func() { done <- run(args, strings.NewReader(stdin), &out, &errb) }()
	select {
	case code = <-done:
	case <-time.After(30 * time.Second):
		t.Fatalf("selectftp %q did not finish", args)
	}
	return code, out.String(), errb.String()
}

// newServer runs the real server with the standard verbs.
func newServer(t *testing.T) *hosttest.Server {
	return hosttest.NewServer(t, get.New(), helps.New(), put.New(), upper.New())
}

// ask runs one request with the library, for what a test expects the
// command line to print.
func ask(t *testing.T, addr string, f func(ctx context.Context, c *client.Conn) (string, error)) (string, error) {
	t.Helper()
	ctx, cancel := context.WithTimeout(t.Context(), 20*time.Second)
	defer cancel()
	c, err := client.Dial(ctx, addr)
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	return f(ctx, c)
}

func writeFile(t *testing.T, path string, data []byte) {
	t.Helper()
	if err := os.WriteFile(path, data, 0o644); err != nil {
		t.Fatal(err)
	}
}

func readFile(t *testing.T, path string) []byte {
	t.Helper()
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	return b
}

func TestRunScript(t *testing.T) {
	srv := newServer(t)
	dir := t.TempDir()
	big := make([]byte, 300_000)
	rand.Read(big)
	writeFile(t, filepath.Join(dir, "a.txt"), []byte("hello\n"))
	writeFile(t, filepath.Join(dir, "my file.txt"), big)
	os.Mkdir(filepath.Join(dir, "out"), 0o755)
	os.Mkdir(srv.Path("sub"), 0o755) // put makes no folders
	list, err := ask(t, srv.Addr, func(ctx context.Context, c *client.Conn) (string, error) { return c.Helps(ctx, "") })
	if err != nil {
		t.Fatal(err)
	}
	putUsage, err := ask(t, srv.Addr, func(ctx context.Context, c *client.Conn) (string, error) { return c.Helps(ctx, "put") })
	if err != nil {
		t.Fatal(err)
	}
	_, missing := ask(t, srv.Addr, func(ctx context.Context, c *client.Conn) (string, error) {
		return "", c.Get(ctx, "missing.txt", io.Discard, nil)
	})
	if client.Code(missing) != protocol.CodeNotFound {
		t.Fatalf("get missing.txt: %v", missing)
	}

	script := strings.ReplaceAll(`
# a comment, then a blank line

put 'DIR/a.txt'
put 'DIR/my file.txt' "remote name.txt"
put 'DIR/a.txt' sub/
get "remote name.txt" 'DIR/out'
get a.txt 'DIR/copy.txt'
get sub/a.txt -
helps
help put
upper hello  "wörld  two"
hello there
get missing.txt 'DIR/missing.txt'
put - x
bad "quote
   # indented comment
upper still going
`, "DIR", dir)
	asked := srv.Sessions()
	code, stdout, stderr := runWith(t, script, "--addr", srv.Addr)
	if code != 1 {
		t.Errorf("exit code %d, want 1 (some commands failed)", code)
	}
	wantOut := "hello\n" +
		list +
		putUsage +
		"HELLO WÖRLD  TWO\n" +
		"HELLO THERE\n" +
		"STILL GOING\n"
	if stdout != wantOut {
		t.Errorf("stdout:\n%s\nwant:\n%s", stdout, wantOut)
	}
	wantErr := []string{
		"selectftp: line 14: " + describe(missing),
		"selectftp: line 15: put -: stdin carries the commands here; put - works only as a single command",
		"selectftp: line 16: unterminated double quote",
	}
	if got := strings.Split(strings.TrimSpace(stderr), "\n"); strings.Join(got, "\n") != strings.Join(wantErr, "\n") {
		t.Errorf("stderr:\n%s\nwant:\n%s", stderr, strings.Join(wantErr, "\n"))
	}
	if got, _ := srv.ReadFile("remote name.txt"); !bytes.Equal(got, big) {
		t.Error("server copy of 'my file.txt' differs")
	}
	if got := readFile(t, filepath.Join(dir, "out", "remote name.txt")); !bytes.Equal(got, big) {
		t.Error("downloaded 'remote name.txt' differs")
	}
	if got := readFile(t, filepath.Join(dir, "copy.txt")); string(got) != "hello\n" {
		t.Errorf("copy.txt = %q", got)
	}
	if _, err := os.Stat(filepath.Join(dir, "missing.txt")); !os.IsNotExist(err) {
		t.Errorf("failed get left a file: %v", err)
	}
	if n := srv.Sessions() - asked; n > 1 {
		t.Errorf("%d connections open, want one reused", n)
	}
}

func TestRunScriptQuitAndSuccess(t *testing.T) {
	srv := newServer(t)
	code, stdout, stderr := runWith(t, "upper a\nquit\nupper b\n", "--addr", srv.Addr)
	if code != 0 || stdout != "A\n" || stderr != "" {
		t.Errorf("got %d %q %q", code, stdout, stderr)
	}
}

func TestRunOneShot(t *testing.T) {
	srv := newServer(t)
	srv.WriteFile("dir/remote.bin", []byte("remote bytes"))
	strict := hosttest.NewUnstartedServer(t, upper.New())
	strict.Host.Fallback = "" // unknown verbs get unknown_verb
	strict.Start()
	getUsage, err := ask(t, srv.Addr, func(ctx context.Context, c *client.Conn) (string, error) { return c.Helps(ctx, "get") })
	if err != nil {
		t.Fatal(err)
	}
	dead := func() string {
		ln, err := net.Listen("tcp", "127.0.0.1:0")
		if err != nil {
			t.Fatal(err)
		}
		defer ln.Close()
		return ln.Addr().String()
	}()
	a := srv.Addr
	tests := []struct {
		name       string
		args       []string
		stdin      string
		wantCode   int
		wantOut    string
		wantErrHas string
	}{
		{"upper", []string{"--addr", a, "upper", "hello", "world"}, "", 0, "HELLO WORLD\n", ""},
		{"upper no args", []string{"--addr", a, "upper"}, "", 0, "", ""},
		{"fallback", []string{"--addr", a, "frob", "x y"}, "", 0, "FROB X Y\n", ""},
		{"quiet flag", []string{"-q", "--addr", a, "upper", "-q"}, "", 0, "-Q\n", ""},
		{"unknown verb", []string{"--addr", strict.Addr, "nope"}, "", 1, "", "selectftp: nope: unknown command: unknown verb \"nope\" [unknown_verb]\n"},
		{"helps verb", []string{"--addr", a, "?", "get"}, "", 0, getUsage, ""},
		{"get to stdout", []string{"--addr", a, "get", "dir/remote.bin", "-"}, "", 0, "remote bytes", ""},
		{"get missing", []string{"--addr", a, "get", "nothere", "-"}, "", exitNotFound, "", "selectftp: get nothere: not found: no file \"nothere\" [not_found]\n"},
		{"put stdin", []string{"--addr", a, "put", "-", "from-stdin"}, "piped data", 0, "", ""},
		{"put stdin needs remote", []string{"--addr", a, "put", "-"}, "", 2, "", "selectftp: put -: give the REMOTE name to store stdin as\n"},
		{"put usage", []string{"--addr", a, "put"}, "", 2, "", "selectftp: usage: put [-c] [-r] [-p] LOCAL [REMOTE]\n"},
		{"put missing file", []string{"--addr", a, "put", "/nonexistent/file"}, "", 1, "", "selectftp: put: open /nonexistent/file: no such file or directory\n"},
		{"get usage", []string{"--addr", a, "get", "a", "b", "c"}, "", 2, "", "selectftp: usage: get [-c] [-r] [-p] REMOTE [LOCAL]\n"},
		{"flag after the verb", []string{"--addr", a, "put", "f.txt", "-q"}, "", 2, "", "selectftp: -q: flags go before the verb"},
		{"get no name", []string{"--addr", a, "get", "/"}, "", 2, "", "selectftp: get /: give a LOCAL name\n"},
		{"bad flag", []string{"--bogus"}, "", 2, "", "selectftp: flag provided but not defined: -bogus (see selectftp --help)\n"},
		{"help", []string{"--help"}, "", 0, usageText, ""},
		{"h", []string{"-h"}, "", 0, usageText, ""},
		{"server down", []string{"--addr", dead, "upper", "x"}, "", exitNetwork, "", "selectftp: connect to " + dead + ": "},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			code, stdout, stderr := runWith(t, tt.stdin, tt.args...)
			if code != tt.wantCode || stdout != tt.wantOut || !strings.HasPrefix(stderr, tt.wantErrHas) || (tt.wantErrHas == "") != (stderr == "") {
				t.Errorf("got exit %d, stdout %q, stderr %q; want %d, %q, %q", code, stdout, stderr, tt.wantCode, tt.wantOut, tt.wantErrHas)
			}
			if strings.Count(stderr, "\n") > 1 {
				t.Errorf("error message is not one line: %q", stderr)
			}
		})
	}
	if got, _ := srv.ReadFile("from-stdin"); string(got) != "piped data" {
		t.Errorf("put - stored %q", got)
	}
}

func TestRunDefaults(t *testing.T) {
	srv := newServer(t)
	srv.WriteFile("docs/report final.txt", []byte("report"))
	dir := t.TempDir()
	t.Chdir(dir)
	t.Setenv(addrEnv, srv.Addr)
	// LOCAL defaults to the remote base name in the current folder.
	if code, _, stderr := runWith(t, "", "get", "docs/report final.txt"); code != 0 {
		t.Fatalf("get: %d %s", code, stderr)
	}
	if got := readFile(t, filepath.Join(dir, "report final.txt")); string(got) != "report" {
		t.Errorf("got %q", got)
	}
	// REMOTE defaults to the local base name.
	writeFile(t, filepath.Join(dir, "up.txt"), []byte("up"))
	if code, _, stderr := runWith(t, "", "put", filepath.Join(dir, "up.txt")); code != 0 {
		t.Fatalf("put: %d %s", code, stderr)
	}
	if got, _ := srv.ReadFile("up.txt"); string(got) != "up" {
		t.Errorf("server has %q", got)
	}
	// The flag wins over the environment.
	t.Setenv(addrEnv, "127.0.0.1:1")
	if code, stdout, stderr := runWith(t, "", "--addr", srv.Addr, "upper", "x"); code != 0 || stdout != "X\n" {
		t.Errorf("flag over env: %d %q %q", code, stdout, stderr)
	}
}

// A server that closes an idle connection (here with a timeout Status,
// as selectftpd does) costs the next command nothing: it reconnects.
func TestSessionReconnects(t *testing.T) {
	kicked := make(chan struct{})
	var conns atomic.Int32
	addr := hosttest.NewFaultServer(t, func(fc *hosttest.FaultConn) {
		first := conns.Add(1) == 1
		if fc.Hello() != nil {
			return
		}
		req, _, err := fc.ReadRequest()
		if err != nil {
			return
		}
		out := []byte(strings.ToUpper(strings.Join(req.Args, " ")) + "\n")
		fc.Data(out)
		fc.Send(protocol.TypeStatus, okStatus(out)) // v2: an ok Status carries the body's size and digest
		if first {
			fc.Status(protocol.CodeTimeout, "idle for 5m0s")
			fc.Close()
			close(kicked)
		}
	})
	var out bytes.Buffer
	s := &session{addr: addr, stdout: &out, stderr: io.Discard}
	defer s.drop()
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()
	if err := s.run(ctx, []string{"upper", "one"}); err != nil {
		t.Fatal(err)
	}
	<-kicked
	if err := s.run(ctx, []string{"upper", "two"}); err != nil {
		t.Fatalf("after the server closed the connection: %v", err)
	}
	if out.String() != "ONE\nTWO\n" {
		t.Errorf("output %q", out.String())
	}
	if n := conns.Load(); n != 2 {
		t.Errorf("%d connections, want 2", n)
	}
}

// okStatus is the ok Status a v2 server sends after body: its length and
// its digest in the default algorithm.
func okStatus(body []byte) protocol.Status {
	h := checksum.Default.New()
	h.Write(body)
	n := int64(len(body))
	return protocol.Status{Code: protocol.CodeOK, Size: &n, Digest: checksum.Default.Encode(h.Sum(nil))}
}

func TestServerAddr(t *testing.T) {
	for _, tt := range []struct{ flag, env, want string }{
		{"", "", "127.0.0.1:2121"},
		{"", "example.org:21", "example.org:21"},
		{"h:1", "example.org:21", "h:1"},
		{"myhost", "", "myhost:2121"},
		{"::1", "", "[::1]:2121"},
		{"[::1]:99", "", "[::1]:99"},
	} {
		if got := serverAddr(tt.flag, tt.env); got != tt.want {
			t.Errorf("serverAddr(%q, %q) = %q, want %q", tt.flag, tt.env, got, tt.want)
		}
	}
}

func TestCtrlCReader(t *testing.T) {
	r := &ctrlCReader{r: strings.NewReader("ab\x03c\x03")}
	got, err := io.ReadAll(r)
	if err != nil || string(got) != "ab\x05\x15c\x05\x15" {
		t.Errorf("got %q %v", got, err)
	}
}
