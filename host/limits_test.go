package host

import (
	"bytes"
	"context"
	"errors"
	"io"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/selectftp/selectftp/client"
	"github.com/selectftp/selectftp/host/auth"
	"github.com/selectftp/selectftp/protocol"
	"github.com/selectftp/selectftp/sdk"
)

// limitServer serves alice (whose tree holds a.txt, 6 bytes) with lim,
// and "save", which stores a body the way put does: staged under a
// hidden name, renamed into place only when whole, the staged file
// removed on any failure, the storage change reported in metadata. The
// returned counter says how many saves ran; the slice collects the staged
// sizes of failed saves, which must never hold more than the quota.
func limitServer(t *testing.T, backend string, lim auth.Limits) (addr, dir string, runs *atomic.Int32, staged *stagedSizes) {
	runs, staged = new(atomic.Int32), new(stagedSizes)
	s, addr := startUsersServer(t, backend, func(s *Server) {
		users := s.Users.(testUsers)
		a := users["alice"]
		a.Limits = lim
		users["alice"] = a
		dir = filepath.Join(s.Root, "alice")
		save := sdk.Func(sdk.Description{Verb: "save", Summary: "store the body as params.path"},
			func(ctx context.Context, req *sdk.Request, w sdk.ResponseWriter) error {
				runs.Add(1)
				var p struct{ Path string }
				if err := req.Decode(&p); err != nil {
					return err
				}
				f, err := os.CreateTemp(dir, ".stage-*")
				if err != nil {
					return err
				}
				defer os.Remove(f.Name())
				defer f.Close()
				n, _, err := sdk.SaveBody(req, f, -1)
				if err != nil {
					fi, _ := f.Stat()
					staged.add(fi.Size())
					return err
				}
				target := filepath.Join(dir, p.Path)
				grew, files := n, int64(1)
				if fi, err := os.Lstat(target); err == nil {
					grew, files = n-fi.Size(), 0
				}
				if err := os.Rename(f.Name(), target); err != nil {
					return err
				}
				w.SetMeta(MetaUsageBytes, grew)
				w.SetMeta(MetaUsageFiles, files)
				return nil
			})
		if err := s.Register(save); err != nil {
			t.Fatal(err)
		}
	})
	_ = s
	return addr, dir, runs, staged
}

type stagedSizes struct {
	mu    sync.Mutex
	sizes []int64
}

func (s *stagedSizes) add(n int64) { s.mu.Lock(); s.sizes = append(s.sizes, n); s.mu.Unlock() }
func (s *stagedSizes) max() int64 {
	s.mu.Lock()
	defer s.mu.Unlock()
	var m int64
	for _, n := range s.sizes {
		m = max(m, n)
	}
	return m
}

// aliceOpt is made once: each WithUser derives the key again.
var aliceOpt = client.WithUser("alice", "alice-pw")

func dialAlice(t *testing.T, addr string) *client.Conn {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	c, err := client.Dial(ctx, addr, aliceOpt)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { c.Close() })
	return c
}

// save uploads n bytes as name: a stream when declared is false, else with
// its size declared.
func save(c *client.Conn, name string, n int, declared bool) error {
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	q := protocol.Request{Verb: "save", Params: map[string]any{"path": name}}
	if declared {
		size := int64(n)
		q.Size = &size
	}
	// A plain Reader (no file, no Len): the client streams it.
	body := io.LimitReader(zeros{}, int64(n))
	_, err := c.Do(ctx, q, body, nil)
	return err
}

type zeros struct{}

func (zeros) Read(p []byte) (int, error) { clear(p); return len(p), nil }

func codeOf(err error) protocol.Code {
	var se *protocol.StatusError
	if errors.As(err, &se) {
		return se.Code
	}
	return ""
}

func listDir(t *testing.T, dir string) string {
	t.Helper()
	es, err := os.ReadDir(dir)
	if err != nil {
		t.Fatal(err)
	}
	var names []string
	for _, e := range es {
		names = append(names, e.Name())
	}
	return strings.Join(names, " ")
}

