// Package digest remembers files' transfer digests, one per algorithm, so get
// need not read a whole file before sending it. put records the digest it verified; get records what it
// computed. A digest is kept with the file (an extended attribute, where the
// file system has them) and in memory, and is trusted only while the file's
// size and modification time are unchanged. A stale digest fails safe: the
// client checks every download against it and refuses a mismatch.
package digest

import (
	"fmt"
	"os"
	"strconv"
	"strings"
	"sync"
	"syscall"

	"github.com/selectftp/selectftp/internal/checksum"
)

// legacyAttr is where releases that knew only SHA-256 kept it. It is still
// read, so files put before the upgrade need not be hashed again.
const legacyAttr = "user.selectftp.sha256"

// attrName is the extended attribute that holds a file's digest for alg:
// one per algorithm, so a client asking for another one does not evict it.
func attrName(alg checksum.Algorithm) string { return "user.selectftp.digest." + alg.String() }

// stamp identifies one version of a file's content.
type stamp struct {
	dev, ino uint64
	size     int64
	mtime    int64 // ns
}

func stampOf(fi os.FileInfo) stamp {
	s := stamp{size: fi.Size(), mtime: fi.ModTime().UnixNano()}
	if st, ok := fi.Sys().(*syscall.Stat_t); ok {
		s.dev, s.ino = uint64(st.Dev), st.Ino
	}
	return s
}

// key is one digest of one version of a file.
type key struct {
	stamp
	alg checksum.Algorithm
}

// value is the attribute's text: version, size, mtime, hex digest. The
// algorithm is in the attribute's name.
func (s stamp) value(alg checksum.Algorithm, sum []byte) string {
	return fmt.Sprintf("v1 %d %d %s", s.size, s.mtime, alg.Encode(sum))
}

func (s stamp) parse(alg checksum.Algorithm, v string) ([]byte, bool) {
	f := strings.Fields(v)
	if len(f) != 4 || f[0] != "v1" || f[1] != strconv.FormatInt(s.size, 10) || f[2] != strconv.FormatInt(s.mtime, 10) {
		return nil, false
	}
	sum, err := alg.Decode(f[3])
	return sum, err == nil
}

// shared is the cache put and get share when they run in one process
// (in-process verbs); as separate plugins they meet through the attribute.
var shared = NewCache(8192)

// Lookup returns f's alg digest if one is known for its current content.
func Lookup(alg checksum.Algorithm, f *os.File, fi os.FileInfo) ([]byte, bool) {
	return shared.Lookup(alg, f, fi)
}

// Record remembers sum as f's alg digest, in memory and on the file.
func Record(alg checksum.Algorithm, f *os.File, fi os.FileInfo, sum []byte) {
	shared.Record(alg, f, fi, sum)
}

// Cache is a bounded in-memory map of digests, safe for concurrent use.
type Cache struct {
	mu  sync.Mutex
	max int
	m   map[key][]byte
}

// NewCache holds up to max digests.
func NewCache(max int) *Cache { return &Cache{max: max, m: map[key][]byte{}} }

// Lookup returns f's alg digest if one is known for its current content; fi
// is f's Stat.
func (c *Cache) Lookup(alg checksum.Algorithm, f *os.File, fi os.FileInfo) ([]byte, bool) {
	k := key{stampOf(fi), alg}
	c.mu.Lock()
	sum, ok := c.m[k]
	c.mu.Unlock()
	if ok {
		return sum, true
	}
	names := []string{attrName(alg)}
	if alg == checksum.SHA256 {
		names = append(names, legacyAttr)
	}
	for _, name := range names {
		if v, err := getAttr(f, name); err == nil {
			if sum, ok := k.parse(alg, v); ok {
				c.put(k, sum)
				return sum, true
			}
		}
	}
	return nil, false
}

// Record remembers sum as the alg digest of f's content as described by fi,
// in memory and, best effort, on the file.
func (c *Cache) Record(alg checksum.Algorithm, f *os.File, fi os.FileInfo, sum []byte) {
	k := key{stampOf(fi), alg}
	c.put(k, sum)
	// The file system may not have xattrs: fine, the memory copy serves.
	if setAttr(f, attrName(alg), k.value(alg, sum)) == nil && alg == checksum.SHA256 {
		removeAttr(f, legacyAttr) // superseded; one place to look is enough
	}
}

func (c *Cache) put(k key, sum []byte) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if len(c.m) >= c.max {
		for k := range c.m { // drop an arbitrary entry
			delete(c.m, k)
			break
		}
	}
	c.m[k] = sum
}
