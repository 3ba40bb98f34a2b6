package loadgen

import (
	"bytes"
	"context"
	"crypto/sha256"
	"os"
	"path/filepath"
	"testing"
	"time"
)

func TestParseRate(t *testing.T) {
	for in, want := range map[string]int64{"": 0, "0": 0, "100M": 100e6, "100MB/s": 100e6, "64MiB": 64 << 20, "1GiB/s": 1 << 30} {
		if got, err := ParseRate(in); err != nil || got != want {
			t.Errorf("ParseRate(%q) = %d, %v; want %d", in, got, err, want)
		}
	}
	for _, bad := range []string{"fast", "-1M", "/s"} {
		if _, err := ParseRate(bad); err == nil {
			t.Errorf("ParseRate(%q) accepted", bad)
		}
	}
}

// TestPacedTransfers runs a paced get and put against a real server: the
// bytes arrive whole and the time is at least what the rate allows.
func TestPacedTransfers(t *testing.T) {
	addr, root := serve(t)
	ctx := context.Background()
	const size = 1 << 20
	content := bytes.Repeat([]byte("paced"), size/5+1)[:size]
	if err := os.WriteFile(filepath.Join(root, "p.bin"), content, 0o644); err != nil {
		t.Fatal(err)
	}
	const rateBps = 5e6 // 1 MiB: about 200 ms
	r := Get(ctx, addr, "p.bin", 2, TransferOptions{Rate: rateBps, Verify: true})
	noErrors(t, r)
	if r.Bytes != 2*size || r.XferSeconds < 0.15 {
		t.Errorf("paced get: %d bytes in %.3f s, want %d in about 0.2 s", r.Bytes, r.XferSeconds, 2*size)
	}
	r = Put(ctx, addr, "pp.bin", Source{Size: size}, 1, TransferOptions{Rate: rateBps})
	noErrors(t, r)
	if r.XferSeconds < 0.15 {
		t.Errorf("paced put took %.3f s, want about 0.2 s", r.XferSeconds)
	}
	got, err := os.ReadFile(filepath.Join(root, "pp.bin"))
	var want bytes.Buffer
	want.ReadFrom(&repeatReader{block: block(), left: size})
	if err != nil || sha256.Sum256(got) != sha256.Sum256(want.Bytes()) {
		t.Errorf("paced upload differs (%v)", err)
	}
}

// TestHeadOfLine runs the hol mode briefly in both directions, paced and
// not, and checks that it probed and moved bytes; never how fast.
func TestHeadOfLine(t *testing.T) {
	addr, root := serve(t)
	ctx := context.Background()
	if err := os.WriteFile(filepath.Join(root, "h.bin"), bytes.Repeat([]byte{7}, 4<<20), 0o644); err != nil {
		t.Fatal(err)
	}
	for _, o := range []HOLOptions{
		{Dir: "get", Path: "h.bin", Rate: 20e6},
		{Dir: "get", Path: "h.bin"},
		{Dir: "put", Path: "hu", Size: 2 << 20, Rate: 20e6},
	} {
		o.Addr, o.Transfers, o.Window, o.Interval, o.Probes = addr, 3, 300*time.Millisecond, 5*time.Millisecond, 40
		r := HeadOfLine(ctx, o)
		noErrors(t, r)
		if r.Requests < 5 || r.Requests > 40 || r.Bytes <= 0 || r.P50ms <= 0 || r.MaxMs < r.P99ms {
			t.Errorf("%s rate %d: %s", o.Dir, o.Rate, r.Human())
		}
		if o.Rate > 0 && r.MBps > 3*float64(o.Rate)/MB*1.5 {
			t.Errorf("%s: %.1f MB/s, paced to 3 × %.0f MB/s", o.Dir, r.MBps, float64(o.Rate)/MB)
		}
	}
	if r := HeadOfLine(ctx, HOLOptions{Addr: addr, Dir: "sideways"}); r.Errors != 1 {
		t.Errorf("bad direction: %d errors", r.Errors)
	}
}
