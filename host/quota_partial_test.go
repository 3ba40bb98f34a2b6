package host

import (
	"bytes"
	"errors"
	"io"
	"io/fs"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/selectftp/selectftp/host/auth"
	"github.com/selectftp/selectftp/plugins"
	"github.com/selectftp/selectftp/protocol"
)

// Finding 6 of the review: the partial a resumable upload keeps when it is
// interrupted did not count in the user's usage (the host gave the body's
// reservation back at the end and put reported nothing on failure), so a
// user could park any number of near-quota partials for resume_ttl.

// abandoned is a body that breaks off after n bytes, as a client that
// goes away mid-upload.
func abandoned(n int) io.Reader {
	return io.MultiReader(bytes.NewReader(make([]byte, n)), iotestErr{errors.New("the client went away")})
}

func resumable(name string, body io.Reader, size int64, offset int64) Call {
	params := map[string]any{"resume": true}
	if offset > 0 {
		params["offset"] = offset
	}
	return Call{Verb: "put", Args: []string{name}, Params: params, Body: body, Size: size}
}

// partials lists the resumable partials kept in dir, by size.
func partials(t *testing.T, dir string) (sizes []int64) {
	t.Helper()
	ents, err := os.ReadDir(dir)
	if err != nil {
		t.Fatal(err)
	}
	for _, e := range ents {
		if strings.HasPrefix(e.Name(), ".selectftp-part-r-") {
			fi, err := e.Info()
			if err != nil {
				t.Fatal(err)
			}
			sizes = append(sizes, fi.Size())
		}
	}
	return sizes
}

// usageOf is the server's count of user's storage.
func usageOf(s *Server, user string) (bytes, files int64) {
	u := s.logins.limits.get(user, auth.Limits{})
	u.mu.Lock()
	defer u.mu.Unlock()
	return u.bytes, u.files
}

// wantUsage fails t unless the server's count of alice's storage is what
// her tree holds.
func wantUsage(t *testing.T, s *Server, dir string) {
	t.Helper()
	var b, f int64
	filepath.WalkDir(dir, func(_ string, d fs.DirEntry, err error) error {
		if err == nil && d.Type().IsRegular() {
			if fi, err := d.Info(); err == nil {
				b, f = b+fi.Size(), f+1
			}
		}
		return nil
	})
	if gb, gf := usageOf(s, "alice"); gb != b || gf != f {
		t.Fatalf("the server counts %d bytes in %d files; the tree holds %d bytes in %d files", gb, gf, b, f)
	}
}

// Two abandoned uploads of 90 KiB each under a 100 KiB quota: the first
// partial is kept and counted, the second is refused at the quota and
// keeps nothing; the first still resumes to its end.
func TestQuotaCountsKeptPartials(t *testing.T) {
	const quota = 100 << 10
	s := localServer(t, localUsers(t, auth.Limits{QuotaBytes: quota}), nil)
	dir := filepath.Join(s.Root, "alice")
	alice := localLogin(t, s, "127.0.0.1", "alice", "alice-pw")
	r := call(t, alice, resumable("a", abandoned(90<<10), -1, 0))
	wantCode(t, r, protocol.CodeCanceled)
	kept := partials(t, dir)
	if len(kept) != 1 || kept[0] == 0 {
		t.Fatalf("the first abandoned upload kept %v", kept)
	}

	r = call(t, alice, resumable("b", abandoned(90<<10), -1, 0))
	var sum int64
	for _, n := range partials(t, dir) {
		sum += n
	}
	if sum > quota {
		t.Fatalf("abandoned partials hold %d bytes, over the quota of %d", sum, quota)
	}
	wantCode(t, r, protocol.CodeQuotaExceeded)
	wantUsage(t, s, dir)

	// The partial's bytes are counted once: its resume fits.
	rest := int64(100<<10) - kept[0]
	wantCode(t, call(t, alice, resumable("a", bytes.NewReader(make([]byte, rest)), rest, kept[0])), protocol.CodeOK)
	if fi, err := os.Stat(filepath.Join(dir, "a")); err != nil || fi.Size() != 100<<10 {
		t.Fatalf("the resumed file: %v %v", fi, err)
	}
	wantUsage(t, s, dir)
}

// A partial the sweep removes once it is older than resume_ttl gives its
// bytes back: here a server restarted on the same tree counts the partial
// at login, and the first put's sweep frees it.
func TestQuotaSweptPartialFreesQuota(t *testing.T) {
	const quota = 100 << 10
	root := t.TempDir()
	users := localUsers(t, auth.Limits{QuotaBytes: quota})
	onRoot := func(s *Server) { s.Root = root }
	s1 := localServerCmds(t, users, onRoot, plugins.Standard())
	alice := localLogin(t, s1, "127.0.0.1", "alice", "alice-pw")
	wantCode(t, call(t, alice, resumable("a", abandoned(90<<10), -1, 0)), protocol.CodeCanceled)
	dir := filepath.Join(root, "alice")
	kept := partials(t, dir)
	if len(kept) != 1 || kept[0] == 0 {
		t.Fatalf("the abandoned upload kept %v", kept)
	}
	alice.Close()
	s1.Close()
	old := time.Now().Add(-48 * time.Hour) // past the default resume_ttl of 24h
	ents, _ := os.ReadDir(dir)
	for _, e := range ents {
		os.Chtimes(filepath.Join(dir, e.Name()), old, old)
	}

	s2 := localServerCmds(t, users, onRoot, plugins.Standard())
	alice = localLogin(t, s2, "127.0.0.1", "alice", "alice-pw")
	if b, _ := usageOf(s2, "alice"); b != kept[0] {
		t.Fatalf("at login the server counts %d bytes, want the partial's %d", b, kept[0])
	}
	// The first put to the tree sweeps it: the partial goes, and its
	// bytes with it.
	wantCode(t, call(t, alice, Call{Verb: "put", Args: []string{"x"}, Body: bytes.NewReader(make([]byte, 1<<10)), Size: -1}), protocol.CodeOK)
	if p := partials(t, dir); len(p) != 0 {
		t.Fatalf("the expired partial is still there: %v", p)
	}
	wantUsage(t, s2, dir)
	wantCode(t, call(t, alice, Call{Verb: "put", Args: []string{"y"}, Body: bytes.NewReader(make([]byte, 90<<10)), Size: -1}), protocol.CodeOK)
	wantUsage(t, s2, dir)
}
