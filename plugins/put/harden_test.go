package put

import (
	"bytes"
	"io"
	"math"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/selectftp/selectftp/plugins/internal/staging"
	"github.com/selectftp/selectftp/sdk"
	"github.com/selectftp/selectftp/sdk/sdktest"
)

// An overwrite keeps the replaced file's permission bits (0600 stays 0600,
// not the 0644 of a new file); a new file keeps today's mode.
func TestReplaceKeepsMode(t *testing.T) {
	for _, unnamed := range []bool{true, false} {
		preferUnnamed = unnamed
		both(t, func(t *testing.T, cmd sdk.Command) {
			dir := t.TempDir()
			for _, mode := range []os.FileMode{0o600, 0o640, 0o755, 0o604} {
				p := filepath.Join(dir, "f")
				if err := os.WriteFile(p, []byte("old"), 0o600); err != nil {
					t.Fatal(err)
				}
				if err := os.Chmod(p, mode|os.ModeSetuid); err != nil {
					t.Fatal(err)
				}
				req := uploadReq("f", []byte("new content"))
				req.Root = dir
				if res := sdktest.Run(t, cmd, req); res.Err != nil {
					t.Fatal(res.Err)
				}
				fi, err := os.Stat(p)
				if err != nil {
					t.Fatal(err)
				}
				if got := fi.Mode(); got != mode {
					t.Errorf("unnamed=%v: replacing a %v file left it %v", unnamed, mode, got)
				}
			}
			req := uploadReq("new", []byte("x"))
			req.Root = dir
			if res := sdktest.Run(t, cmd, req); res.Err != nil {
				t.Fatal(res.Err)
			}
			if fi, err := os.Stat(filepath.Join(dir, "new")); err != nil || fi.Mode().Perm()&^0o644 != 0 || fi.Mode().Perm()&0o600 != 0o600 {
				t.Errorf("a new file: %v %v, want 0644 less the umask", fi.Mode(), err)
			}
		})
	}
	preferUnnamed = true
}

// put never writes under a staging name, so no client can forge a file
// that a sweep would remove or that looks like an upload in progress.
func TestPutRefusesStagingName(t *testing.T) {
	both(t, func(t *testing.T, cmd sdk.Command) {
		dir := t.TempDir()
		os.Mkdir(filepath.Join(dir, "sub"), 0o755)
		for _, p := range []string{staging.Prefix + "1-ab", "sub/" + staging.Prefix + "x", staging.Prefix + "d/f"} {
			req := uploadReq(p, []byte("data"))
			req.Root, req.Body = dir, unread(t, cmd)
			res := sdktest.Run(t, cmd, req)
			if res.Code != sdk.CodeBadRequest || !strings.Contains(res.Message, "reserved for uploads in progress") {
				t.Errorf("put %s: %s %q", p, res.Code, res.Message)
			}
		}
		expectFiles(t, dir, "sub")
	})
}

// The first put to a root removes the staging files that dead uploads
// left, anywhere in the tree, and nothing else: not a live upload (its
// process holds the file's lock, whatever its age), not a user's dot file.
func TestSweepAtFirstPut(t *testing.T) {
	// A new command for each transport: each sweeps a root once, and a
	// new temporary folder may reuse a removed one's inode.
	for _, cmd := range []sdk.Command{New(), sdktest.ServeGRPC(t, New()), sdktest.ServeGRPCStreaming(t, New())} {
		dir := t.TempDir()
		os.MkdirAll(filepath.Join(dir, "a", "b"), 0o755)
		mk := func(name string, age time.Duration) *os.File {
			p := filepath.Join(dir, name)
			f, err := os.Create(p)
			if err != nil {
				t.Fatal(err)
			}
			t.Cleanup(func() { f.Close() })
			old := time.Now().Add(-age)
			if err := os.Chtimes(p, old, old); err != nil {
				t.Fatal(err)
			}
			return f
		}
		mk(staging.Prefix+"00", 0)        // a crashed upload: gone
		mk("a/b/"+staging.Prefix+"01", 0) // deep in the tree too
		live := mk("a/"+staging.Prefix+"02", 2*staleAge)
		if err := staging.Hold(live); err != nil { // a live upload, slow: kept
			t.Fatal(err)
		}
		mk(".notes.part-0123456789abcdef", 2*staleAge) // a user's file: kept
		mk("a/b/plain", 2*staleAge)                    // kept
		req := uploadReq("a/up", []byte("x"))
		req.Root = dir
		if res := sdktest.Run(t, cmd, req); res.Err != nil {
			t.Fatal(res.Err)
		}
		expectFiles(t, dir, "a", "a/b", "a/b/plain", "a/up", "a/"+staging.Prefix+"02", ".notes.part-0123456789abcdef")
	}
}

