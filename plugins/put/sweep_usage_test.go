package put

import (
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/selectftp/selectftp/plugins/internal/staging"
	"github.com/selectftp/selectftp/sdk/sdktest"
)

// expiredPartial leaves an n-byte partial of name in dir, past resume_ttl.
func expiredPartial(t *testing.T, dir, name string, n int) {
	t.Helper()
	p := filepath.Join(dir, staging.ResumeName(name))
	if err := os.WriteFile(p, make([]byte, n), 0o644); err != nil {
		t.Fatal(err)
	}
	old := time.Now().Add(-2 * defaultResumeTTL)
	if err := os.Chtimes(p, old, old); err != nil {
		t.Fatal(err)
	}
}

// A partial the sweep removes once past resume_ttl was in the user's
// usage: put gives its bytes and file back, the start-up sweep's in the
// request that ran it, a background sweep's in the next put to the root
// (a probe, which writes nothing, too). Without this the quota stayed
// taken by partials long gone.
func TestSweptPartialReported(t *testing.T) {
	p := New().(*put)
	dir := t.TempDir()
	expiredPartial(t, dir, "a", 1000)
	var l ledger
	l.bytes, l.files = treeUse(t, dir) // what the host counts at login
	if res := l.run(t, p, userPut(dir, "x", 1)); res.Err != nil {
		t.Fatal(res.Err)
	}
	l.check(t, dir)

	// The next sweep is a background one: make it due.
	p.sweeper.mu.Lock()
	for _, rs := range p.sweeper.roots {
		rs.mu.Lock()
		rs.last = time.Now().Add(-sweepEvery)
		rs.mu.Unlock()
	}
	p.sweeper.mu.Unlock()
	expiredPartial(t, dir, "b", 500)
	l.bytes, l.files = l.bytes+500, l.files+1 // counted when put kept it
	if res := l.run(t, p, userPut(dir, "y", 2)); res.Err != nil {
		t.Fatal(res.Err)
	}
	p.sweeper.bg.Wait()
	probe := sdktest.Request{Params: map[string]any{"path": "z", "resume": true, "probe": true}, Root: dir, User: quotaUser}
	if res := l.run(t, p, probe); res.Err != nil {
		t.Fatal(res.Err)
	}
	l.check(t, dir)
}
