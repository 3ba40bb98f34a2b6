package loadgen

import (
	"bytes"
	"context"
	"crypto/rand"
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/selectftp/selectftp/host/hosttest"
	"github.com/selectftp/selectftp/plugins/get"
	"github.com/selectftp/selectftp/plugins/put"
	"github.com/selectftp/selectftp/plugins/upper"
)

func TestPercentile(t *testing.T) {
	var s []time.Duration
	for i := 1; i <= 100; i++ {
		s = append(s, time.Duration(i))
	}
	for _, c := range []struct {
		p    float64
		want time.Duration
	}{{50, 50}, {99, 99}, {100, 100}, {1, 1}, {0.1, 1}, {99.5, 100}} {
		if got := Percentile(s, c.p); got != c.want {
			t.Errorf("Percentile(1..100, %v) = %v, want %v", c.p, got, c.want)
		}
	}
	if got := Percentile(nil, 50); got != 0 {
		t.Errorf("Percentile(nil) = %v, want 0", got)
	}
	if got := Percentile([]time.Duration{7}, 99); got != 7 {
		t.Errorf("Percentile([7], 99) = %v, want 7", got)
	}
	three := []time.Duration{1, 2, 3}
	if got := Percentile(three, 50); got != 2 {
		t.Errorf("p50 of 1,2,3 = %v, want 2", got)
	}
}

func TestParseSize(t *testing.T) {
	for in, want := range map[string]int64{"1GiB": 1 << 30, "64MiB": 64 << 20, "16Mi": 16 << 20,
		"1000": 1000, "2K": 2000, "3MB": 3e6, " 5 KiB": 5 << 10} {
		if got, err := ParseSize(in); err != nil || got != want {
			t.Errorf("ParseSize(%q) = %d, %v; want %d", in, got, err, want)
		}
	}
	for _, bad := range []string{"", "x", "-1", "1.5GiB", "GiB"} {
		if _, err := ParseSize(bad); err == nil {
			t.Errorf("ParseSize(%q) accepted", bad)
		}
	}
}

func TestParseResult(t *testing.T) {
	out := []byte("get: conns=1 ...\n{\"mode\":\"get\",\"conns\":1,\"errors\":0,\"bytes\":42,\"seconds\":2,\"mbps\":21}\n\n")
	r, err := ParseResult(out)
	if err != nil || r.Mode != "get" || r.Bytes != 42 || r.MBps != 21 {
		t.Fatalf("ParseResult = %+v, %v", r, err)
	}
	for _, bad := range []string{"", "no json here\n", "{\"conns\":1}\n", "{broken\n"} {
		if _, err := ParseResult([]byte(bad)); err == nil {
			t.Errorf("ParseResult(%q) accepted", bad)
		}
	}
}

func TestRepeatReader(t *testing.T) {
	const n = 3<<20 + 12345
	var a, b bytes.Buffer
	(&repeatReader{block: block(), left: n}).WriteTo(&a)
	b.ReadFrom(&repeatReader{block: block(), left: n})
	if a.Len() != n || !bytes.Equal(a.Bytes(), b.Bytes()) {
		t.Fatalf("WriteTo gave %d bytes, Read %d, equal %v", a.Len(), b.Len(), bytes.Equal(a.Bytes(), b.Bytes()))
	}
	if !bytes.Equal(a.Bytes()[1<<20:2<<20], block()) {
		t.Fatal("the content does not repeat the block")
	}
}

// serve starts the real server with the get, put and upper commands.
func serve(t *testing.T) (addr, root string) {
	t.Helper()
	srv := hosttest.NewUnstartedServer(t, get.New(), put.New(), upper.New())
	srv.Host.MaxConns = 200
	srv.Host.MaxConnsPerIP = -1 // every test client is on loopback
	srv.Start()
	return srv.Addr, srv.Root
}

func noErrors(t *testing.T, r Result) {
	t.Helper()
	t.Log(r.Human())
	if r.Errors != 0 {
		t.Fatalf("%s: %d errors, first: %s", r.Mode, r.Errors, r.FirstError)
	}
}

// TestRun drives every mode briefly against a real server; it checks what
// was moved, never how fast.
func TestRun(t *testing.T) {
	addr, root := serve(t)
	ctx := context.Background()
	const size = 4<<20 + 7
	content := make([]byte, size)
	rand.Read(content)
	file := filepath.Join(root, "data.bin")
	if err := os.WriteFile(file, content, 0o644); err != nil {
		t.Fatal(err)
	}

	r := Limit(ctx, Source{File: file}, 0)
	noErrors(t, r)
	if r.Bytes != size || r.MBps <= 0 {
		t.Errorf("limit moved %d bytes at %v MB/s, want %d", r.Bytes, r.MBps, size)
	}
	r = Limit(ctx, Source{Size: size}, 0)
	noErrors(t, r)

	r = Get(ctx, addr, "data.bin", 3, TransferOptions{})
	noErrors(t, r)
	if r.Bytes != 3*size || r.XferMBps <= 0 {
		t.Errorf("get moved %d bytes, want %d", r.Bytes, 3*size)
	}
	r = Get(ctx, addr, "data.bin", 2, TransferOptions{Verify: true})
	noErrors(t, r)
	if r.Bytes != 2*size {
		t.Errorf("verified get moved %d bytes, want %d", r.Bytes, 2*size)
	}
	if r = Get(ctx, addr, "missing.bin", 1, TransferOptions{Verify: true}); r.Errors != 1 {
		t.Errorf("get of a missing file: %d errors, want 1", r.Errors)
	}

	r = Put(ctx, addr, "up.bin", Source{File: file}, 1, TransferOptions{})
	noErrors(t, r)
	if got, err := os.ReadFile(filepath.Join(root, "up.bin")); err != nil || !bytes.Equal(got, content) {
		t.Errorf("uploaded file differs (%v)", err)
	}
	r = Put(ctx, addr, "gen.bin", Source{Size: size}, 2, TransferOptions{})
	noErrors(t, r)
	want := make([]byte, 0, size)
	buf := bytes.NewBuffer(want)
	buf.ReadFrom(&repeatReader{block: block(), left: size})
	for _, name := range []string{"gen.bin-0", "gen.bin-1"} {
		if got, err := os.ReadFile(filepath.Join(root, name)); err != nil || !bytes.Equal(got, buf.Bytes()) {
			t.Errorf("%s differs from the generated content (%v)", name, err)
		}
	}

	r = Cmd(ctx, addr, "upper", []string{"hello"}, 4, 200*time.Millisecond)
	noErrors(t, r)
	if r.Requests == 0 || r.P99ms < r.P50ms || r.MaxMs < r.P99ms {
		t.Errorf("cmd: %d requests, p50 %v p99 %v max %v", r.Requests, r.P50ms, r.P99ms, r.MaxMs)
	}

	r = Idle(ctx, IdleOptions{Addr: addr, Conns: 50, PID: os.Getpid(), Fresh: 3, Settle: 10 * time.Millisecond})
	noErrors(t, r)
	if r.Opened != 50 || r.RSSAfterKB == 0 || r.FreshMaxMs <= 0 {
		t.Errorf("idle: opened %d, rss %d KiB, fresh max %v ms", r.Opened, r.RSSAfterKB, r.FreshMaxMs)
	}
}
