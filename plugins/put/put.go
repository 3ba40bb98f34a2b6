// Package put is the "put" verb of selectftp: the command itself, served as
// a plugin binary by plugin/ and registrable in-process. README.md tells
// how to use it.
package put

import (
	"context"
	"errors"
	"fmt"
	"io/fs"
	"math"
	"os"
	"path"
	"strings"
	"sync/atomic"
	"syscall"
	"time"

	"github.com/hashicorp/go-hclog"

	"github.com/selectftp/selectftp/internal/checksum"
	"github.com/selectftp/selectftp/plugins/internal/digest"
	"github.com/selectftp/selectftp/plugins/internal/params"
	"github.com/selectftp/selectftp/plugins/internal/staging"
	"github.com/selectftp/selectftp/sdk"
)

const putUsage = `usage: put PATH   (body: the file)

Stores the request body as the file PATH under the session root. The file
appears, or replaces the old one, only once the whole body has arrived and
matches the digest the client sent after it (and the size it declared, if
it did): an interrupted, refused or corrupted upload leaves nothing
behind, unless it asked to be resumable. The folder PATH names must
exist. A body of unknown length (a stream) is fine; a declared size lets
the server refuse an upload that cannot fit before a byte is sent.

Parameters:
  path         the file to write (or the first word after put)
  mtime        the modification time to give it (RFC 3339, e.g.
               2024-05-01T12:00:00.5Z); optional
  mode         its permission bits in octal, 0 to 0777 (e.g. 0644);
               optional
  resume       true: an interrupted upload leaves its bytes, hidden,
               for a later put to resume
  offset       with resume: keep that many bytes of the partial upload;
               the body is the file from there on
  file_digest  with resume: the whole file's digest, checked at the end;
               a mismatch removes the partial upload
  probe        with resume and no body: write nothing, answer partial
               (bytes kept) and partial_digest (their digest)
  append       true: the file is the current file's bytes, then the
               body (no file yet: just the body); with offset, only
               the current file's first offset bytes are kept. The old
               file stays whole until the new one is complete

Settings:
  max_size    the largest upload in bytes; 0 (the default) is no limit
  reserve     bytes of the file system no upload may take (default 1%,
              at most 64 MiB)
  max_staged  the most bytes all uploads in progress may declare
              together, written or still to come; 0 (the default) is
              no limit but the free space
  resume_ttl  how long an interrupted resumable upload is kept for its
              resume (default 24h; 0s: forever)

Examples:
  put notes.txt           the file as the body
  put reports/q3.pdf      into an existing folder reports
`

// put serves the "put" verb. Its settings are read atomically and its
// counters lock, so concurrent Run calls are safe. One value serves the
// whole server (one plugin process), so the counters are server-wide.
// put takes operator settings.
var _ sdk.Configurer = (*put)(nil)

type put struct {
	maxSize   atomic.Int64 // 0: no limit
	reserve   atomic.Int64 // <0: the default
	maxStaged atomic.Int64 // 0: no limit; caps the declared total of uploads in progress
	resumeTTL atomic.Int64 // a time.Duration; 0: partial uploads wait forever
	staged    staged
	sweeper   sweeper
}

// New returns the "put" command, to serve as a plugin (see plugin/) or to
// register in-process with host.Server.Register.
func New() sdk.Command {
	p := &put{}
	p.reserve.Store(-1)
	p.resumeTTL.Store(int64(defaultResumeTTL))
	return p
}

func (*put) Describe() sdk.Description {
	return sdk.Description{
		Verb:    "put",
		Summary: "upload a file, kept only when whole and verified",
		Usage:   putUsage,
		Access:  []sdk.Access{{Perm: sdk.PermWrite, Params: []string{"path", "args"}}},
	}
}

type putSettings struct {
	MaxSize   int64          `mapstructure:"max_size"`
	Reserve   *int64         `mapstructure:"reserve"`
	MaxStaged int64          `mapstructure:"max_staged"`
	ResumeTTL *time.Duration `mapstructure:"resume_ttl"`
}

// defaultResumeTTL is how long an interrupted resumable upload waits for
// its resume by default: a day, enough for a client to come back.
const defaultResumeTTL = 24 * time.Hour

