package client

import (
	"context"
	"fmt"
	"io"
	"os"
	"strings"
	"time"

	"github.com/selectftp/selectftp/internal/checksum"
	"github.com/selectftp/selectftp/internal/ratelimit"
	"github.com/selectftp/selectftp/protocol"
)

// putFileResumable is PutFileWith for the regular file f (fi), always
// staged resumable on the server (the put param resume), so that any
// interrupted upload can be continued.
func (c *Conn) putFileResumable(ctx context.Context, f *os.File, fi os.FileInfo, localPath, remote string, opts FileOptions) error {
	alg, err := c.algorithm("")
	if err != nil {
		return fmt.Errorf("put: %w", err)
	}
	if opts.Resume {
		from, whole, err := c.putResumeFrom(ctx, f, fi.Size(), localPath, remote, alg, opts)
		if err != nil {
			return err
		}
		if from > 0 {
			err = c.putRange(ctx, f, fi, remote, from, whole, alg, opts)
			if err == nil && opts.Resumed != nil {
				opts.Resumed(from)
			}
			// The server refuses a resume whose partial changed or
			// vanished meanwhile (bad_request), or whose whole file does
			// not match (checksum): once more, from zero.
			if code := Code(err); code != protocol.CodeBadRequest && code != protocol.CodeChecksum {
				return err
			}
			opts.notice(fmt.Sprintf("remote partial upload of %s no longer matches %s; starting again from zero", remote, localPath))
		}
	}
	return c.putRange(ctx, f, fi, remote, 0, "", alg, opts)
}

// putResumeFrom asks the server what it holds of an earlier upload to
// remote (a probe: nothing is written) and returns where this one may go
// on, with the digest of the whole local file to send along: the
// partial's size when the local file starts with the same bytes, else 0
// (after a notice when there was a partial).
func (c *Conn) putResumeFrom(ctx context.Context, f *os.File, size int64, localPath, remote string, alg checksum.Algorithm, opts FileOptions) (int64, string, error) {
	req := putRequest(remote)
	req.Checksum = alg.String()
	req.Params["resume"] = true
	req.Params["probe"] = true
	meta, err := c.do(ctx, req, strings.NewReader(""), nil, hooks{size: 0})
	if err != nil {
		return 0, "", err
	}
	n, _ := metaInt(meta, "partial")
	if n <= 0 {
		return 0, "", nil // nothing to resume: an ordinary upload
	}
	theirs, _ := meta["partial_digest"].(string)
	if n <= size && theirs != "" {
		prefix, whole, err := digestPrefixAndWhole(f, n, size, alg)
		if err != nil {
			return 0, "", fmt.Errorf("put %s: %w", localPath, err)
		}
		if strings.EqualFold(prefix, theirs) {
			return n, whole, nil
		}
	}
	opts.notice(fmt.Sprintf("remote partial upload of %s no longer matches %s; starting again from zero", remote, localPath))
	return 0, "", nil
}

// digestPrefixAndWhole hashes f's first n bytes and all its size bytes in
// one read.
func digestPrefixAndWhole(f *os.File, n, size int64, alg checksum.Algorithm) (string, string, error) {
	prefix, whole := alg.New(), alg.New()
	buf := make([]byte, 1<<20)
	for off := int64(0); off < size; {
		k, err := f.ReadAt(buf[:min(int64(len(buf)), size-off)], off)
		if k == 0 && err != nil {
			return "", "", err
		}
		b := buf[:k]
		whole.Write(b)
		if off < n {
			prefix.Write(b[:min(int64(k), n-off)])
		}
		off += int64(k)
	}
	return alg.Encode(prefix.Sum(nil)), alg.Encode(whole.Sum(nil)), nil
}

// putRange uploads f from byte from on as remote, staged resumable; from
// > 0 continues the server's partial, and whole is then the whole file's
// digest, which the server checks once the file is complete.
func (c *Conn) putRange(ctx context.Context, f *os.File, fi os.FileInfo, remote string, from int64, whole string, alg checksum.Algorithm, opts FileOptions) error {
	size := fi.Size()
	req := putRequest(remote)
	req.Checksum = alg.String()
	req.Params["resume"] = true
	if from > 0 {
		req.Params["offset"] = from
		req.Params["file_digest"] = whole
	}
	if opts.Preserve {
		req.Params["mtime"] = fi.ModTime().UTC().Format(time.RFC3339Nano)
		req.Params["mode"] = fmt.Sprintf("%04o", fi.Mode().Perm())
	}
	if _, err := f.Seek(from, io.SeekStart); err != nil {
		return fmt.Errorf("put: %w", err)
	}
	n := size - from
	h := hooks{size: n, expect: n > expectAbove}
	var body io.Reader = f
	if opts.Rate > 0 {
		// Through a copy: sendfile would move the bytes past the pacing.
		body = &ratelimit.Reader{Ctx: ctx, R: &exactReader{r: f, left: n}, L: ratelimit.New(opts.Rate)}
	} else {
		h.file = f
	}
	if p := opts.Progress; p != nil {
		p(from, size)
		h.sent = func(k int64) { p(from+k, size) }
	}
	meta, err := c.do(ctx, req, body, nil, h)
	if err != nil {
		return err
	}
	// The server reports the whole file's size, resumed or not.
	if got, ok := metaInt(meta, "size"); ok && got != size {
		return fmt.Errorf("put %s: server reports %d bytes stored, the file has %d: %w", remote, got, size, ErrChecksum)
	}
	return nil
}