// A stream (no declared size) that crosses the quota fails with
// quota_exceeded where it crosses it: the command never gets a byte past
// the quota, and nothing is kept. The bytes of a stored file then count:
// what fitted before no longer does.
func TestLimitsQuotaStopsStream(t *testing.T) {
	forEachBackend(t, func(t *testing.T, backend string) {
		const quota = 1 << 20
		addr, dir, _, staged := limitServer(t, backend, auth.Limits{QuotaBytes: quota})
		c := dialAlice(t, addr)
		if err := save(c, "big", 2<<20, false); codeOf(err) != protocol.CodeQuotaExceeded {
			t.Fatalf("a 2 MiB stream into a 1 MiB quota: %v, want quota_exceeded", err)
		}
		if got := listDir(t, dir); got != "a.txt" {
			t.Fatalf("after the refused upload the tree holds %q", got)
		}
		if m := staged.max(); m > quota-6 {
			t.Fatalf("the command was given %d bytes, over the %d the quota left", m, quota-6)
		}
		// The failed upload's reservation is given back ...
		if err := save(c, "half", 600<<10, false); err != nil {
			t.Fatalf("600 KiB into an empty quota: %v", err)
		}
		// ... and the stored one counts.
		if err := save(c, "more", 600<<10, false); codeOf(err) != protocol.CodeQuotaExceeded {
			t.Fatalf("600 KiB more: %v, want quota_exceeded", err)
		}
		// Replacing it with a smaller file frees the difference (the
		// upload itself is counted in full while it runs).
		if err := save(c, "half", 100<<10, false); err != nil {
			t.Fatalf("replacing with 100 KiB: %v", err)
		}
		if err := save(c, "more", 600<<10, false); err != nil {
			t.Fatalf("600 KiB after freeing 500 KiB: %v", err)
		}
		if got := listDir(t, dir); got != "a.txt half more" {
			t.Fatalf("the tree holds %q", got)
		}
	})
}

// A declared size that does not fit is refused before the body: the
// command never runs. So is one over the largest file.
func TestLimitsDeclaredRefusedAtOnce(t *testing.T) {
	forEachBackend(t, func(t *testing.T, backend string) {
		addr, dir, runs, _ := limitServer(t, backend, auth.Limits{QuotaBytes: 1 << 20, MaxFileSize: 256 << 10})
		c := dialAlice(t, addr)
		err := save(c, "big", 2<<20, true)
		if codeOf(err) != protocol.CodeTooLarge || !strings.Contains(err.Error(), "largest file") {
			t.Fatalf("2 MiB declared over a 256 KiB largest file: %v", err)
		}
		if n := runs.Load(); n != 0 {
			t.Fatalf("the command ran %d times for refused uploads", n)
		}
		if got := listDir(t, dir); got != "a.txt" {
			t.Fatalf("the tree holds %q", got)
		}
		// The connection still serves.
		if err := save(c, "small", 1000, true); err != nil {
			t.Fatalf("a small upload after the refusals: %v", err)
		}
	})
	forEachBackend(t, func(t *testing.T, backend string) {
		addr, _, runs, _ := limitServer(t, backend, auth.Limits{QuotaBytes: 1 << 20})
		c := dialAlice(t, addr)
		if err := save(c, "big", 2<<20, true); codeOf(err) != protocol.CodeQuotaExceeded {
			t.Fatalf("2 MiB declared into a 1 MiB quota: %v", err)
		}
		if n := runs.Load(); n != 0 {
			t.Fatalf("the command ran %d times for a refused upload", n)
		}
	})
}

// The largest file holds a stream too: it stops where it crosses.
func TestLimitsMaxFileSizeStream(t *testing.T) {
	forEachBackend(t, func(t *testing.T, backend string) {
		addr, dir, _, staged := limitServer(t, backend, auth.Limits{MaxFileSize: 100 << 10})
		c := dialAlice(t, addr)
		if err := save(c, "big", 300<<10, false); codeOf(err) != protocol.CodeTooLarge {
			t.Fatalf("a 300 KiB stream over a 100 KiB largest file: %v", err)
		}
		if m := staged.max(); m > 100<<10 {
			t.Fatalf("the command was given %d bytes, over the largest file", m)
		}
		if got := listDir(t, dir); got != "a.txt" {
			t.Fatalf("the tree holds %q", got)
		}
		if err := save(c, "ok", 100<<10, false); err != nil {
			t.Fatalf("exactly the largest file: %v", err)
		}
	})
}