// Configure takes the max_size, reserve, max_staged and resume_ttl settings.
func (p *put) Configure(_ context.Context, settings map[string]any) error {
	var s putSettings
	if err := sdk.DecodeSettings(settings, &s); err != nil {
		return err
	}
	if s.MaxSize < 0 {
		return fmt.Errorf("invalid settings: max_size must be 0 (no limit) or more, not %d", s.MaxSize)
	}
	if s.Reserve != nil && *s.Reserve < 0 {
		return fmt.Errorf("invalid settings: reserve must be 0 or more bytes, not %d", *s.Reserve)
	}
	if s.MaxStaged < 0 {
		return fmt.Errorf("invalid settings: max_staged must be 0 (no limit) or more, not %d", s.MaxStaged)
	}
	ttl := defaultResumeTTL
	if s.ResumeTTL != nil {
		if ttl = *s.ResumeTTL; ttl < 0 {
			return fmt.Errorf("invalid settings: resume_ttl must be 0s (forever) or more, not %v", ttl)
		}
	}
	reserve := int64(-1)
	if s.Reserve != nil {
		reserve = *s.Reserve
	}
	p.maxSize.Store(s.MaxSize)
	p.reserve.Store(reserve)
	p.maxStaged.Store(s.MaxStaged)
	p.resumeTTL.Store(int64(ttl))
	return nil
}

type putParams struct {
	Path string   `mapstructure:"path"`
	Args []string `mapstructure:"args"`
	// MTime and Mode are the client's -p: see keep.
	MTime string `mapstructure:"mtime"`
	Mode  string `mapstructure:"mode"`
	// The rest is a resumable upload's: see resume.go.
	resumeParams `mapstructure:",squash"`
	// append extends the current file: see append.go.
	appendParams `mapstructure:",squash"`
}

// upload is one validated put request.
type upload struct {
	name string // as the client gave it, for messages and the metadata
	path string // under the root (Resolve's)
	dir  string // its folder under the root
	base string // its last element
	size int64  // declared; -1: unknown (a stream)
	// hold, if set, is told the staged file, whose blocks past prefix
	// the space check counts as written.
	hold func(f *os.File, prefix int64)
	// keep is the time and mode the client asked the file to have.
	keep kept
	// resume is set for a resumable upload.
	resume *resumption
	// app is set for an append (append.go).
	app *appending
	// change is how the upload changed the user's storage, success or
	// not: the file placed less the one it displaced, and the partial's
	// growth or removal (see usage).
	change usage
}

func (p *put) Run(ctx context.Context, req *sdk.Request, w sdk.ResponseWriter) (err error) {
	u, err := parse(req)
	if err != nil {
		return err
	}
	max := p.maxSize.Load()
	// The whole file's size: a stream (size -1) counts only the partial
	// it keeps here, and is bounded as it arrives.
	total := u.offset()
	if u.size > 0 {
		total += u.size
	}
	if max > 0 && total > max {
		return sdk.Errorf(sdk.CodeTooLarge, "%d bytes is over the upload limit of %d bytes", total, max)
	}
	if req.Root == nil {
		return sdk.Errorf(sdk.CodeInternal, "put: the server gave no root folder (the host gives one only to a verb whose description declares file access: rebuild a plugin older than that)")
	}
	if err := u.check(req.Root); err != nil {
		return err
	}
	if u.app != nil {
		// The kept bytes are part of the file, and staged as a copy.
		u.app.measure(req.Root, u.path)
		if max > 0 && total+u.app.admitted > max {
			return sdk.Errorf(sdk.CodeTooLarge, "%d bytes kept and %d to come is over the upload limit of %d bytes", u.app.admitted, total, max)
		}
	}
	swept := p.sweeper.maybe(req.Root, req.Log, time.Duration(p.resumeTTL.Load()))
	if req.User != nil { // anonymous sessions have no quota to keep
		// A failed upload may have changed the tree too (a partial
		// kept), and a sweep may have freed partials: say so on
		// every outcome; success says it below, before the digest.
		defer func() {
			if c := u.change.plus(swept.drain()); err != nil && c != (usage{}) {
				c.report(w)
			}
		}()
	}
	if u.resume != nil && u.resume.probe {
		return u.probe(ctx, req, w)
	}
	done, err := p.admit(req, u)
	if err != nil {
		return err
	}
	n, sum, err := u.store(ctx, req, max)
	done()
	if err != nil {
		return err
	}
	if err := w.SetMeta("path", u.name); err != nil {
		return err
	}
	if err := w.SetMeta("size", n); err != nil {
		return err
	}
	if req.User != nil {
		c := u.change.plus(swept.drain())
		u.change = usage{} // reported: the deferred report must not repeat it
		if err := c.report(w); err != nil {
			return err
		}
	}
	if sum.Algorithm == "" {
		return nil // an append that kept bytes: see appendedFile
	}
	return w.SetMeta(sum.Algorithm, sum.String())
}

