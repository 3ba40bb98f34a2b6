package put

import (
	"bytes"
	"errors"
	"io"
	"os"
	"path/filepath"
	"sync/atomic"
	"syscall"
	"testing"
	"time"

	"github.com/selectftp/selectftp/plugins/internal/staging"
	"github.com/selectftp/selectftp/sdk"
	"github.com/selectftp/selectftp/sdk/sdktest"
)

// The space check counts, for an upload in progress, only what it has
// still to write: the free space already lacks what it wrote. Counting
// its whole declared size refused every other put (4 MiB free, one upload
// of 2 MiB with 1.5 MiB written: 2.5 MiB free, 2 MiB "promised", room
// 0.5 MiB) although 2 MiB were still there for others.
func TestAdmitCountsOnlyWhatIsToCome(t *testing.T) {
	const mib = 1 << 20
	var s staged
	at := func(avail int64) limits {
		return limits{reserve: 0, space: space{avail: avail, total: 1 << 40, ok: true}}
	}
	a, err := s.admit(2*mib, at(4*mib))
	if err != nil {
		t.Fatal(err)
	}
	f, err := os.Create(filepath.Join(t.TempDir(), staging.Name()))
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	a.hold(f)
	if _, err := f.Write(bytes.Repeat([]byte("a"), 3*mib/2)); err != nil {
		t.Fatal(err)
	}
	if err := f.Sync(); err != nil {
		t.Fatal(err)
	}
	s.refresh() // before statfs, as put.admit does
	b, err := s.admit(mib, at(5*mib/2))
	if err != nil {
		t.Fatalf("a 1 MiB put with 2 MiB free besides what the upload in progress will still write: %v", err)
	}
	if n, declared, toCome := s.Stats(); n != 2 || declared != 3*mib || toCome > 3*mib/2 || toCome < mib {
		t.Errorf("Stats: %d uploads, %d declared, %d to come", n, declared, toCome)
	}
	// What is still to come stays counted: 0.5 MiB of a, all of b.
	if _, err := s.admit(5*mib/4, at(5*mib/2)); sdk.CodeOf(err) != sdk.CodeNoSpace {
		t.Errorf("1.25 MiB with 1 MiB of room: %v", err)
	}
	// A file past its declared size counts as complete, never as more.
	if _, err := f.Write(bytes.Repeat([]byte("a"), 2*mib)); err != nil {
		t.Fatal(err)
	}
	f.Sync()
	s.refresh()
	b.end()
	if _, _, toCome := s.Stats(); toCome != 0 {
		t.Errorf("an upload that wrote all it declared still has %d bytes to come", toCome)
	}
	a.end()
	if n, declared, toCome := s.Stats(); n != 0 || declared != 0 || toCome != 0 {
		t.Errorf("after both ended: %d uploads, %d declared, %d to come", n, declared, toCome)
	}
}

// The staged file's blocks are measured on the open file, so bytes the
// host writes into it through a passed descriptor count too.
func TestStagedBytesSeenWhoeverWrites(t *testing.T) {
	p := New().(*put)
	sdktest.Each(t, p, func(t *testing.T, cmd sdk.Command) {
		const size, sent = 1 << 20, 3 << 18
		dir := t.TempDir()
		pr, pw := io.Pipe()
		req := sdktest.Request{Root: dir, Args: []string{"f"}, Body: pr,
			Size: sdktest.Declared(int64(size))}
		done := make(chan sdktest.Result, 1)
		go func() { done <- sdktest.Run(t, cmd, req) }()
		go pw.Write(bytes.Repeat([]byte("z"), sent))
		deadline := time.Now().Add(10 * time.Second)
		for {
			p.staged.refresh()
			n, declared, toCome := p.staged.Stats()
			if n == 1 && declared == size && toCome <= size-sent {
				break
			}
			if time.Now().After(deadline) {
				t.Fatalf("after %d of %d bytes: %d uploads, %d declared, %d to come", sent, size, n, declared, toCome)
			}
			time.Sleep(time.Millisecond)
		}
		pw.Close()
		if res := <-done; res.Code != sdk.CodeChecksum {
			t.Errorf("the upload, cut short: %s %q", res.Code, res.Message)
		}
		expectFiles(t, dir)
	})
}

