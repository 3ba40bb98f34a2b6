// Package digest remembers files' SHA-256 so get need not read a whole file
// before sending it. put records the digest it verified; get records what it
// computed. A digest is kept with the file (an extended attribute, where the
// file system has them) and in memory, and is trusted only while the file's
// size and modification time are unchanged. A stale digest fails safe: the
// client checks every download against it and refuses a mismatch.
package digest

import (
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"os"
	"strconv"
	"strings"
	"sync"
	"syscall"
)

// attr is the extended attribute that holds a file's digest.
const attr = "user.selectftp.sha256"

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

// value is the attribute's text: version, size, mtime, hex digest.
func (s stamp) value(sum []byte) string {
	return fmt.Sprintf("v1 %d %d %s", s.size, s.mtime, hex.EncodeToString(sum))
}

func (s stamp) parse(v string) ([]byte, bool) {
	f := strings.Fields(v)
	if len(f) != 4 || f[0] != "v1" || f[1] != strconv.FormatInt(s.size, 10) || f[2] != strconv.FormatInt(s.mtime, 10) {
		return nil, false
	}
	sum, err := hex.DecodeString(f[3])
	return sum, err == nil && len(sum) == sha256.Size
}

// shared is the cache put and get share when they run in one process
// (in-process verbs); as separate plugins they meet through the attribute.
var shared = NewCache(8192)

// Lookup returns f's digest if one is known for its current content.
func Lookup(f *os.File, fi os.FileInfo) ([]byte, bool) { return shared.Lookup(f, fi) }

// Record remembers sum as f's digest, in memory and on the file.
func Record(f *os.File, fi os.FileInfo, sum []byte) { shared.Record(f, fi, sum) }

// Cache is a bounded in-memory map of digests, safe for concurrent use.
type Cache struct {
	mu  sync.Mutex
	max int
	m   map[stamp][]byte
}

// NewCache holds up to max digests.
func NewCache(max int) *Cache { return &Cache{max: max, m: map[stamp][]byte{}} }

// Lookup returns f's digest if one is known for its current content; fi is
// f's Stat.
func (c *Cache) Lookup(f *os.File, fi os.FileInfo) ([]byte, bool) {
	s := stampOf(fi)
	c.mu.Lock()
	sum, ok := c.m[s]
	c.mu.Unlock()
	if ok {
		return sum, true
	}
	if v, err := getAttr(f); err == nil {
		if sum, ok := s.parse(v); ok {
			c.put(s, sum)
			return sum, true
		}
	}
	return nil, false
}

// Record remembers sum as the digest of f's content as described by fi, in
// memory and, best effort, on the file.
func (c *Cache) Record(f *os.File, fi os.FileInfo, sum []byte) {
	s := stampOf(fi)
	c.put(s, sum)
	setAttr(f, s.value(sum)) // the file system may not have xattrs: fine
}

func (c *Cache) put(s stamp, sum []byte) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if len(c.m) >= c.max {
		for k := range c.m { // drop an arbitrary entry
			delete(c.m, k)
			break
		}
	}
	c.m[s] = sum
}
