package client

import (
	"context"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path"
	"path/filepath"
	"time"

	"github.com/selectftp/selectftp/internal/ratelimit"
)

// FileOptions are what GetFileWith and PutFileWith add to GetFile and
// PutFile: a rate cap and keeping times and modes (the CLI's --limit-rate
// and -p).
type FileOptions struct {
	// Progress may be nil.
	Progress Progress
	// Rate caps the transfer at that many bytes per second (0: no cap),
	// with a token bucket on the body's reads or writes. An upload then
	// goes through a copy, not sendfile, so that the pacing sees each
	// byte; a download stops reading its socket while it waits, so TCP
	// slows the server.
	Rate int64
	// Preserve keeps the modification time and the permission bits (not
	// set-id or sticky bits): a download takes them from Entry, or from
	// a Stat when Entry is nil; an upload sends them as the put params
	// mtime and mode, which the server applies before the file takes its
	// name.
	Preserve bool
	Entry    *Entry
}

// GetFileWith is GetFile with opts. The time and mode are set on the
// temporary file before it takes localPath's name, so a file under that
// name is always whole and already carries them.
func (c *Conn) GetFileWith(ctx context.Context, remote, localPath string, opts FileOptions) (err error) {
	if opts.Rate <= 0 && !opts.Preserve {
		return c.GetFile(ctx, remote, localPath, opts.Progress)
	}
	e := opts.Entry
	if opts.Preserve && e == nil {
		st, err := c.Stat(ctx, remote)
		if err != nil {
			return err
		}
		e = &st
	}
	f, err := createTemp(localPath, 0o666)
	if errors.Is(err, fs.ErrNotExist) {
		return fmt.Errorf("get %s: no folder %s here", remote, filepath.Dir(localPath))
	}
	if err != nil {
		return fmt.Errorf("get %s: %w", remote, err)
	}
	defer func() {
		if err != nil {
			f.Close()
			os.Remove(f.Name())
		}
	}()
	// A new file has 0666 less the umask (createTemp); one replaced keeps
	// its mode, as in GetFile; -p gives the remote file's.
	if e != nil {
		err = f.Chmod(e.Mode.Perm())
	} else if fi, serr := os.Stat(localPath); serr == nil && fi.Mode().IsRegular() {
		err = f.Chmod(fi.Mode().Perm())
	}
	if err != nil {
		return fmt.Errorf("get %s: %w", remote, err)
	}
	var w io.Writer = f
	if opts.Rate > 0 {
		w = &ratelimit.Writer{Ctx: ctx, W: f, L: ratelimit.New(opts.Rate)}
	}
	if err := c.Get(ctx, remote, w, opts.Progress); err != nil {
		return err
	}
	if err := f.Sync(); err != nil {
		return fmt.Errorf("get %s: %w", remote, err)
	}
	if err := f.Close(); err != nil {
		return fmt.Errorf("get %s: %w", remote, err)
	}
	if e != nil && !e.ModTime.IsZero() {
		if err := os.Chtimes(f.Name(), time.Time{}, e.ModTime); err != nil {
			return fmt.Errorf("get %s: %w", remote, err)
		}
	}
	if err := os.Rename(f.Name(), localPath); err != nil {
		return fmt.Errorf("get %s: %w", remote, err)
	}
	return nil
}

// PutFileWith is PutFile with opts.
func (c *Conn) PutFileWith(ctx context.Context, localPath, remote string, opts FileOptions) error {
	if remote == "" {
		remote = filepath.Base(localPath)
	}
	f, err := os.Open(localPath)
	if err != nil {
		return fmt.Errorf("put: %w", err)
	}
	defer f.Close()
	fi, err := f.Stat()
	if err != nil {
		return fmt.Errorf("put: %w", err)
	}
	if !fi.Mode().IsRegular() {
		return fmt.Errorf("put: %s is not a regular file", localPath)
	}
	size := fi.Size()
	req := putRequest(remote)
	if opts.Preserve {
		req.Params["mtime"] = fi.ModTime().UTC().Format(time.RFC3339Nano)
		req.Params["mode"] = fmt.Sprintf("%04o", fi.Mode().Perm())
	}
	h := hooks{size: size, expect: size > expectAbove}
	var body io.Reader = f
	if opts.Rate > 0 {
		// Through a copy: sendfile would move the bytes past the pacing.
		body = &ratelimit.Reader{Ctx: ctx, R: &exactReader{r: f, left: size}, L: ratelimit.New(opts.Rate)}
	} else {
		h.file = f
	}
	if p := opts.Progress; p != nil {
		p(0, size)
		h.sent = func(n int64) { p(n, size) }
	}
	meta, err := c.do(ctx, req, body, nil, h)
	if err != nil {
		return err
	}
	if n, ok := metaInt(meta, "size"); ok && n != size {
		return fmt.Errorf("put %s: server reports %d bytes stored, sent %d: %w", remote, n, size, ErrChecksum)
	}
	return nil
}

// Walk calls fn for every entry under the remote folder dir, hidden ones
// included, a folder before what it holds, each folder's entries sorted.
// It lists one folder at a time (the connection runs one request at a
// time, so fn may not use c). Symbolic links are passed to fn, never
// followed. An error from fn or a listing stops the walk.
func (c *Conn) Walk(ctx context.Context, dir string, fn func(Entry) error) error {
	entries, err := c.List(ctx, ListOptions{All: true}, dir)
	if err != nil {
		return err
	}
	for _, e := range entries {
		if err := fn(e); err != nil {
			return err
		}
		if e.IsDir() {
			// Entry paths are virtual and absolute, so the recursion
			// does not depend on the session's folder.
			sub := e.Path
			if sub == "" {
				sub = path.Join(dir, e.Name)
			}
			if err := c.Walk(ctx, sub, fn); err != nil {
				return err
			}
		}
	}
	return nil
}
