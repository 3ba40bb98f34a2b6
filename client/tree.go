package client

import (
	"context"
	"fmt"
	"os"
	"path"
	"path/filepath"
)

// FileOptions are what GetFileWith and PutFileWith add to GetFile and
// PutFile: a rate cap, keeping times and modes, and resuming (the CLI's
// --limit-rate, -p and -c).
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
	// Resume continues an interrupted transfer (get -c, put -c): only
	// the missing bytes travel, the whole file is verified at the end,
	// and a part that no longer matches is started again from zero.
	Resume bool
	// Notice, when set, is told what a user should know that is not a
	// failure, such as a resume starting again from zero.
	Notice func(msg string)
	// Resumed, when set, is called with the byte a transfer resumed
	// from, once it succeeded that way.
	Resumed func(from int64)
}

// GetFileWith is GetFile with opts, downloading into a part file beside
// localPath (".NAME.selectftp-part", locked while in use) that takes
// localPath's name once the file is whole, verified, and carries its time
// and mode. A download that stops on the way (ctx, the connection) keeps
// its part and returns a *PartialError; any other failure removes it.
// When another download holds the part, this one goes to a temporary file
// of its own, which is never kept.
//
// With opts.Resume, an existing part is continued: when its digest equals
// that of the remote file's first as many bytes (the sum verb, so only
// two digests travel), only the rest is downloaded, and the whole file's
// digest must then match the server's. A part that does not match, at
// either check, is dropped with a Notice and the file downloaded whole.
func (c *Conn) GetFileWith(ctx context.Context, remote, localPath string, opts FileOptions) error {
	return c.getFileResumable(ctx, remote, localPath, opts)
}

// PutFileWith is PutFile with opts. The upload is staged resumable on the
// server, so that one interrupted may be continued: with opts.Resume, the
// server's partial upload is probed, and when the local file starts with
// the same bytes only the rest is sent, with the whole file's digest,
// which the server checks before the file takes its name. A partial that
// does not match, or a resume the server refuses, starts again from zero
// after a Notice.
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
	return c.putFileResumable(ctx, f, fi, localPath, remote, opts)
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