// The file quota counts files: alice has one, may make one more, and the
// next is refused before its body.
func TestLimitsFileQuota(t *testing.T) {
	forEachBackend(t, func(t *testing.T, backend string) {
		addr, dir, _, _ := limitServer(t, backend, auth.Limits{QuotaFiles: 2})
		c := dialAlice(t, addr)
		if err := save(c, "b", 10, false); err != nil {
			t.Fatalf("the second file: %v", err)
		}
		err := save(c, "c", 10, false)
		if codeOf(err) != protocol.CodeQuotaExceeded || !strings.Contains(err.Error(), "2 files") {
			t.Fatalf("a third file with a quota of 2: %v", err)
		}
		if got := listDir(t, dir); got != "a.txt b" {
			t.Fatalf("the tree holds %q", got)
		}
	})
}

// Concurrent uploads of one user share the quota: each fits alone, both
// together do not, and what is kept never exceeds it.
func TestLimitsQuotaConcurrent(t *testing.T) {
	forEachBackend(t, func(t *testing.T, backend string) {
		const quota = 1 << 20
		addr, dir, _, _ := limitServer(t, backend, auth.Limits{QuotaBytes: quota})
		c1, c2 := dialAlice(t, addr), dialAlice(t, addr)
		var wg sync.WaitGroup
		errs := make([]error, 2)
		for i, c := range []*client.Conn{c1, c2} {
			wg.Add(1)
			go func() {
				defer wg.Done()
				errs[i] = save(c, []string{"x", "y"}[i], 700<<10, false)
			}()
		}
		wg.Wait()
		var total int64
		filepath.Walk(dir, func(_ string, fi os.FileInfo, err error) error {
			if err == nil && fi.Mode().IsRegular() {
				total += fi.Size()
			}
			return nil
		})
		if total > quota {
			t.Fatalf("the tree holds %d bytes, over the %d quota (errors %v)", total, quota, errs)
		}
		if errs[0] == nil && errs[1] == nil {
			t.Fatal("both 700 KiB uploads were stored in a 1 MiB quota")
		}
	})
}

// A user at their most sessions is refused at login with busy; closing
// one lets the next in.
func TestLimitsMaxConns(t *testing.T) {
	forEachBackend(t, func(t *testing.T, backend string) {
		addr, _, _, _ := limitServer(t, backend, auth.Limits{MaxConns: 1})
		first := dialAlice(t, addr)
		ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
		defer cancel()
		_, err := client.Dial(ctx, addr, aliceOpt)
		if codeOf(err) != protocol.CodeBusy || !strings.Contains(err.Error(), "alice") {
			t.Fatalf("a second session over max_conns 1: %v, want busy naming the user", err)
		}
		// bob has no limit and is not counted with alice.
		bob, err := client.Dial(ctx, addr, client.WithUser("bob", "bob-pw"))
		if err != nil {
			t.Fatalf("bob: %v", err)
		}
		bob.Close()
		first.Close()
		for {
			c, err := client.Dial(ctx, addr, aliceOpt)
			if err == nil {
				c.Close()
				return
			}
			if codeOf(err) != protocol.CodeBusy || ctx.Err() != nil {
				t.Fatalf("after the first session closed: %v", err)
			}
			time.Sleep(20 * time.Millisecond) // the server sees the close on its own time
		}
	})
}

// The user's rates hold: 2 MiB at 512 KiB/s take about 4 s each way
// (loosely: at least 3), shared by the user's sessions.
func TestLimitsRates(t *testing.T) {
	const rate = 512 << 10
	forEachBackend(t, func(t *testing.T, backend string) {
		addr, _, _, _ := limitServer(t, backend, auth.Limits{RateUp: rate, RateDown: rate})
		c := dialAlice(t, addr)
		start := time.Now()
		if err := save(c, "up", 2<<20, false); err != nil {
			t.Fatal(err)
		}
		if took := time.Since(start); took < 3*time.Second {
			t.Errorf("2 MiB up at 512 KiB/s took %v, want >= 3s", took)
		}
		ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
		defer cancel()
		var out bytes.Buffer
		start = time.Now()
		if _, err := c.Do(ctx, protocol.Request{Verb: "stream", Params: map[string]any{"n": 2 << 20}}, nil, &out); err != nil {
			t.Fatal(err)
		}
		if took := time.Since(start); took < 3*time.Second || out.Len() != 2<<20 {
			t.Errorf("2 MiB down at 512 KiB/s: %d bytes in %v, want all in >= 3s", out.Len(), took)
		}
	})
}