// The sweep is bounded: it stops after its budget of entries and says so.
func TestSweepBudget(t *testing.T) {
	dir := t.TempDir()
	for i := range 50 {
		os.WriteFile(filepath.Join(dir, staging.Prefix+strconv.Itoa(i)), nil, 0o644)
	}
	root, err := os.OpenRoot(dir)
	if err != nil {
		t.Fatal(err)
	}
	defer root.Close()
	r := sweep(root, sweepOpts{now: time.Now().Add(2 * staleAge), budget: 10})
	if !r.budgetHit || r.examined != 11 || r.removed != 10 {
		t.Errorf("sweep with a budget of 10: %+v", r)
	}
	if r := sweep(root, sweepOpts{now: time.Now().Add(2 * staleAge), budget: 1000}); r.budgetHit || r.removed != 40 {
		t.Errorf("second sweep: %+v", r)
	}
}

// A declared size larger than the free space is refused at once, before a
// byte is read: 2^62 once filled the disk with invisible unnamed files.
func TestDeclaredSizeOverFreeSpace(t *testing.T) {
	both(t, func(t *testing.T, cmd sdk.Command) {
		dir := t.TempDir()
		req := sdktest.Request{Root: dir, Args: []string{"huge"}, Body: unread(t, cmd),
			Size: sdktest.Declared(1 << 62)}
		start := time.Now()
		res := sdktest.Run(t, cmd, req)
		if res.Code != sdk.CodeNoSpace || !strings.HasPrefix(res.Message, "not enough space for 4611686018427387904 bytes: ") {
			t.Errorf("2^62 bytes declared: %s %q", res.Code, res.Message)
		}
		if d := time.Since(start); d > 5*time.Second {
			t.Errorf("refused after %v", d)
		}
		expectFiles(t, dir)
	})
}

// The reserve setting keeps bytes of the file system out of every upload's
// reach.
func TestReserve(t *testing.T) {
	both(t, func(t *testing.T, cmd sdk.Command) {
		c := cmd.(sdk.Configurer)
		defer c.Configure(t.Context(), nil)
		dir := t.TempDir()
		if err := c.Configure(t.Context(), map[string]any{"reserve": float64(1 << 62)}); err != nil {
			t.Fatal(err)
		}
		req := uploadReq("f", []byte("x"))
		req.Root, req.Body = dir, unread(t, cmd)
		if res := sdktest.Run(t, cmd, req); res.Code != sdk.CodeNoSpace || !strings.Contains(res.Message, "4611686018427387904 are kept in reserve") {
			t.Errorf("put into the reserve: %s %q", res.Code, res.Message)
		}
		if err := c.Configure(t.Context(), map[string]any{"reserve": 0}); err != nil {
			t.Fatal(err)
		}
		req = uploadReq("f", []byte("x"))
		req.Root = dir
		if res := sdktest.Run(t, cmd, req); res.Err != nil {
			t.Errorf("put with no reserve: %v", res.Err)
		}
		for _, bad := range []map[string]any{{"reserve": -1}, {"max_staged": -1}, {"reserve": "some"}} {
			if err := c.Configure(t.Context(), bad); err == nil {
				t.Errorf("Configure(%v) succeeded", bad)
			}
		}
	})
}

