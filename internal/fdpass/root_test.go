//go:build linux || darwin || freebsd || netbsd || openbsd

package fdpass

import (
	"os"
	"path/filepath"
	"testing"
	"time"
)

// TestRootByDescriptor passes a root's directory from the host's end to the
// plugin's, after the root's path was moved away and replaced by a symlink
// to another folder: the plugin's root is still the original directory.
func TestRootByDescriptor(t *testing.T) {
	base := t.TempDir()
	tree, outside := filepath.Join(base, "tree"), filepath.Join(base, "outside")
	for _, d := range []string{tree, outside} {
		if err := os.Mkdir(d, 0o755); err != nil {
			t.Fatal(err)
		}
	}
	os.WriteFile(filepath.Join(tree, "kept.txt"), []byte("kept"), 0o644)
	os.WriteFile(filepath.Join(outside, "secret.txt"), []byte("secret"), 0o644)
	hostRoot, err := os.OpenRoot(tree)
	if err != nil {
		t.Fatal(err)
	}
	defer hostRoot.Close()
	if err := os.Rename(tree, filepath.Join(base, "moved")); err != nil {
		t.Fatal(err)
	}
	if err := os.Symlink(outside, tree); err != nil {
		t.Fatal(err)
	}

	recv, child, err := Pair()
	if err != nil {
		t.Fatal(err)
	}
	defer recv.Close()
	send, err := NewSender(child)
	if err != nil {
		t.Fatal(err)
	}
	defer send.Close()
	dir, err := hostRoot.Open(".")
	if err != nil {
		t.Fatal(err)
	}
	err = recv.Send(7, dir)
	dir.Close()
	if err != nil {
		t.Fatal(err)
	}
	got, err := send.Take(7, 5*time.Second)
	if err != nil {
		t.Fatal(err)
	}
	root, err := OpenRoot(got)
	got.Close() // the Root holds a descriptor of its own
	if err != nil {
		t.Fatal(err)
	}
	defer root.Close()
	if b, err := root.ReadFile("kept.txt"); err != nil || string(b) != "kept" {
		t.Fatalf("kept.txt: %q, %v; want the original tree", b, err)
	}
	if b, err := root.ReadFile("secret.txt"); err == nil {
		t.Fatalf("read %q from the folder the old path now names", b)
	}
	if _, err := send.Take(8, 50*time.Millisecond); err == nil {
		t.Fatal("took a root never sent")
	}
}

// TestOpenRootRefusesFiles: only a directory makes a root.
func TestOpenRootRefusesFiles(t *testing.T) {
	f, err := os.Create(filepath.Join(t.TempDir(), "f"))
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	if r, err := OpenRoot(f); err == nil {
		r.Close()
		t.Fatal("a regular file became a root")
	}
}