// admit counts the upload against the free space and max_staged, or
// refuses it before any byte is read. The returned func ends its count.
func (p *put) admit(req *sdk.Request, u *upload) (func(), error) {
	p.staged.refresh() // before statfs: see refresh
	sp, err := spaceOf(req.Root, u.dir)
	if err != nil {
		return nil, err
	}
	size := max(u.size, 0)
	if u.app != nil {
		size += u.app.admitted // copied into the staged file, counted with the body
	}
	e, err := p.staged.admit(size, limits{maxStaged: p.maxStaged.Load(), reserve: p.reserve.Load(), space: sp})
	if err != nil {
		return nil, err
	}
	u.hold = func(f *os.File, prefix int64) { e.prefix.Store(prefix); e.hold(f) }
	log := req.Log
	if log == nil {
		log = hclog.NewNullLogger()
	}
	n, b, c := p.staged.Stats()
	log.Debug("upload started", "path", u.path, "size", u.size, "uploads", n, "staged_bytes", b, "to_come", c)
	return func() {
		e.end()
		n, b, c := p.staged.Stats()
		log.Debug("upload ended", "path", u.path, "size", u.size, "uploads", n, "staged_bytes", b, "to_come", c)
	}, nil
}

// parse decodes and validates the parameters.
func parse(req *sdk.Request) (*upload, error) {
	var p putParams
	if err := req.Decode(&p); err != nil {
		return nil, err
	}
	name, err := params.Path("put", p.Path, p.Args)
	if err != nil {
		return nil, err
	}
	switch {
	case strings.ContainsRune(name, 0):
		return nil, sdk.Errorf(sdk.CodeBadRequest, "the path contains a NUL byte")
	case strings.HasSuffix(name, "/"):
		return nil, sdk.Errorf(sdk.CodeBadRequest, "%s names a folder, not a file", name)
	}
	if _, base := path.Split(name); base == "." || base == ".." {
		return nil, sdk.Errorf(sdk.CodeBadRequest, "%s names a folder, not a file", name)
	}
	// Virtual: "/x" is the top of the tree, relative paths follow cd, ..
	// stops at the top, control characters are refused (never stored).
	rel, err := req.Resolve(name)
	if err != nil {
		return nil, err
	}
	if err := staging.Check(rel); err != nil {
		return nil, err
	}
	if rel == "." {
		return nil, sdk.Errorf(sdk.CodeBadRequest, "%s names a folder, not a file", name)
	}
	dir, base := path.Split(rel)
	if dir = strings.TrimRight(dir, "/"); dir == "" {
		dir = "."
	}
	size := req.BodySize
	if size < 0 || req.Body == nil {
		size = -1
	}
	k, err := parseKept(p.MTime, p.Mode)
	if err != nil {
		return nil, err
	}
	ap, rp, err := parseAppend(p.appendParams, p.resumeParams)
	if err != nil {
		return nil, err
	}
	r, err := parseResume(rp, req)
	if err != nil {
		return nil, err
	}
	return &upload{name: name, path: rel, dir: dir, base: base, size: size, keep: k, resume: r, app: ap}, nil
}

// check refuses a target whose folder is missing or that is a folder,
// before any byte of the body is read. Paths that leave the root fail here
// with the root's permission error.
func (u *upload) check(root *os.Root) error {
	fi, err := root.Stat(u.dir)
	switch {
	case errors.Is(err, fs.ErrNotExist):
		return sdk.Errorf(sdk.CodeNotFound, "no folder %s for %s", u.dir, u.name)
	case errors.Is(err, syscall.ENOTDIR):
		return sdk.Errorf(sdk.CodeBadRequest, "%s is not a folder", u.dir)
	case errors.Is(err, fs.ErrPermission):
		return sdk.Errorf(sdk.CodePermission, "%s: permission denied", u.name)
	case sdk.CodeOf(err) == sdk.CodePermission:
		// Name the path the client gave, not its folder ("/" for "/x").
		return sdk.Errorf(sdk.CodePermission, "%s: path escapes the root", u.name)
	case err != nil:
		return err
	case !fi.IsDir():
		return sdk.Errorf(sdk.CodeBadRequest, "%s is not a folder", u.dir)
	}
	fi, err = root.Stat(u.path)
	switch {
	case err == nil && fi.IsDir():
		return sdk.Errorf(sdk.CodeBadRequest, "%s is a directory", u.name)
	case err != nil && !errors.Is(err, fs.ErrNotExist):
		return err
	}
	return nil
}

// store writes the body to a staging file next to the target, makes it
// durable and gives it its name once the host has verified it. Whatever
// goes wrong, the staging file goes away (see stage). maxSize (0: none)
// bounds a body of unknown length. It returns the size and digest stored.
func (u *upload) store(ctx context.Context, req *sdk.Request, maxSize int64) (int64, sdk.Digest, error) {
	n, sum, err := u.write(ctx, req, maxSize)
	return n, sum, err
}

