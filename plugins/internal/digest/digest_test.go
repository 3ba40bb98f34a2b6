package digest

import (
	"bytes"
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/selectftp/selectftp/internal/checksum"
)

func sumOf(alg checksum.Algorithm, b []byte) []byte {
	h := alg.New()
	h.Write(b)
	return h.Sum(nil)
}

// open writes content to a new file and opens it, failing the test on error.
func open(t *testing.T, content string) (*os.File, string) {
	t.Helper()
	p := filepath.Join(t.TempDir(), "f")
	if err := os.WriteFile(p, []byte(content), 0o644); err != nil {
		t.Fatal(err)
	}
	f, err := os.Open(p)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { f.Close() })
	return f, p
}

func stat(t *testing.T, f *os.File) os.FileInfo {
	t.Helper()
	fi, err := f.Stat()
	if err != nil {
		t.Fatal(err)
	}
	return fi
}

// xattrs reports whether the test's file system keeps user attributes, so
// the on-file half of a test is run where it means something.
func xattrs(t *testing.T, f *os.File) bool {
	err := setAttr(f, "user.selectftp.probe", "x")
	if err != nil {
		t.Logf("no user xattrs here (%v): checking the memory cache only", err)
		return false
	}
	removeAttr(f, "user.selectftp.probe")
	return true
}

func TestRecordAndLookupPerAlgorithm(t *testing.T) {
	for _, alg := range checksum.All() {
		t.Run(alg.String(), func(t *testing.T) {
			f, _ := open(t, "hello")
			fi := stat(t, f)
			sum := sumOf(alg, []byte("hello"))
			c := NewCache(10)
			if _, ok := c.Lookup(alg, f, fi); ok {
				t.Fatal("found a digest never recorded")
			}
			c.Record(alg, f, fi, sum)
			if got, ok := c.Lookup(alg, f, fi); !ok || !bytes.Equal(got, sum) {
				t.Fatal("recorded digest not found")
			}
			// Another algorithm's digest is never served for this one.
			for _, other := range checksum.All() {
				if other == alg {
					continue
				}
				if got, ok := c.Lookup(other, f, fi); ok {
					t.Fatalf("asked for %s, got the %s digest %x", other, alg, got)
				}
				if got, ok := NewCache(10).Lookup(other, f, fi); ok {
					t.Fatalf("asked for %s on the file, got %x", other, got)
				}
			}
			if !xattrs(t, f) {
				return
			}
			// A fresh cache (another plugin process) finds it on the file.
			if got, ok := NewCache(10).Lookup(alg, f, fi); !ok || !bytes.Equal(got, sum) {
				t.Fatalf("the attribute gave %x, %v", got, ok)
			}
			if _, err := getAttr(f, "user.selectftp.digest."+alg.String()); err != nil {
				t.Fatalf("the attribute is not named after the algorithm: %v", err)
			}
		})
	}
}

func TestAlgorithmsLiveSideBySide(t *testing.T) {
	f, _ := open(t, "hello")
	fi := stat(t, f)
	c := NewCache(10)
	for _, alg := range checksum.All() {
		c.Record(alg, f, fi, sumOf(alg, []byte("hello")))
	}
	onFile := xattrs(t, f)
	for _, alg := range checksum.All() {
		want := sumOf(alg, []byte("hello"))
		if got, ok := c.Lookup(alg, f, fi); !ok || !bytes.Equal(got, want) {
			t.Errorf("%s: memory gave %x, %v", alg, got, ok)
		}
		if got, ok := NewCache(10).Lookup(alg, f, fi); onFile && (!ok || !bytes.Equal(got, want)) {
			t.Errorf("%s: the file gave %x, %v", alg, got, ok)
		}
	}
}

