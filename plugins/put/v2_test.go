package put

import (
	"bytes"
	"context"
	"crypto/rand"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/selectftp/selectftp/client"
	"github.com/selectftp/selectftp/host/hosttest"
	"github.com/selectftp/selectftp/internal/checksum"
	"github.com/selectftp/selectftp/plugins/internal/digest"
	"github.com/selectftp/selectftp/sdk"
	"github.com/selectftp/selectftp/sdk/sdktest"
)

// A body of unknown length (a stream: BodySize -1) is stored whole, on
// every transport, large or empty.
func TestPutStream(t *testing.T) {
	big := make([]byte, 5<<20+7)
	rand.Read(big)
	both(t, func(t *testing.T, cmd sdk.Command) {
		dir := t.TempDir()
		for _, data := range [][]byte{big, nil, []byte("x")} {
			res := sdktest.Run(t, cmd, sdktest.Request{Root: dir, Args: []string{"s"}, Body: bytes.NewReader(data)})
			if res.Err != nil || res.Meta["size"] != float64(len(data)) {
				t.Fatalf("stream of %d bytes: %v %v", len(data), res.Meta, res.Err)
			}
			if got, err := os.ReadFile(filepath.Join(dir, "s")); err != nil || !bytes.Equal(got, data) {
				t.Errorf("stream of %d bytes: the file holds %d (%v)", len(data), len(got), err)
			}
		}
		expectFiles(t, dir, "s")
	})
}

// max_size refuses a declared size over it before a byte of the body is
// read (on every transport: unread fails the test when the host is asked
// for the body), and a stream that grows past it once it does: too_large,
// nothing under the name, no staging file left (named or not).
func TestPutMaxSizeStream(t *testing.T) {
	for _, unnamed := range []bool{true, false} {
		preferUnnamed = unnamed
		both(t, func(t *testing.T, cmd sdk.Command) {
			c := cmd.(sdk.Configurer)
			if err := c.Configure(t.Context(), map[string]any{"max_size": 1 << 20}); err != nil {
				t.Fatal(err)
			}
			defer c.Configure(t.Context(), nil)
			dir := t.TempDir()
			os.WriteFile(filepath.Join(dir, "keep"), []byte("old"), 0o644)
			res := sdktest.Run(t, cmd, sdktest.Request{Root: dir, Args: []string{"keep"}, Body: unread(t, cmd),
				Size: sdktest.Declared(10 << 30)})
			if res.Code != sdk.CodeTooLarge || res.Message != "10737418240 bytes is over the upload limit of 1048576 bytes" {
				t.Errorf("unnamed=%v: 10 GiB declared: %s %q", unnamed, res.Code, res.Message)
			}
			for _, name := range []string{"keep", "new"} {
				res = sdktest.Run(t, cmd, sdktest.Request{Root: dir, Args: []string{name},
					Body: bytes.NewReader(make([]byte, 3<<20))})
				if res.Code != sdk.CodeTooLarge || res.Message != "the upload is over the limit of 1048576 bytes" {
					t.Errorf("unnamed=%v: a 3 MiB stream: %s %q", unnamed, res.Code, res.Message)
				}
			}
			waitFiles(t, dir, "keep")
			if got, _ := os.ReadFile(filepath.Join(dir, "keep")); string(got) != "old" {
				t.Errorf("unnamed=%v: a refused stream changed the old file: %q", unnamed, got)
			}
			res = sdktest.Run(t, cmd, sdktest.Request{Root: dir, Args: []string{"fits"}, Body: bytes.NewReader(make([]byte, 1<<20))})
			if res.Err != nil {
				t.Errorf("unnamed=%v: a stream of exactly max_size: %v", unnamed, res.Err)
			}
		})
	}
	preferUnnamed = true
}

// Through a real server, a put refused by max_size is answered before the
// client sends its body (the client waits for Continue), costs no body
// bytes, and leaves the connection usable.
func TestPutRefusedBeforeContinue(t *testing.T) {
	p := New()
	if err := p.(sdk.Configurer).Configure(t.Context(), map[string]any{"max_size": 1 << 20}); err != nil {
		t.Fatal(err)
	}
	srv := hosttest.NewServer(t, p)
	ctx, cancel := context.WithTimeout(t.Context(), 20*time.Second)
	defer cancel()
	conn, err := client.Dial(ctx, srv.Addr)
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close()
	start := time.Now()
	err = conn.Put(ctx, failReader{t}, 10<<30, "huge", nil)
	if sdk.CodeOf(err) != sdk.CodeTooLarge {
		t.Fatalf("a 10 GiB put over max_size: %v", err)
	}
	if d := time.Since(start); d > 5*time.Second {
		t.Errorf("refused after %v", d)
	}
	// A stream over the limit is refused once it crosses it; the server
	// still serves the connection.
	err = conn.Put(ctx, bytes.NewReader(make([]byte, 2<<20)), -1, "stream", nil)
	if sdk.CodeOf(err) != sdk.CodeTooLarge {
		t.Errorf("a 2 MiB stream over max_size: %v", err)
	}
	if err := conn.Put(ctx, strings.NewReader("small"), 5, "small", nil); err != nil {
		t.Fatalf("a put after the refusals: %v", err)
	}
	waitFiles(t, srv.Root, "small")
}

