package rm

import (
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/selectftp/selectftp/plugins/internal/staging"
)

// stagedIn is the staging names in dir.
func stagedIn(t *testing.T, dir string) []string {
	t.Helper()
	es, err := os.ReadDir(dir)
	if err != nil {
		t.Fatal(err)
	}
	var out []string
	for _, e := range es {
		if staging.Is(e.Name()) {
			out = append(out, e.Name())
		}
	}
	return out
}

// Finding 6 of the session 15 review: a put's sweep (another process)
// removes any staging file whose lock it can claim. rm's file, between
// its rename to a staging name and its remove, must be held, or the sweep
// removes it first and rm counts nothing freed: the user's usage stays
// high until a restart. The sweep is acted out here as its start-up pass
// does it: claim, then remove.
func TestTakeHeldFromSweep(t *testing.T) {
	dir := t.TempDir()
	os.WriteFile(filepath.Join(dir, "f"), make([]byte, 9000), 0o644)
	root, err := os.OpenRoot(dir)
	if err != nil {
		t.Fatal(err)
	}
	defer root.Close()
	swept := 0
	afterRename = func(string) {
		for _, n := range stagedIn(t, dir) {
			if c, err := staging.Claim(root, n); err == nil {
				root.Remove(n)
				c.Close()
				swept++
			}
		}
	}
	defer func() { afterRename = nil }()
	n, ok, err := take(root, "f")
	if !ok || err != nil || n != 9000 || swept != 0 {
		t.Fatalf("take = %d, %v, %v with %d swept; want 9000 freed and the file held from the sweep", n, ok, err, swept)
	}
	if left := stagedIn(t, dir); len(left) != 0 {
		t.Errorf("left under staging names: %v", left)
	}
}

// Finding 7: a folder swapped in for the file rm looked at is moved to
// the staging name and must get a name back. When the client has taken
// the name again meanwhile, the folder goes beside it, visible, and rm
// says where: never left under the staging name, invisible and unswept.
func TestTakeFolderNeverStranded(t *testing.T) {
	dir := t.TempDir()
	os.MkdirAll(filepath.Join(dir, "f/in"), 0o755)
	os.WriteFile(filepath.Join(dir, "f/in/data"), []byte("keep me"), 0o644)
	root, err := os.OpenRoot(dir)
	if err != nil {
		t.Fatal(err)
	}
	defer root.Close()
	afterRename = func(rel string) { os.WriteFile(filepath.Join(dir, rel), []byte("new"), 0o644) }
	defer func() { afterRename = nil }()
	_, ok, err := take(root, "f")
	if left := stagedIn(t, dir); len(left) != 0 {
		t.Fatalf("the folder is stranded under %v (take: ok %v, %v)", left, ok, err)
	}
	if !ok || err == nil || !strings.Contains(err.Error(), "f.rm-kept-") {
		t.Errorf("take = ok %v, %v; want a failure naming where the folder went", ok, err)
	}
	kept, _ := filepath.Glob(filepath.Join(dir, "f.rm-kept-*", "in", "data"))
	if len(kept) != 1 {
		t.Errorf("the folder's file is not under a visible name: %v", kept)
	}
	if b, _ := os.ReadFile(filepath.Join(dir, "f")); string(b) != "new" {
		t.Errorf("the file that took the name is %q, want it untouched", b)
	}
}
