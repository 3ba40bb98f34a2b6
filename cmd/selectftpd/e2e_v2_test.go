package main

// End-to-end tests of protocol v2 through the real CLI: streamed put -,
// every digest algorithm, early refusal and corruption in flight.

import (
	"bytes"
	"crypto/rand"
	"os"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"

	"golang.org/x/sys/unix"

	"github.com/selectftp/selectftp/internal/checksum"
)

func randomBytes(t *testing.T, n int) []byte {
	t.Helper()
	b := make([]byte, n)
	rand.Read(b)
	return b
}

// put - sends stdin as it arrives: the server holds the first mebibyte
// before the rest is even written, and the file is whole at the end.
func TestStreamedPutReachesTheServerBeforeStdinEnds(t *testing.T) {
	s := startServer(t, nil)
	first, rest := randomBytes(t, 1<<20), randomBytes(t, 7<<20+123)
	c := startCLI(t, s.addr, t.TempDir(), true, "", "-q", "put", "-", "stream.bin")
	if _, err := c.stdin.Write(first); err != nil {
		t.Fatal(err)
	}
	start := time.Now()
	waitFor(t, "the server to receive bytes while stdin is still open", func() bool { return s.stagedBytes() > 0 })
	t.Logf("the server held %d bytes %v after the first MiB was written, with stdin open", s.stagedBytes(), time.Since(start).Round(time.Millisecond))
	if _, err := os.Stat(filepath.Join(s.root, "stream.bin")); err == nil {
		t.Fatal("stream.bin exists before stdin ended")
	}
	if _, err := c.stdin.Write(rest); err != nil {
		t.Fatal(err)
	}
	c.stdin.Close()
	if code := c.wait(t); code != 0 {
		t.Fatalf("put -: exit %d: %s", code, c.stderr.String())
	}
	got, err := os.ReadFile(filepath.Join(s.root, "stream.bin"))
	if err != nil || !bytes.Equal(got, append(first, rest...)) {
		t.Fatalf("stored %d bytes (%v), want %d, byte-exact", len(got), err, len(first)+len(rest))
	}
	if files := listFiles(t, s.root); len(files) != 1 {
		t.Errorf("root holds %v", files)
	}
}

// Ctrl-C in the middle of put - ends the client at once, even though its
// stdin stays open and silent, and leaves nothing on the server: no file
// under the name, no staging file.
func TestInterruptedStreamLeavesNothing(t *testing.T) {
	s := startServer(t, nil)
	c := startCLI(t, s.addr, t.TempDir(), true, "", "-q", "put", "-", "stream.bin")
	defer c.stdin.Close()
	if _, err := c.stdin.Write(randomBytes(t, 1<<20)); err != nil {
		t.Fatal(err)
	}
	waitFor(t, "the upload to reach the server", func() bool { return s.stagedBytes() > 0 })
	c.cmd.Process.Signal(syscall.SIGINT)
	start := time.Now()
	if code := c.wait(t); code != 130 || !strings.Contains(c.stderr.String(), "interrupted") {
		t.Fatalf("after SIGINT: exit %d, stderr %q", code, c.stderr.String())
	}
	t.Logf("the client exited %v after SIGINT", time.Since(start).Round(time.Millisecond))
	waitFor(t, "the server to drop the upload", func() bool {
		return len(listFiles(t, s.root)) == 0 && s.stagedBytes() < 0
	})
	if r := s.client("", "upper", "still", "serving"); r.stdout != "STILL SERVING\n" {
		t.Fatalf("after the interrupted stream: %+v", r)
	}
}

// digestAttr reads the digest the put plugin recorded with the file for
// alg, or "" (and ok false) when the file system keeps no attributes.
func digestAttr(t *testing.T, path string, alg checksum.Algorithm) (string, bool) {
	t.Helper()
	buf := make([]byte, 256)
	n, err := unix.Getxattr(path, "user.selectftp.digest."+alg.String(), buf)
	if err != nil {
		return "", false
	}
	f := strings.Fields(string(buf[:n]))
	if len(f) != 4 {
		t.Fatalf("%s: digest attribute %q", path, buf[:n])
	}
	return f[3], true
}

func digestOf(alg checksum.Algorithm, b []byte) string {
	h := alg.New()
	h.Write(b)
	return alg.Encode(h.Sum(nil))
}

