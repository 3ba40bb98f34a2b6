package client

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"net"
	"os"
	"path/filepath"
	"strings"
	"syscall"
	"time"

	"github.com/selectftp/selectftp/internal/checksum"
	"github.com/selectftp/selectftp/internal/ratelimit"
	"github.com/selectftp/selectftp/protocol"
)

// PartialError is a download that stopped on the way (canceled, the
// connection lost) with what arrived kept in the part file Part, which
// GetFileWith with Resume continues. Its text is the cause's.
type PartialError struct {
	Part string
	Size int64 // bytes in Part
	Err  error
}

func (e *PartialError) Error() string { return e.Err.Error() }

// Unwrap returns the cause, so that errors.Is and Code see through.
func (e *PartialError) Unwrap() error { return e.Err }

// partSuffix ends a resumable download's part file name.
const partSuffix = ".selectftp-part"

// partName is the part file of a download to localPath: the same for
// every run, so that the next one finds it, and hidden beside the target.
func partName(localPath string) string {
	base := filepath.Base(localPath)
	name := "." + base + partSuffix
	if len(name) > 255 {
		sum := sha256.Sum256([]byte(base))
		name = partSuffix + "-" + hex.EncodeToString(sum[:16])
	}
	return filepath.Join(filepath.Dir(localPath), name)
}

// part is the file a download writes before it takes the target's name.
type part struct {
	f         *os.File
	resumable bool  // f is the locked part file, kept when interrupted
	size      int64 // its size when opened
}

// openPart opens (or makes) localPath's part file and locks it. When it is
// locked by another download, is not a plain file, or cannot be opened,
// the download goes to a temporary file of its own, not resumable.
func openPart(localPath string) (*part, error) {
	name := partName(localPath)
	for range 3 {
		f, err := os.OpenFile(name, os.O_RDWR|os.O_CREATE|noFollow, 0o666)
		if errors.Is(err, fs.ErrNotExist) {
			return nil, err // no such folder
		}
		if err != nil {
			break
		}
		fi, err := f.Stat()
		if err != nil || !fi.Mode().IsRegular() || lockPart(f) != nil {
			f.Close()
			break
		}
		// The name may have moved on while we waited for the lock: the
		// download holding it renamed it onto its target, or removed it.
		if li, err := os.Lstat(name); err != nil || !os.SameFile(fi, li) {
			f.Close()
			continue
		}
		return &part{f: f, resumable: true, size: fi.Size()}, nil
	}
	f, err := createTemp(localPath, 0o666)
	if err != nil {
		return nil, err
	}
	return &part{f: f}, nil
}

// interrupted tells a download that stopped on the way, whose bytes are
// worth keeping, from one that failed (a checksum, a refusal, a full
// disk), whose part is removed.
func interrupted(err error) bool {
	var oe *net.OpError
	switch {
	case errors.Is(err, context.Canceled), errors.Is(err, context.DeadlineExceeded),
		errors.Is(err, ErrClosed), errors.As(err, &oe), errors.Is(err, io.ErrUnexpectedEOF),
		errors.Is(err, syscall.ECONNRESET), errors.Is(err, syscall.EPIPE):
		return true
	}
	switch Code(err) {
	case protocol.CodeTimeout, protocol.CodeShuttingDown, protocol.CodeCanceled, protocol.CodeUnavailable:
		return true
	}
	return false
}

func (o FileOptions) notice(msg string) {
	if o.Notice != nil {
		o.Notice(msg)
	}
}

