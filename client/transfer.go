package client

import (
	"context"
	"crypto/rand"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"hash"
	"io"
	"io/fs"
	"math"
	"os"
	"path/filepath"
	"strings"

	"github.com/selectftp/selectftp/internal/ctxio"
	"github.com/selectftp/selectftp/protocol"
)

// Progress reports a transfer's progress: done bytes of total so far. It is
// called once with done = 0 when the size is known and then after every
// piece, possibly from another goroutine but never concurrently with itself.
type Progress func(done, total int64)

// Put uploads size bytes read from r as the remote file remote. sha256hex is
// the SHA-256 of those bytes in hex; the server verifies both before it
// keeps the file. progress may be nil.
func (c *Conn) Put(ctx context.Context, r io.Reader, size int64, sha256hex, remote string, progress Progress) error {
	if size < 0 {
		return fmt.Errorf("put %s: negative size %d", remote, size)
	}
	sum, err := parseSHA256(sha256hex)
	if err != nil {
		return fmt.Errorf("put %s: %w", remote, err)
	}
	req := putRequest(remote, size, sum)
	if progress != nil {
		progress(0, size)
	}
	h := hooks{sent: func(n int64) {
		if progress != nil {
			progress(n, size)
		}
	}}
	var body io.Reader = &exactReader{r: r, left: size}
	if c.cfg.oneFrame {
		// The caller's reader as is, so that a file goes by sendfile.
		body, h.size, h.oneFrame = r, size, true
	}
	meta, err := c.do(ctx, req, body, nil, h)
	if err != nil {
		return err
	}
	// The server verified the bytes; a stored file that differs from what
	// was declared would be a server bug worth reporting loudly.
	if meta != nil {
		if n, ok := metaInt(meta, "size"); ok && n != size {
			return fmt.Errorf("put %s: server reports %d bytes stored, sent %d: %w", remote, n, size, ErrChecksum)
		}
		if s, ok := meta["sha256"].(string); ok && !strings.EqualFold(s, sum) {
			return fmt.Errorf("put %s: server reports SHA-256 %s, sent %s: %w", remote, s, sum, ErrChecksum)
		}
	}
	return nil
}

func putRequest(remote string, size int64, sum string) protocol.Request {
	return protocol.Request{Verb: "put", Params: map[string]any{"path": remote, "size": size, "sha256": sum}}
}

// PutFile uploads the local file localPath as remote (localPath's base name
// when remote is ""). It reads the file twice: once to compute the size and
// SHA-256 the protocol declares up front, once to send it.
func (c *Conn) PutFile(ctx context.Context, localPath, remote string, progress Progress) error {
	if remote == "" {
		remote = filepath.Base(localPath)
	}
	f, err := os.Open(localPath)
	if err != nil {
		return fmt.Errorf("put: %w", err)
	}
	defer f.Close()
	if fi, err := f.Stat(); err != nil {
		return fmt.Errorf("put: %w", err)
	} else if !fi.Mode().IsRegular() {
		return fmt.Errorf("put: %s is not a regular file", localPath)
	}
	size, sum, err := HashReader(ctx, f)
	if err != nil {
		return fmt.Errorf("put: hash %s: %w", localPath, err)
	}
	if _, err := f.Seek(0, io.SeekStart); err != nil {
		return fmt.Errorf("put: %w", err)
	}
	return c.Put(ctx, f, size, sum, remote, progress)
}

// HashReader reads r to its end and returns its length and hex SHA-256,
// stopping early when ctx is done.
func HashReader(ctx context.Context, r io.Reader) (size int64, sha256hex string, err error) {
	h := sha256.New()
	size, err = io.Copy(h, ctxio.Reader{Ctx: ctx, R: r})
	if err != nil {
		return 0, "", err
	}
	return size, hex.EncodeToString(h.Sum(nil)), nil
}

// Get downloads the remote file remote into w. The server declares the
// size and SHA-256 before the bytes; Get stops at the first byte beyond the
// declared size and, after the last one, fails with an error wrapping
// ErrChecksum when either does not match. Bytes already written to w are
// not taken back: use GetFile to get a file only when it is whole.
func (c *Conn) Get(ctx context.Context, remote string, w io.Writer, progress Progress) error {
	v := &verifier{w: w, h: sha256.New(), progress: progress, want: -1}
	_, err := c.do(ctx, protocol.Request{Verb: "get", Params: map[string]any{"path": remote}}, nil, v, hooks{meta: v.meta})
	if err != nil {
		return err
	}
	if v.want < 0 {
		return fmt.Errorf("get %s: the server sent no size and SHA-256", remote)
	}
	if v.n != v.want {
		return fmt.Errorf("get %s: received %d bytes, the server declared %d: %w", remote, v.n, v.want, ErrChecksum)
	}
	if got := hex.EncodeToString(v.h.Sum(nil)); got != v.sum {
		return fmt.Errorf("get %s: received bytes have SHA-256 %s, the server declared %s: %w", remote, got, v.sum, ErrChecksum)
	}
	return nil
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

// verifier receives a download, hashing and counting it.
type verifier struct {
	w        io.Writer
	h        hash.Hash
	progress Progress
	want     int64 // declared size, -1 until the metadata arrived
	sum      string
	n        int64
}

func (v *verifier) meta(m map[string]any) error {
	size, ok := metaInt(m, "size")
	if !ok || size < 0 {
		return fmt.Errorf("the server sent no valid size (meta %v)", m)
	}
	s, _ := m["sha256"].(string)
	sum, err := parseSHA256(s)
	if err != nil {
		return fmt.Errorf("the server sent no valid sha256: %w", err)
	}
	v.want, v.sum = size, sum
	if v.progress != nil {
		v.progress(0, size)
	}
	return nil
}

func (v *verifier) Write(p []byte) (int, error) {
	if v.want < 0 {
		return 0, errors.New("the server sent data before its size and SHA-256")
	}
	if v.n+int64(len(p)) > v.want {
		return 0, fmt.Errorf("the server sent more than the %d bytes it declared: %w", v.want, ErrChecksum)
	}
	n, err := v.w.Write(p)
	v.h.Write(p[:n])
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

func parseSHA256(s string) (string, error) {
	b, err := hex.DecodeString(s)
	if err != nil || len(b) != sha256.Size {
		return "", fmt.Errorf("invalid SHA-256 %q: want %d hex digits", s, 2*sha256.Size)
	}
	return hex.EncodeToString(b), nil
}