// mkStaged creates a staging file in dir, age old; locked, it is held as a
// live upload holds its file.
func mkStaged(t *testing.T, dir, name string, age time.Duration, locked bool) {
	t.Helper()
	p := filepath.Join(dir, name)
	f, err := os.OpenFile(p, os.O_CREATE|os.O_RDWR, 0o644)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { f.Close() })
	if locked {
		if err := staging.Hold(f); err != nil {
			t.Fatal(err)
		}
	}
	old := time.Now().Add(-age)
	if err := os.Chtimes(p, old, old); err != nil {
		t.Fatal(err)
	}
}

func sweepDir(t *testing.T, dir string, startup bool) sweepResult {
	t.Helper()
	root, err := os.OpenRoot(dir)
	if err != nil {
		t.Fatal(err)
	}
	defer root.Close()
	return sweep(root, sweepOpts{now: time.Now(), budget: 1000, startup: startup})
}

// A periodic sweep removes a staging file only when nobody holds it and
// it is older than staleAge: a fresh unlocked one may be an upload
// between its create and its Hold. A locked one stays at any age.
func TestSweepNeedsUnlockedAndOld(t *testing.T) {
	dir := t.TempDir()
	mkStaged(t, dir, staging.Prefix+"locked-old", 100*staleAge, true)
	mkStaged(t, dir, staging.Prefix+"locked-new", 0, true)
	mkStaged(t, dir, staging.Prefix+"unlocked-new", 0, false)
	mkStaged(t, dir, staging.Prefix+"unlocked-old", 2*staleAge, false)
	if r := sweepDir(t, dir, false); r.removed != 1 || r.unknown != 0 {
		t.Errorf("periodic sweep: %+v", r)
	}
	expectFiles(t, dir, staging.Prefix+"locked-old", staging.Prefix+"locked-new", staging.Prefix+"unlocked-new")
	// The start-up sweep: no upload of ours is live in the root, and a
	// claimed file cannot be held by a new upload; an unlocked one goes
	// at any age (a crash's leftovers are seconds old at a restart).
	if r := sweepDir(t, dir, true); r.removed != 1 {
		t.Errorf("start-up sweep: %+v", r)
	}
	expectFiles(t, dir, staging.Prefix+"locked-old", staging.Prefix+"locked-new")
}

// Where the lock state cannot be told (NFS once answered EBADF to the
// read-only probe), a periodic sweep keeps the file whatever its age: a
// live upload paused for over a minute was deleted. Only the start-up
// sweep goes by age there.
func TestSweepKeepsUnknownLockState(t *testing.T) {
	defer func(c func(*os.Root, string) (*os.File, error)) { claimFile = c }(claimFile)
	claimFile = func(*os.Root, string) (*os.File, error) { return nil, syscall.EBADF }
	dir := t.TempDir()
	mkStaged(t, dir, staging.Prefix+"paused", 100*staleAge, false)
	mkStaged(t, dir, staging.Prefix+"new", 0, false)
	if r := sweepDir(t, dir, false); r.removed != 0 || r.unknown != 2 || len(r.kept) != 2 || !errors.Is(r.kept[0].err, syscall.EBADF) {
		t.Errorf("periodic sweep, locks unknown: %+v", r)
	}
	expectFiles(t, dir, staging.Prefix+"new", staging.Prefix+"paused")
	if r := sweepDir(t, dir, true); r.removed != 1 || r.unknown != 1 {
		t.Errorf("start-up sweep, locks unknown: %+v", r)
	}
	expectFiles(t, dir, staging.Prefix+"new")
}

