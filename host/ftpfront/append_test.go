package ftpfront

import (
	"bytes"
	"os"
	"path/filepath"
	"testing"
)

// lastPut returns the params of the last put the fake host ran.
func (h *fakeHost) lastPut() map[string]any {
	h.mu.Lock()
	defer h.mu.Unlock()
	return h.lastPutParams
}

// APPE and REST n + STOR are put's append: the old file's bytes (all, or
// the first n), then the data; the whole file replaces the old one only
// when the data ended cleanly, so a client that dies mid-APPE leaves the
// old file as it was (curl -T -C - sends SIZE then APPE; lftp reput REST
// then STOR).
func TestAppendAndRestStor(t *testing.T) {
	h := &fakeHost{}
	addr, f := startFrontF(t, h, Config{})
	old := randBytes(t, 300<<10)
	more := randBytes(t, 200<<10)
	os.WriteFile(filepath.Join(h.root, "a"), old, 0o644)
	os.WriteFile(filepath.Join(h.root, "r"), old, 0o644)
	c := dialFTP(t, addr)
	c.login()

	d := c.epsv()
	c.must(150, "APPE a")
	d.Write(more)
	d.Close()
	c.expect(226)
	if got, _ := os.ReadFile(filepath.Join(h.root, "a")); !bytes.Equal(got, append(bytes.Clone(old), more...)) {
		t.Fatalf("APPE: the file holds %d bytes, want the old %d and the %d appended", len(got), len(old), len(more))
	}
	if p := h.lastPut(); p["append"] != true || p["offset"] != nil {
		t.Fatalf("APPE ran put with %v, want append and no offset", p)
	}

	const n = 1000
	c.must(350, "REST %d", n)
	d = c.epsv()
	c.must(150, "STOR r")
	d.Write(more)
	d.Close()
	c.expect(226)
	if got, _ := os.ReadFile(filepath.Join(h.root, "r")); !bytes.Equal(got, append(bytes.Clone(old[:n]), more...)) {
		t.Fatalf("REST %d + STOR: the file holds %d bytes, want %d", n, len(got), n+len(more))
	}
	if p := h.lastPut(); p["append"] != true || p["offset"] != int64(n) {
		t.Fatalf("REST + STOR ran put with %v, want append and offset %d", p, n)
	}
	// The REST is spent: the next STOR replaces the file whole.
	c.stor("r", more)
	if got, _ := os.ReadFile(filepath.Join(h.root, "r")); !bytes.Equal(got, more) {
		t.Fatalf("STOR after a REST + STOR: %d bytes, want %d", len(got), len(more))
	}

	// A client that dies in the middle of an APPE: the old file stays.
	k := dialFTP(t, addr)
	k.login()
	d = k.epsv()
	k.must(150, "APPE a")
	d.Write(more[:50<<10])
	d.Close()
	k.c.Close()
	settle(t, f)
	if got, _ := os.ReadFile(filepath.Join(h.root, "a")); !bytes.Equal(got, append(bytes.Clone(old), more...)) {
		t.Fatalf("a killed APPE changed the file: %d bytes", len(got))
	}
}