// Each algorithm carries a put and a get byte-exact, and is the one the
// server verified with: the put plugin records the digest it checked, per
// algorithm, beside the file.
func TestEveryChecksumRoundTrips(t *testing.T) {
	s := startServer(t, nil)
	dir := t.TempDir()
	for i, alg := range checksum.All() {
		t.Run(alg.String(), func(t *testing.T) {
			data := randomBytes(t, 3<<20+i)
			name := "f-" + alg.String()
			if err := os.WriteFile(filepath.Join(dir, name), data, 0o644); err != nil {
				t.Fatal(err)
			}
			if r := s.clientIn(dir, "", "--checksum", alg.String(), "put", name); r.code != 0 {
				t.Fatalf("put: %+v", r)
			}
			if got, ok := digestAttr(t, filepath.Join(s.root, name), alg); ok && got != digestOf(alg, data) {
				t.Errorf("the server recorded %s digest %s, want %s", alg, got, digestOf(alg, data))
			} else if !ok {
				t.Logf("no %s digest attribute on the stored file (file system without xattrs?)", alg)
			}
			for _, other := range checksum.All() {
				if _, ok := digestAttr(t, filepath.Join(s.root, name), other); ok && other != alg {
					t.Errorf("put with --checksum %s recorded a %s digest: the flag did not reach the server", alg, other)
				}
			}
			back := filepath.Join(dir, "back-"+alg.String())
			if r := s.clientIn(dir, "", "--checksum", alg.String(), "get", name, back); r.code != 0 {
				t.Fatalf("get: %+v", r)
			}
			if got, _ := os.ReadFile(back); !bytes.Equal(got, data) {
				t.Fatalf("got back %d bytes, not the %d put", len(got), len(data))
			}
		})
	}
}

// A server run with --min-checksum sha256 refuses --checksum xxh128 in one
// clear line, stores nothing, and takes sha256, blake3 and the default
// (then sha256 itself).
func TestMinChecksumRefusesWeakerDigests(t *testing.T) {
	s := startServer(t, []string{"--min-checksum", "sha256"})
	dir := t.TempDir()
	data := randomBytes(t, 2<<20)
	if err := os.WriteFile(filepath.Join(dir, "f"), data, 0o644); err != nil {
		t.Fatal(err)
	}
	r := s.clientIn(dir, "", "--checksum", "xxh128", "put", "f")
	if r.code == 0 || strings.Count(r.stderr, "\n") != 1 || !strings.Contains(r.stderr, "xxh128") || !strings.Contains(r.stderr, "sha256") {
		t.Fatalf("put --checksum xxh128 on a sha256-minimum server: %+v", r)
	}
	t.Logf("refused with: %s", strings.TrimSpace(r.stderr))
	if files := listFiles(t, s.root); len(files) != 0 {
		t.Fatalf("the refused put left %v", files)
	}
	for _, args := range [][]string{{"--checksum", "sha256"}, {"--checksum", "blake3"}, nil} {
		name := "f" + strings.Join(args, "")
		args = append(args, "put", "f", name)
		if r := s.clientIn(dir, "", args...); r.code != 0 {
			t.Fatalf("%v: %+v", args, r)
		}
		if got, _ := os.ReadFile(filepath.Join(s.root, name)); !bytes.Equal(got, data) {
			t.Fatalf("%v: stored %d bytes", args, len(got))
		}
	}
	if _, ok := digestAttr(t, filepath.Join(s.root, "f"), checksum.SHA256); !ok {
		t.Log("no sha256 attribute on the default put (file system without xattrs?)")
	}
	if _, ok := digestAttr(t, filepath.Join(s.root, "f"), checksum.XXH128); ok {
		t.Error("the default put on a sha256-minimum server was verified with xxh128")
	}
	if r := startServerErr(t, "--min-checksum", "md5"); !strings.Contains(r, "xxh128, sha256, blake3") {
		t.Fatalf("--min-checksum md5: %q", r)
	}
}