// getFileResumable is GetFileWith: see there.
func (c *Conn) getFileResumable(ctx context.Context, remote, localPath string, opts FileOptions) (err error) {
	e := opts.Entry
	if opts.Preserve && e == nil {
		st, err := c.Stat(ctx, remote)
		if err != nil {
			return err
		}
		e = &st
	}
	alg, err := c.algorithm("")
	if err != nil {
		return fmt.Errorf("get %s: %w", remote, err)
	}
	p, err := openPart(localPath)
	if errors.Is(err, fs.ErrNotExist) {
		return fmt.Errorf("get %s: no folder %s here", remote, filepath.Dir(localPath))
	}
	if err != nil {
		return fmt.Errorf("get %s: %w", remote, err)
	}
	defer func() {
		if err == nil {
			return
		}
		if p.resumable && interrupted(err) {
			fi, serr := p.f.Stat()
			p.f.Close()
			if serr == nil && fi.Size() > 0 {
				err = &PartialError{Part: p.f.Name(), Size: fi.Size(), Err: err}
				return
			}
		}
		os.Remove(p.f.Name())
		p.f.Close() // after the removal: the lock keeps others off the name
	}()
	var from int64
	if opts.Resume && p.resumable && p.size > 0 {
		if from, err = c.getResumeFrom(ctx, remote, localPath, p, alg, opts); err != nil {
			return err
		}
	}
	for {
		if err := p.f.Truncate(from); err != nil {
			return fmt.Errorf("get %s: %w", remote, err)
		}
		if _, err := p.f.Seek(from, io.SeekStart); err != nil {
			return fmt.Errorf("get %s: %w", remote, err)
		}
		if err := c.getRange(ctx, remote, p.f, from, opts); err != nil {
			return err
		}
		if from == 0 {
			break // the download's own digest covered every byte
		}
		same, err := c.sameWhole(ctx, remote, p.f, alg)
		if err != nil {
			return err
		}
		if same {
			if opts.Resumed != nil {
				opts.Resumed(from)
			}
			break
		}
		opts.notice(fmt.Sprintf("local part of %s no longer matches %s; starting again from zero", localPath, remote))
		from = 0
	}
	// Sync before rename, or a crash could leave an empty file in place.
	if err := p.f.Sync(); err != nil {
		return fmt.Errorf("get %s: %w", remote, err)
	}
	// A new file has 0666 less the umask; one replaced keeps its mode;
	// -p gives the remote file's.
	if e != nil {
		err = p.f.Chmod(e.Mode.Perm())
	} else if fi, serr := os.Stat(localPath); serr == nil && fi.Mode().IsRegular() {
		err = p.f.Chmod(fi.Mode().Perm())
	}
	if err != nil {
		return fmt.Errorf("get %s: %w", remote, err)
	}
	if e != nil && !e.ModTime.IsZero() {
		if err := os.Chtimes(p.f.Name(), time.Time{}, e.ModTime); err != nil {
			return fmt.Errorf("get %s: %w", remote, err)
		}
	}
	// Renamed while still locked, so no other download takes the name
	// in between; closed after.
	if err := os.Rename(p.f.Name(), localPath); err != nil {
		return fmt.Errorf("get %s: %w", remote, err)
	}
	if err := p.f.Close(); err != nil {
		return fmt.Errorf("get %s: %w", remote, err)
	}
	return nil
}

// getResumeFrom returns where a download into the part p may go on: its
// size when the remote file's first bytes have the same digest, else 0
// after a notice. The bytes are compared where they lie, by digest, so
// nothing but two digests travels.
func (c *Conn) getResumeFrom(ctx context.Context, remote, localPath string, p *part, alg checksum.Algorithm, opts FileOptions) (int64, error) {
	mismatch := func() (int64, error) {
		opts.notice(fmt.Sprintf("local part of %s no longer matches %s; starting again from zero", localPath, remote))
		return 0, nil
	}
	theirs, err := c.sumLength(ctx, remote, p.size, alg)
	if Code(err) == protocol.CodeBadRequest {
		return mismatch() // the remote file is shorter than the part
	}
	if err != nil {
		return 0, err
	}
	ours, err := digestRange(p.f, p.size, alg)
	if err != nil {
		return 0, fmt.Errorf("get %s: %w", remote, err)
	}
	if !strings.EqualFold(ours, theirs) {
		return mismatch()
	}
	return p.size, nil
}

