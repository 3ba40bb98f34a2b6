package ftpfront

import (
	"bytes"
	"os"
	"path/filepath"
	"testing"
)

// noLoopbackCopy makes loopback downloads take sendfile(2) for one test,
// as they would for a client on another machine.
func noLoopbackCopy(t *testing.T) {
	old := loopbackCopy
	loopbackCopy = false
	t.Cleanup(func() { loopbackCopy = old })
}

// A loopback client gets the file by copy (see loopbackCopy), whole and
// from REST's offset, in more than one copy buffer and a short tail.
func TestRetrLoopbackCopies(t *testing.T) {
	h := &fakeHost{}
	addr := startFront(t, h, Config{})
	want := randBytes(t, 3*copyBufSize+17)
	os.WriteFile(filepath.Join(h.root, "big"), want, 0o644)
	c := dialFTP(t, addr)
	c.login()
	before := sendfileCalls.Load()
	if got := c.retr("big"); !bytes.Equal(got, want) {
		t.Fatalf("RETR: %d bytes, want %d, equal=false", len(got), len(want))
	}
	for _, off := range []int{1000, copyBufSize, len(want) - 1} {
		c.must(350, "REST %d", off)
		if got := c.retr("big"); !bytes.Equal(got, want[off:]) {
			t.Fatalf("REST %d + RETR: %d bytes, want %d", off, len(got), len(want)-off)
		}
	}
	if n := sendfileCalls.Load() - before; n != 0 {
		t.Fatalf("a loopback RETR went through sendfile %d times: the client pays for page-sized packets", n)
	}
}