func (u *upload) write(ctx context.Context, req *sdk.Request, maxSize int64) (int64, sdk.Digest, error) {
	var failed error
	fail := func(err error) (int64, sdk.Digest, error) { failed = err; return 0, sdk.Digest{}, err }
	root := req.Root
	st, err := u.openStage(root)
	if err != nil {
		return 0, sdk.Digest{}, err
	}
	committed := false
	defer func() {
		if !committed {
			abandon(st, failed)
		}
		if r, ok := st.(*resumeStage); ok {
			u.change = u.change.plus(r.partialChange())
		}
	}()
	f := st.file()
	off := u.offset()
	if u.app != nil {
		if err := u.copyPrefix(ctx, root, f); err != nil {
			return fail(err)
		}
		off = u.app.prefix
		if u.app.src != nil {
			st.expect(u.app.src)
		}
	}
	if u.hold != nil {
		held := off // a resumed partial was on disk before: not admitted
		if u.app != nil {
			held = 0 // an append's copy was admitted with the body
		}
		u.hold(f, held)
	}

	limit := int64(-1)
	if maxSize > 0 {
		if off > maxSize {
			// Checked here too: the limit below would go negative,
			// which SaveBody reads as none.
			return fail(sdk.Errorf(sdk.CodeTooLarge, "%d bytes kept is over the upload limit of %d bytes", off, maxSize))
		}
		// What is left of the limit past the partial kept, and one byte
		// more, which tells a longer body from an exact one.
		limit = maxSize - off + 1
		if maxSize == math.MaxInt64 {
			limit = maxSize - off
		}
	}
	// SaveBody is the fast path: over the plugin boundary the host writes
	// the upload into f itself and hashes it on the way; it returns only
	// once the host has checked the client's digest (and declared size).
	n, got, err := sdk.SaveBody(req, f, limit)
	if err != nil {
		if sdk.CodeOf(err) == sdk.CodeNoSpace || sdk.CodeOf(err) == sdk.CodeChecksum {
			return fail(err)
		}
		return fail(interrupted(ctx, err))
	}
	if maxSize > 0 && off+n > maxSize {
		return fail(sdk.Errorf(sdk.CodeTooLarge, "the upload is over the limit of %d bytes", maxSize))
	}
	if u.app != nil {
		n, got = u.appendedFile(n, got)
	} else if n, got, err = u.wholeFile(ctx, st, n, got); err != nil {
		return fail(err)
	}
	if err := keepMode(root, u.path, f); err != nil {
		return fail(err)
	}
	if err := u.keep.apply(f); err != nil {
		return fail(err)
	}
	if alg, err := checksum.Parse(got.Algorithm); err == nil {
		if fi, err := f.Stat(); err == nil {
			digest.Record(alg, f, fi, got.Sum) // get will not need to read it to hash it
		}
	}
	// Syncing gigabytes of dirty pages can take longer than the host's
	// request deadline, with no byte moving: say that we are working.
	stop := sdk.Working(ctx)
	err = f.Sync()
	stop()
	if err != nil {
		return fail(err)
	}
	if err := ctx.Err(); err != nil {
		return fail(err)
	}
	if testHookPlace != nil {
		testHookPlace(u.path)
	}
	// The file displaced is measured as it leaves the name (placeOver),
	// not looked up before: a rm or put of the name in between would
	// count its removal twice.
	pl, err := st.commit()
	u.change = u.change.plus(placed(n, pl))
	if err != nil {
		return fail(err)
	}
	committed = true
	return n, got, nil
}

// testHookPlace, set by tests only, runs just before an upload takes its
// name, to let a test act out a race there.
var testHookPlace func(path string)

// keepMode gives the staged file the permission bits of the regular file
// it replaces, so an overwrite never widens (or narrows) who may read it.
// Set-id and sticky bits are not carried over to new content. A new file
// keeps the mode it was created with.
func keepMode(root *os.Root, path string, f *os.File) error {
	old, err := root.Lstat(path)
	if err != nil || !old.Mode().IsRegular() {
		return nil // nothing to keep, or not a file of ours to copy
	}
	return f.Chmod(old.Mode().Perm())
}

// interrupted is the error for a body that failed before its end: the
// client went away or the request was cancelled, not a checksum problem.
func interrupted(ctx context.Context, err error) error {
	if ctx.Err() != nil {
		return ctx.Err()
	}
	switch sdk.CodeOf(err) {
	case sdk.CodeInternal, sdk.CodeOK:
		return sdk.Errorf(sdk.CodeCanceled, "the upload was interrupted: %w", err)
	}
	return err
}