// sameWhole reports whether f, whole, has the remote file's digest.
func (c *Conn) sameWhole(ctx context.Context, remote string, f *os.File, alg checksum.Algorithm) (bool, error) {
	fi, err := f.Stat()
	if err != nil {
		return false, fmt.Errorf("get %s: %w", remote, err)
	}
	ours, err := digestRange(f, fi.Size(), alg)
	if err != nil {
		return false, fmt.Errorf("get %s: %w", remote, err)
	}
	sums, err := c.Sum(ctx, alg.String(), remote)
	if err != nil {
		return false, err
	}
	if len(sums) != 1 {
		return false, fmt.Errorf("get %s: the server sent %d digests for one file", remote, len(sums))
	}
	return strings.EqualFold(ours, sums[0].Digest), nil
}

// sumLength is the remote file's digest over its first n bytes (the sum
// verb's length param).
func (c *Conn) sumLength(ctx context.Context, remote string, n int64, alg checksum.Algorithm) (string, error) {
	req := fileRequest("sum", []string{remote})
	req.Params = map[string]any{"checksum": alg.String(), "length": n}
	var digest string
	lines := 0
	lw := &lineWriter{max: maxEntryLine, fn: func(line []byte) error {
		d, _, ok := strings.Cut(string(line), "  ")
		if lines++; !ok || lines > 1 || d == "" || strings.Trim(d, "0123456789abcdef") != "" {
			return fmt.Errorf("the server's answer is not one digest: %q", clip(line))
		}
		digest = d
		return nil
	}}
	if _, err := c.Do(ctx, req, nil, lw); err != nil {
		return "", err
	}
	if err := lw.flush(); err != nil {
		return "", err
	}
	if digest == "" {
		return "", fmt.Errorf("sum %s: the server sent no digest", remote)
	}
	return digest, nil
}

// digestRange is the digest of f's first n bytes.
func digestRange(f *os.File, n int64, alg checksum.Algorithm) (string, error) {
	h := alg.New()
	if err := checksum.HashRange(h, f, 0, n); err != nil {
		return "", err
	}
	return alg.Encode(h.Sum(nil)), nil
}

// getRange downloads remote from byte from on into f, at its offset.
func (c *Conn) getRange(ctx context.Context, remote string, f *os.File, from int64, opts FileOptions) error {
	var w io.Writer = f
	if opts.Rate > 0 {
		w = &ratelimit.Writer{Ctx: ctx, W: f, L: ratelimit.New(opts.Rate)}
	}
	v := &rangeVerifier{verifier: verifier{w: w, progress: opts.Progress, want: -1}, from: from}
	req := protocol.Request{Verb: "get", Params: map[string]any{"path": remote}}
	if from > 0 {
		req.Params["offset"] = from
	}
	_, err := c.do(ctx, req, nil, v, hooks{meta: v.meta, size: -1})
	return err
}

// rangeVerifier is verifier for a download from an offset: the server's
// size is the whole file's, the body its tail, and progress counts the
// bytes already here.
type rangeVerifier struct {
	verifier
	from int64
}

func (v *rangeVerifier) meta(m map[string]any) error {
	size, ok := metaInt(m, "size")
	if v.from > 0 {
		// A server that ignored the offset would send the file from its
		// start, which must not be appended at from.
		if off, _ := metaInt(m, "offset"); off != v.from {
			return fmt.Errorf("the server did not resume at byte %d (it cannot resume downloads)", v.from)
		}
		if !ok || size < v.from {
			return fmt.Errorf("the remote file (%d bytes) is shorter than the %d bytes here: %w", size, v.from, ErrChecksum)
		}
	}
	if ok && size >= 0 {
		v.want = size - v.from
	}
	if p := v.progress; p != nil {
		v.progress = func(done, total int64) {
			if total >= 0 {
				total += v.from
			}
			p(v.from+done, total)
		}
	}
	return v.verifier.meta(nil)
}

func (v *rangeVerifier) Write(b []byte) (int, error) { return v.verifier.Write(b) }