// A put the server refuses costs no body: a 10 GiB upload over the put
// plugin's max_size fails at once with a clear message, almost nothing
// crosses the wire, and the same connection serves the next command.
func TestRefusedHugePutFailsAtOnce(t *testing.T) {
	settings := filepath.Join(t.TempDir(), "settings.json")
	if err := os.WriteFile(settings, []byte(`{"put": {"max_size": 1048576}}`), 0o644); err != nil {
		t.Fatal(err)
	}
	s := startServer(t, []string{"--plugin-settings", settings})
	dir := t.TempDir()
	huge := filepath.Join(dir, "huge")
	f, err := os.Create(huge)
	if err != nil {
		t.Fatal(err)
	}
	if err := f.Truncate(10 << 30); err != nil { // sparse: no disk used
		t.Fatal(err)
	}
	f.Close()
	p := startProxy(t, s.addr, false, false)
	// Script mode: both commands on one connection.
	start := time.Now()
	c := startCLI(t, p.addr, dir, false, "put huge\nupper still serving\n")
	code := c.wait(t)
	total := time.Since(start)
	afterConnect := total
	if at := p.connectedAt(); !at.IsZero() {
		afterConnect = time.Since(at)
	}
	t.Logf("refused 10 GiB put: %v after connecting (%v for the whole client run, both commands); %d bytes went to the server",
		afterConnect.Round(time.Millisecond), total.Round(time.Millisecond), p.up.Load())
	stderr := c.stderr.String()
	if code != 1 || !strings.Contains(stderr, "too_large") || !strings.Contains(stderr, "over the upload limit") || strings.Count(stderr, "\n") != 1 {
		t.Fatalf("exit %d, stderr %q", code, stderr)
	}
	if c.stdout.String() != "STILL SERVING\n" {
		t.Fatalf("the next command printed %q", c.stdout.String())
	}
	if afterConnect > 5*time.Second {
		t.Errorf("the refusal took %v", afterConnect)
	}
	if up := p.up.Load(); up > 1<<20 {
		t.Errorf("%d bytes went to the server for a refused upload", up)
	}
	if n := p.accepted.Load(); n != 1 {
		t.Errorf("%d connections: the refusal cost the connection", n)
	}
	if files := listFiles(t, s.root); len(files) != 0 {
		t.Errorf("left on the server: %v", files)
	}
}

// One byte flipped in flight inside an upload's Data frame: the server
// refuses the upload with status checksum and keeps nothing, and the client
// says so and fails.
func TestCorruptedUploadIsRefused(t *testing.T) {
	s := startServer(t, nil)
	dir := t.TempDir()
	if err := os.WriteFile(filepath.Join(dir, "f"), randomBytes(t, 8<<20), 0o644); err != nil {
		t.Fatal(err)
	}
	p := startProxy(t, s.addr, true, false)
	r := runCLI(t, p.addr, dir, "", "put", "f")
	if p.flipped.Load() != 1 {
		t.Fatalf("the proxy flipped %d bytes, want 1 (client: %+v)", p.flipped.Load(), r)
	}
	t.Logf("client: %s", strings.TrimSpace(r.stderr))
	if r.code != 6 || !strings.Contains(r.stderr, "checksum") || strings.Count(r.stderr, "\n") != 1 {
		t.Fatalf("corrupted upload: %+v", r)
	}
	waitFor(t, "the server to drop the corrupted upload", func() bool { return len(listFiles(t, s.root)) == 0 && s.stagedBytes() < 0 })
	// Through a clean path the same file goes.
	if r := s.clientIn(dir, "", "put", "f"); r.code != 0 {
		t.Fatalf("clean put after: %+v", r)
	}
}

// One byte flipped in flight inside a download's Data frame: the client
// fails with an integrity error and leaves no local file, not even its
// temporary one.
func TestCorruptedDownloadIsRefused(t *testing.T) {
	s := startServer(t, nil)
	if err := os.MkdirAll(s.root, 0o755); err != nil {
		t.Fatal(err)
	}
	data := randomBytes(t, 8<<20)
	if err := os.WriteFile(filepath.Join(s.root, "f"), data, 0o644); err != nil {
		t.Fatal(err)
	}
	p := startProxy(t, s.addr, false, true)
	dir := t.TempDir()
	r := runCLI(t, p.addr, dir, "", "get", "f")
	if p.flipped.Load() != 1 {
		t.Fatalf("the proxy flipped %d bytes, want 1 (client: %+v)", p.flipped.Load(), r)
	}
	t.Logf("client: %s", strings.TrimSpace(r.stderr))
	if r.code != 6 || !strings.Contains(r.stderr, "checksum") || strings.Count(r.stderr, "\n") != 1 {
		t.Fatalf("corrupted download: %+v", r)
	}
	if files := listFiles(t, dir); len(files) != 0 {
		t.Fatalf("the failed download left %v", files)
	}
	// The same request through a clean path is whole.
	if r := s.clientIn(dir, "", "get", "f"); r.code != 0 {
		t.Fatalf("clean get after: %+v", r)
	}
	if got, _ := os.ReadFile(filepath.Join(dir, "f")); !bytes.Equal(got, data) {
		t.Fatal("the clean get is not byte-exact")
	}
}
