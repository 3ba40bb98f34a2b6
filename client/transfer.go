package client

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"math"
	"os"
	"path/filepath"

	"github.com/selectftp/selectftp/protocol"
)

// Progress reports a transfer's progress: done bytes of total so far. It is
// called once with done = 0 when the size is known and then after every
// piece, possibly from another goroutine but never concurrently with itself.
type Progress func(done, total int64)

// Put uploads the bytes read from r as the remote file remote. size is
// their count when known, or -1 for a stream (a pipe, stdin): the bytes
// then go as they arrive, and the server learns the length at the end. The
// bytes are hashed while they are sent and their digest follows them, so
// the server keeps the file only when it is whole and matches. When size
// is unknown or over 1 MiB, Put waits for the server to accept the upload
// before sending a byte: a refusal (too large, no space, not allowed)
// costs one round trip, not the body. An interrupted upload (ctx, a
// failing r) leaves nothing under remote. progress may be nil; it gets
// total = -1 for a stream.
func (c *Conn) Put(ctx context.Context, r io.Reader, size int64, remote string, progress Progress) error {
	h := hooks{size: size, expect: size < 0 || size > expectAbove}
	switch f, ok := r.(*os.File); {
	case size < 0:
		h.size = -1
	case ok && isRegular(f):
		h.file = f // by sendfile, hashed beside it
	default:
		r = &exactReader{r: r, left: size}
	}
	return c.put(ctx, r, remote, progress, h)
}

func isRegular(f *os.File) bool {
	fi, err := f.Stat()
	return err == nil && fi.Mode().IsRegular()
}

func (c *Conn) put(ctx context.Context, r io.Reader, remote string, progress Progress, h hooks) error {
	if progress != nil {
		progress(0, h.size)
		h.sent = func(n int64) { progress(n, h.size) }
	}
	meta, err := c.do(ctx, putRequest(remote), r, nil, h)
	if err != nil {
		return err
	}
	// The server verified the bytes; a stored size that differs from what
	// was sent would be a server bug worth reporting loudly.
	if n, ok := metaInt(meta, "size"); ok && h.size >= 0 && n != h.size {
		return fmt.Errorf("put %s: server reports %d bytes stored, sent %d: %w", remote, n, h.size, ErrChecksum)
	}
	return nil
}

func putRequest(remote string) protocol.Request {
	return protocol.Request{Verb: "put", Params: map[string]any{"path": remote}}
}

// PutFile uploads the local file localPath as remote (localPath's base name
// when remote is ""). It reads the file once: the bytes move by sendfile(2)
// while another goroutine hashes them from the page cache, so the upload
// starts at once and the CPU never copies the file.
func (c *Conn) PutFile(ctx context.Context, localPath, remote string, progress Progress) error {
	return c.PutFileWith(ctx, localPath, remote, FileOptions{Progress: progress})
}

// Get downloads the remote file remote into w. The bytes are hashed as they
// arrive and checked against the digest the server sends after them; Get
// fails with an error wrapping ErrChecksum when they do not match, and
// stops at the first byte beyond the size the server announced. Bytes
// already written to w are not taken back: use GetFile to get a file only
// when it is whole.
func (c *Conn) Get(ctx context.Context, remote string, w io.Writer, progress Progress) error {
	v := &verifier{w: w, progress: progress, want: -1}
	_, err := c.do(ctx, protocol.Request{Verb: "get", Params: map[string]any{"path": remote}}, nil, v, hooks{meta: v.meta, size: -1})
	return err
}