// A file a sweep has claimed cannot be held: an upload that created it
// just before sees ErrHeld and makes another (createTemp), so the sweep
// never removes a file under a live upload.
func TestClaimExcludesHold(t *testing.T) {
	dir := t.TempDir()
	mkStaged(t, dir, staging.Prefix+"x", 0, false)
	root, err := os.OpenRoot(dir)
	if err != nil {
		t.Fatal(err)
	}
	defer root.Close()
	c, err := staging.Claim(root, staging.Prefix+"x")
	if err != nil {
		t.Fatal(err)
	}
	f, err := root.OpenFile(staging.Prefix+"x", os.O_RDWR, 0)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	if err := staging.Hold(f); !errors.Is(err, staging.ErrHeld) {
		t.Errorf("Hold of a claimed file: %v", err)
	}
	c.Close()
	if err := staging.Hold(f); err != nil {
		t.Errorf("Hold once the claim is let go: %v", err)
	}
	if _, err := staging.Claim(root, staging.Prefix+"x"); !errors.Is(err, staging.ErrHeld) {
		t.Errorf("Claim of a held file: %v", err)
	}
	if err := syscall.Mkfifo(filepath.Join(dir, staging.Prefix+"fifo"), 0o644); err != nil {
		t.Fatal(err)
	}
	os.Symlink(staging.Prefix+"x", filepath.Join(dir, staging.Prefix+"link"))
	for _, name := range []string{"fifo", "link"} {
		if c, err := staging.Claim(root, staging.Prefix+name); err == nil || errors.Is(err, staging.ErrHeld) {
			c.Close()
			t.Errorf("Claim of a %s: %v", name, err)
		}
	}
}

// A periodic sweep runs in the background: a put completes while it is
// still walking, and no second sweep of the root starts meanwhile. The
// walk is held on a channel, as a huge tree would hold it.
func TestPeriodicSweepDoesNotBlockPut(t *testing.T) {
	p := New().(*put)
	dir := t.TempDir()
	put := func(name string) <-chan sdktest.Result {
		done := make(chan sdktest.Result, 1)
		req := uploadReq(name, []byte(name))
		req.Root = dir
		go func() { done <- sdktest.Run(t, p, req) }()
		return done
	}
	wait := func(what string, done <-chan sdktest.Result) {
		t.Helper()
		select {
		case res := <-done:
			if res.Err != nil {
				t.Errorf("%s: %v", what, res.Err)
			}
		case <-time.After(10 * time.Second):
			t.Fatalf("%s did not complete while a sweep was walking", what)
		}
	}
	wait("the first put", put("first")) // and the first sweep, in the request
	mkStaged(t, dir, staging.Prefix+"dead", 2*staleAge, false)

	started, release := make(chan sweepOpts, 10), make(chan struct{})
	var walks atomic.Int32
	p.sweeper.mu.Lock()
	p.sweeper.walk = func(root *os.Root, o sweepOpts) sweepResult {
		walks.Add(1)
		started <- o
		<-release
		return sweep(root, o)
	}
	for _, rs := range p.sweeper.roots { // the next sweep is due
		rs.mu.Lock()
		rs.last = time.Now().Add(-2 * sweepEvery)
		rs.mu.Unlock()
	}
	p.sweeper.mu.Unlock()
	defer func() {
		select {
		case <-release:
		default:
			close(release)
		}
		p.sweeper.bg.Wait()
	}()

	wait("a put that starts a periodic sweep", put("second"))
	select {
	case o := <-started:
		if o.startup {
			t.Error("a periodic sweep ran as the start-up one")
		}
	case <-time.After(10 * time.Second):
		t.Fatal("no periodic sweep started")
	}
	wait("a put during the sweep", put("third"))
	close(release)
	p.sweeper.bg.Wait()
	if n := walks.Load(); n != 1 {
		t.Errorf("%d sweeps of one root, want 1", n)
	}
	// The sweep used a root of its own: the requests' are closed by now.
	expectFiles(t, dir, "first", "second", "third")
}