// Sizes declared by uploads in progress count against the free space and
// max_staged, server-wide: two uploads that each fit cannot both be
// staged when together they do not.
func TestStagedUploadsCount(t *testing.T) {
	p := New().(*put)
	sdktest.Each(t, p, func(t *testing.T, cmd sdk.Command) {
		c := cmd.(sdk.Configurer)
		defer c.Configure(t.Context(), nil)
		dir := t.TempDir()
		var st syscall.Statfs_t
		if err := syscall.Statfs(dir, &st); err != nil {
			t.Fatal(err)
		}
		avail := int64(st.Bavail) * st.Bsize
		for _, tc := range []struct {
			settings map[string]any
			first    int64 // declared by the upload in progress
			second   int64
			code     sdk.Code
			msg      string
		}{
			{map[string]any{"reserve": 0}, avail * 6 / 10, avail * 6 / 10, sdk.CodeNoSpace, "promised to 1 uploads in progress"},
			{map[string]any{"max_staged": 1000}, 800, 300, sdk.CodeNoSpace, "1 uploads in progress hold 800 of the 1000 bytes the server stages at once; 300 bytes do not fit now, try again later"},
			{map[string]any{"max_staged": 1000}, 800, 1001, sdk.CodeTooLarge, "1001 bytes is over the server's limit of 1000 bytes for uploads in progress"},
		} {
			if err := c.Configure(t.Context(), tc.settings); err != nil {
				t.Fatal(err)
			}
			pr, pw := io.Pipe()
			first := sdktest.Request{Root: dir, Args: []string{"first"}, Body: pr,
				Size: sdktest.Declared(tc.first)}
			done := make(chan sdktest.Result, 1)
			go func() { done <- sdktest.Run(t, cmd, first) }()
			waitStaged(t, p, 1, tc.first)
			req := sdktest.Request{Root: dir, Args: []string{"second"}, Body: unread(t, cmd),
				Size: sdktest.Declared(tc.second)}
			if res := sdktest.Run(t, cmd, req); res.Code != tc.code || !strings.Contains(res.Message, tc.msg) {
				t.Errorf("%v: a second upload of %d bytes: %s %q", tc.settings, tc.second, res.Code, res.Message)
			}
			pw.Write([]byte("short"))
			pw.Close()
			if res := <-done; res.Code != sdk.CodeChecksum {
				t.Errorf("the first upload, cut short: %s %q", res.Code, res.Message)
			}
			waitStaged(t, p, 0, 0)
			data := bytes.Repeat([]byte("y"), 300)
			req = uploadReq("second", data)
			req.Root = dir
			if res := sdktest.Run(t, cmd, req); res.Err != nil {
				t.Errorf("%v: the second upload once the first ended: %v", tc.settings, res.Err)
			}
		}
		expectFiles(t, dir, "second")
	})
}

// waitStaged waits, a bounded time, until p counts n uploads of bytes.
func waitStaged(t *testing.T, p *put, n int, bytes int64) {
	t.Helper()
	deadline := time.Now().Add(10 * time.Second)
	for {
		gn, gb, _ := p.staged.Stats()
		if gn == n && gb == bytes {
			return
		}
		if time.Now().After(deadline) {
			t.Fatalf("staged uploads: %d of %d bytes, want %d of %d", gn, gb, n, bytes)
		}
		time.Sleep(time.Millisecond)
	}
}

// admit's arithmetic: the default reserve is 1% capped at 64 MiB, declared
// sizes of uploads in progress count as taken, and an end returns them.
func TestAdmit(t *testing.T) {
	var s staged
	small := limits{reserve: -1, space: space{avail: 1000, total: 10_000, ok: true}}
	e, err := s.admit(900, small) // 1000 free less a reserve of 100
	if err != nil {
		t.Fatal(err)
	}
	if _, err := s.admit(1, small); sdk.CodeOf(err) != sdk.CodeNoSpace {
		t.Errorf("one byte more: %v", err)
	}
	e.end()
	if n, b, c := s.Stats(); n != 0 || b != 0 || c != 0 {
		t.Errorf("after the end: %d uploads, %d bytes, %d to come", n, b, c)
	}
	big := limits{reserve: -1, space: space{avail: 100 << 30, total: 1 << 40, ok: true}}
	if _, err := s.admit(100<<30-64<<20+1, big); sdk.CodeOf(err) != sdk.CodeNoSpace {
		t.Errorf("into the 64 MiB reserve of a big disk: %v", err)
	}
	if _, err := s.admit(math.MaxInt64, limits{}); err != nil {
		t.Errorf("no limits, space unknown: %v", err)
	}
}