// Every algorithm's digest of a stored file goes into the digest cache
// under its algorithm, on the file itself (the xattr, so a get in another
// process finds it) where the file system has xattrs.
func TestPutRecordsDigest(t *testing.T) {
	data := []byte("cached digest")
	both(t, func(t *testing.T, cmd sdk.Command) {
		dir := t.TempDir()
		for _, alg := range checksum.All() {
			name := "f-" + alg.String()
			res := sdktest.Run(t, cmd, sdktest.Request{Root: dir, Args: []string{name}, Body: bytes.NewReader(data),
				Checksum: alg.String()})
			if res.Err != nil {
				t.Fatal(res.Err)
			}
			f, err := os.Open(filepath.Join(dir, name))
			if err != nil {
				t.Fatal(err)
			}
			fi, err := f.Stat()
			if err != nil {
				t.Fatal(err)
			}
			if sum, ok := digest.Lookup(alg, f, fi); !ok || alg.Encode(sum) != digestOf(alg, data) {
				t.Errorf("%s: the shared cache holds %x, %v", alg, sum, ok)
			}
			// A new cache has nothing in memory: only the xattr can answer.
			sum, ok := digest.NewCache(1).Lookup(alg, f, fi)
			switch {
			case !ok && !hasXattrs(f):
				t.Logf("%s: no xattrs on %s: the digest is kept in memory only", alg, dir)
			case !ok || alg.Encode(sum) != digestOf(alg, data):
				t.Errorf("%s: the xattr holds %x, %v; want %s", alg, sum, ok, digestOf(alg, data))
			}
			for _, other := range checksum.All() {
				if _, ok := digest.NewCache(1).Lookup(other, f, fi); ok && other != alg {
					t.Errorf("a put with %s recorded a %s digest", alg, other)
				}
			}
			f.Close()
		}
	})
}

// A stream of unknown size counts nothing ahead against the free space
// (there is no size to count), so it is admitted; when the disk fills, the
// write's ENOSPC answers no_space and nothing is left, not even the
// staging file. Needs root to mount a small tmpfs.
func TestPutStreamFillsDisk(t *testing.T) {
	mnt := t.TempDir()
	if out, err := exec.Command("mount", "-t", "tmpfs", "-o", "size=1m", "tmpfs", mnt).CombinedOutput(); err != nil {
		t.Skipf("SKIPPED: cannot mount a small tmpfs here, the no_space path of a stream is untested (%v %s)",
			err, strings.TrimSpace(string(out)))
	}
	t.Cleanup(func() { exec.Command("umount", "-l", mnt).Run() })
	for _, unnamed := range []bool{true, false} {
		preferUnnamed = unnamed
		both(t, func(t *testing.T, cmd sdk.Command) {
			c := cmd.(sdk.Configurer)
			if err := c.Configure(t.Context(), map[string]any{"reserve": 0}); err != nil {
				t.Fatal(err)
			}
			defer c.Configure(t.Context(), nil)
			res := sdktest.Run(t, cmd, sdktest.Request{Root: mnt, Args: []string{"big"}, Body: bytes.NewReader(make([]byte, 4<<20))})
			if res.Code != sdk.CodeNoSpace {
				t.Errorf("unnamed=%v: a 4 MiB stream on a 1 MiB disk: %s %q", unnamed, res.Code, res.Message)
			}
			waitFiles(t, mnt)
			res = sdktest.Run(t, cmd, sdktest.Request{Root: mnt, Args: []string{"small"}, Body: strings.NewReader("fits")})
			if res.Err != nil {
				t.Errorf("unnamed=%v: a small stream after the full disk: %v", unnamed, res.Err)
			}
			os.Remove(filepath.Join(mnt, "small"))
		})
	}
	preferUnnamed = true
}