// A digest recorded for one content must not be served once the file's size
// or modification time says the content changed: get would announce it and
// every download would be refused.
func TestStaleIsNotServed(t *testing.T) {
	for _, alg := range checksum.All() {
		for _, change := range []struct {
			name string
			do   func(p string) error
		}{
			{"size", func(p string) error { return os.WriteFile(p, []byte("hello, world"), 0o644) }},
			{"mtime", func(p string) error {
				// Same size and bytes, another time: the stamp alone must tell.
				return os.Chtimes(p, time.Time{}, time.Unix(1e9, 0))
			}},
		} {
			t.Run(alg.String()+"/"+change.name, func(t *testing.T) {
				f, p := open(t, "hello")
				fi := stat(t, f)
				c := NewCache(10)
				c.Record(alg, f, fi, sumOf(alg, []byte("hello")))
				if err := change.do(p); err != nil {
					t.Fatal(err)
				}
				fi2 := stat(t, f)
				if fi2.Size() == fi.Size() && fi2.ModTime().Equal(fi.ModTime()) {
					t.Fatal("the change did not show in the file's stat")
				}
				if got, ok := c.Lookup(alg, f, fi2); ok {
					t.Fatalf("memory served a stale digest %x", got)
				}
				if got, ok := NewCache(10).Lookup(alg, f, fi2); ok {
					t.Fatalf("the attribute served a stale digest %x", got)
				}
			})
		}
	}
}

// Files put by a release that knew only SHA-256 carry user.selectftp.sha256;
// get must still use it, as sha256 and as nothing else.
func TestLegacyAttributeReadsAsSHA256(t *testing.T) {
	f, _ := open(t, "hello")
	if !xattrs(t, f) {
		t.Skip("no user xattrs on this file system")
	}
	fi := stat(t, f)
	sum := sumOf(checksum.SHA256, []byte("hello"))
	if err := setAttr(f, legacyAttr, stampOf(fi).value(checksum.SHA256, sum)); err != nil {
		t.Fatal(err)
	}
	if got, ok := NewCache(10).Lookup(checksum.SHA256, f, fi); !ok || !bytes.Equal(got, sum) {
		t.Fatalf("legacy attribute gave %x, %v", got, ok)
	}
	for _, alg := range []checksum.Algorithm{checksum.XXH128, checksum.BLAKE3} {
		if got, ok := NewCache(10).Lookup(alg, f, fi); ok {
			t.Fatalf("the legacy sha256 attribute was served as %s: %x", alg, got)
		}
	}
	// Recording sha256 again moves it to the new name and drops the old one.
	NewCache(10).Record(checksum.SHA256, f, fi, sum)
	if _, err := getAttr(f, legacyAttr); err == nil {
		t.Error("the superseded legacy attribute is still there")
	}
	if got, ok := NewCache(10).Lookup(checksum.SHA256, f, fi); !ok || !bytes.Equal(got, sum) {
		t.Fatalf("after the move: %x, %v", got, ok)
	}
}

// An attribute whose digest has another algorithm's length (a hand-edited or
// misplaced value) is ignored rather than served.
func TestWrongLengthAttributeIgnored(t *testing.T) {
	f, _ := open(t, "hello")
	if !xattrs(t, f) {
		t.Skip("no user xattrs on this file system")
	}
	fi := stat(t, f)
	sha := sumOf(checksum.SHA256, []byte("hello"))
	if err := setAttr(f, attrName(checksum.XXH128), stampOf(fi).value(checksum.XXH128, sha)); err != nil {
		t.Fatal(err)
	}
	if got, ok := NewCache(10).Lookup(checksum.XXH128, f, fi); ok {
		t.Fatalf("served a 32-byte value as xxh128: %x", got)
	}
}

func TestCacheIsBounded(t *testing.T) {
	c := NewCache(3)
	for i := range 10 {
		c.put(key{stamp: stamp{ino: uint64(i)}}, []byte{byte(i)})
	}
	if len(c.m) > 3 {
		t.Fatalf("%d entries, limit 3", len(c.m))
	}
}
