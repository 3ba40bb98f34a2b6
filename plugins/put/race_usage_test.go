package put

import (
	"bytes"
	"encoding/json"
	"io/fs"
	"path/filepath"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/selectftp/selectftp/plugins/rm"
	"github.com/selectftp/selectftp/sdk"
	"github.com/selectftp/selectftp/sdk/sdktest"
)

// Finding 7 of the review: put measured the file it replaces by name
// before its rename, so a rm or another put of the same name between the
// two made the host count that file's removal twice, and the user drifted
// under their quota. These tests add up the usage put and rm report, as
// the host does, and compare it with the tree.

var quotaUser = &sdk.User{Name: "alice", Perms: []sdk.Perm{"list", "read", "write", "delete", "mkdir", "rename"}}

// ledger sums the usage reports of commands run against one tree.
type ledger struct {
	mu           sync.Mutex
	bytes, files int64
}

func (l *ledger) run(t *testing.T, cmd sdk.Command, req sdktest.Request) sdktest.Result {
	res := sdktest.Run(t, cmd, req)
	l.mu.Lock()
	l.bytes += metaInt(res.Meta["usage_bytes"])
	l.files += metaInt(res.Meta["usage_files"])
	l.mu.Unlock()
	return res
}

// check fails t unless the ledger, started at the tree's use, ends there.
func (l *ledger) check(t *testing.T, dir string) {
	t.Helper()
	b, f := treeUse(t, dir)
	l.mu.Lock()
	defer l.mu.Unlock()
	if l.bytes != b || l.files != f {
		t.Fatalf("the usage reported adds up to %d bytes in %d files; the tree holds %d bytes in %d files", l.bytes, l.files, b, f)
	}
}

// treeUse counts the regular files under dir as the host's walk does.
func treeUse(t *testing.T, dir string) (bytes, files int64) {
	t.Helper()
	err := filepath.WalkDir(dir, func(_ string, d fs.DirEntry, err error) error {
		if err == nil && d.Type().IsRegular() {
			fi, err := d.Info()
			if err != nil {
				return err
			}
			bytes += fi.Size()
			files++
		}
		return err
	})
	if err != nil {
		t.Fatal(err)
	}
	return bytes, files
}

func metaInt(v any) int64 {
	switch v := v.(type) {
	case float64:
		return int64(v)
	case int64:
		return v
	case int:
		return int64(v)
	case json.Number:
		n, _ := v.Int64()
		return n
	}
	return 0
}

func userPut(dir, name string, size int) sdktest.Request {
	req := uploadReq(name, bytes.Repeat([]byte("x"), size))
	req.Root, req.User = dir, quotaUser
	return req
}

// setPlaceHook runs f (once) when a put reaches the moment it takes the
// name: after the old code measured the file it replaced.
func setPlaceHook(t *testing.T, f func()) {
	var ran atomic.Bool // not a sync.Once: f may run a put, which calls the hook again
	testHookPlace = func(string) {
		if ran.CompareAndSwap(false, true) {
			f()
		}
	}
	t.Cleanup(func() { testHookPlace = nil })
}

// A rm, or another put, of the name between put's start and its rename:
// the file it replaces is counted as freed once.
func TestReplaceRaceCountsOnce(t *testing.T) {
	for _, other := range []string{"rm", "put"} {
		t.Run(other, func(t *testing.T) {
			both(t, func(t *testing.T, cmd sdk.Command) {
				dir := t.TempDir()
				var l ledger
				l.run(t, cmd, userPut(dir, "f", 1000))
				setPlaceHook(t, func() {
					if other == "rm" {
						req := sdktest.Request{Args: []string{"f"}, Root: dir, User: quotaUser}
						if res := l.run(t, rm.New(), req); res.Err != nil {
							t.Errorf("rm: %v", res.Err)
						}
						return
					}
					if res := l.run(t, cmd, userPut(dir, "f", 500)); res.Err != nil {
						t.Errorf("the racing put: %v", res.Err)
					}
				})
				if res := l.run(t, cmd, userPut(dir, "f", 300)); res.Err != nil {
					t.Fatal(res.Err)
				}
				l.check(t, dir)
			})
		})
	}
}

// The same race left to the scheduler: puts replacing a name, rms of it
// and puts of it again, many rounds (bounded in count and time); the
// usage reported ends equal to the tree.
func TestReplaceRaceUsage(t *testing.T) {
	cmd := New()
	dir := t.TempDir()
	var l ledger
	deadline := time.Now().Add(3 * time.Second)
	for round := 0; round < 300 && time.Now().Before(deadline); round++ {
		var wg sync.WaitGroup
		for i, size := range []int{100 + round, 2000, 7} {
			wg.Go(func() { l.run(t, cmd, userPut(dir, "f", size+i)) })
		}
		wg.Go(func() { l.run(t, rm.New(), sdktest.Request{Args: []string{"f"}, Root: dir, User: quotaUser}) })
		wg.Wait()
	}
	l.check(t, dir)
}
