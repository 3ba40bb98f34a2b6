//go:build unix

package client_test

import (
	"os"
	"path/filepath"
	"syscall"
	"testing"
)

// A downloaded file is an ordinary new file (0666 less the umask); one it
// replaces keeps its mode.
func TestGetFileModes(t *testing.T) {
	s := newServer(t)
	c := dial(t, s)
	dir := t.TempDir()
	local := filepath.Join(dir, "src")
	os.WriteFile(local, []byte("data"), 0o644)
	if err := c.PutFile(testCtx(t), local, "f", nil); err != nil {
		t.Fatal(err)
	}
	old := syscall.Umask(0o027)
	defer syscall.Umask(old)

	fresh := filepath.Join(dir, "fresh")
	if err := c.GetFile(testCtx(t), "f", fresh, nil); err != nil {
		t.Fatal(err)
	}
	if fi, _ := os.Stat(fresh); fi.Mode().Perm() != 0o640 {
		t.Errorf("new file mode %v, want 0640 under umask 027", fi.Mode().Perm())
	}
	kept := filepath.Join(dir, "kept")
	os.WriteFile(kept, []byte("old"), 0o600)
	os.Chmod(kept, 0o444)
	if err := c.GetFile(testCtx(t), "f", kept, nil); err != nil {
		t.Fatal(err)
	}
	if fi, _ := os.Stat(kept); fi.Mode().Perm() != 0o444 {
		t.Errorf("replaced file mode %v, want its old 0444", fi.Mode().Perm())
	}
}