// GetFile downloads remote to the local file localPath, replacing it only
// once the download is whole and verified: the bytes go to a temporary file
// in localPath's folder, renamed into place on success and removed on any
// failure, so a failed GetFile leaves no file behind.
//
// A new file gets mode 0666 less the umask, as any program's would; a file
// replaced keeps its mode.
func (c *Conn) GetFile(ctx context.Context, remote, localPath string, progress Progress) (err error) {
	f, err := createTemp(localPath, 0o666) // the kernel applies the umask
	if errors.Is(err, fs.ErrNotExist) {
		return fmt.Errorf("get %s: no folder %s here", remote, filepath.Dir(localPath))
	}
	if err != nil {
		return fmt.Errorf("get %s: %w", remote, err)
	}
	if fi, serr := os.Stat(localPath); serr == nil && fi.Mode().IsRegular() {
		err = f.Chmod(fi.Mode().Perm()) // what it replaces keeps its mode
	}
	defer func() {
		if err != nil {
			f.Close()
			os.Remove(f.Name())
		}
	}()
	if err != nil {
		return fmt.Errorf("get %s: %w", remote, err)
	}
	if err := c.Get(ctx, remote, f, progress); err != nil {
		return err
	}
	// Sync before rename, or a crash could leave an empty file in place.
	if err := f.Sync(); err != nil {
		return fmt.Errorf("get %s: %w", remote, err)
	}
	if err := f.Close(); err != nil {
		return fmt.Errorf("get %s: %w", remote, err)
	}
	if err := os.Rename(f.Name(), localPath); err != nil {
		return fmt.Errorf("get %s: %w", remote, err)
	}
	return nil
}

// createTemp makes a new hidden file beside path, exclusively, with mode
// less the umask (os.CreateTemp would make it private).
func createTemp(path string, mode os.FileMode) (*os.File, error) {
	for try := 0; ; try++ {
		var rnd [6]byte
		rand.Read(rnd[:])
		name := filepath.Join(filepath.Dir(path), "."+filepath.Base(path)+".part-"+hex.EncodeToString(rnd[:]))
		f, err := os.OpenFile(name, os.O_CREATE|os.O_EXCL|os.O_WRONLY, mode)
		if errors.Is(err, fs.ErrExist) && try < 10 {
			continue
		}
		return f, err
	}
}

// verifier receives a download, counting it against the size the server
// announced (the digest is checked by do).
type verifier struct {
	w        io.Writer
	progress Progress
	want     int64 // announced size, -1 if none
	n        int64
}

func (v *verifier) meta(m map[string]any) error {
	if size, ok := metaInt(m, "size"); ok && size >= 0 {
		v.want = size
	}
	if v.progress != nil {
		v.progress(0, v.want)
	}
	return nil
}

func (v *verifier) Write(p []byte) (int, error) {
	if v.want >= 0 && v.n+int64(len(p)) > v.want {
		return 0, fmt.Errorf("the server sent more than the %d bytes it announced: %w", v.want, ErrChecksum)
	}
	n, err := v.w.Write(p)
	v.n += int64(n)
	if v.progress != nil {
		v.progress(v.n, v.want)
	}
	return n, err
}

// exactReader yields exactly left bytes of r, and an error if r ends sooner:
// the upload then stops with a clear local error instead of a checksum
// complaint from the server.
type exactReader struct {
	r    io.Reader
	left int64
}

func (e *exactReader) Read(p []byte) (int, error) {
	if e.left <= 0 {
		return 0, io.EOF
	}
	if int64(len(p)) > e.left {
		p = p[:e.left]
	}
	n, err := e.r.Read(p)
	e.left -= int64(n)
	if errors.Is(err, io.EOF) && e.left > 0 {
		return n, fmt.Errorf("local data ended %d bytes short of the declared size", e.left)
	}
	if e.left == 0 && errors.Is(err, io.EOF) {
		err = nil
	}
	return n, err
}

// metaInt reads an integer from decoded JSON, which gives float64, or
// json.Number for decoders configured so.
func metaInt(m map[string]any, key string) (int64, bool) {
	switch v := m[key].(type) {
	case float64:
		if v != math.Trunc(v) || v > math.MaxInt64 || v < math.MinInt64 {
			return 0, false
		}
		return int64(v), true
	case json.Number:
		n, err := v.Int64()
		return n, err == nil
	case int64:
		return v, true
	case int:
		return int64(v), true
	}
	return 0, false
}
