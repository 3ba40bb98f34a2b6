package digest

import (
	"crypto/sha256"
	"os"
	"path/filepath"
	"testing"
	"time"
)

func TestRecordAndLookup(t *testing.T) {
	dir := t.TempDir()
	p := filepath.Join(dir, "f")
	os.WriteFile(p, []byte("hello"), 0o644)
	sum := sha256.Sum256([]byte("hello"))

	f, _ := os.Open(p)
	defer f.Close()
	fi, _ := f.Stat()
	c := NewCache(10)
	if _, ok := c.Lookup(f, fi); ok {
		t.Fatal("found a digest never recorded")
	}
	c.Record(f, fi, sum[:])
	if got, ok := c.Lookup(f, fi); !ok || string(got) != string(sum[:]) {
		t.Fatal("recorded digest not found")
	}
	// A fresh cache finds it on the file, where xattrs work.
	if got, ok := NewCache(10).Lookup(f, fi); ok && string(got) != string(sum[:]) {
		t.Fatal("the attribute holds another digest")
	}

	// New content: the digest no longer applies.
	time.Sleep(10 * time.Millisecond)
	os.WriteFile(p, []byte("HELLO"), 0o644)
	fi2, _ := f.Stat()
	if _, ok := c.Lookup(f, fi2); ok {
		t.Fatal("a digest survived a change of content")
	}
	if _, ok := NewCache(10).Lookup(f, fi2); ok {
		t.Fatal("the attribute survived a change of content")
	}
}

func TestCacheIsBounded(t *testing.T) {
	c := NewCache(3)
	for i := range 10 {
		c.put(stamp{ino: uint64(i)}, []byte{byte(i)})
	}
	if len(c.m) > 3 {
		t.Fatalf("%d entries, limit 3", len(c.m))
	}
}
