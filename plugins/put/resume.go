package put

import (
	"bytes"
	"context"
	"errors"
	"io"
	"io/fs"
	"os"
	"syscall"

	"github.com/selectftp/selectftp/internal/checksum"
	"github.com/selectftp/selectftp/plugins/internal/staging"
	"github.com/selectftp/selectftp/protocol"
	"github.com/selectftp/selectftp/sdk"
)

// resumeParams are a resumable upload's parameters (see putUsage).
type resumeParams struct {
	Resume     bool   `mapstructure:"resume"`
	Offset     int64  `mapstructure:"offset"`
	FileDigest string `mapstructure:"file_digest"`
	Probe      bool   `mapstructure:"probe"`
}

// resumption is a validated resumable upload: staged under the target's
// resumable name, so that what an interrupted one wrote waits for the
// next.
type resumption struct {
	offset int64  // the partial's bytes kept; the body is the file from here
	whole  []byte // the whole file's digest, if the client sent it
	probe  bool   // only say what the partial holds
}

// parseResume validates the resume params: all but resume itself need it,
// and a bad one is refused before any byte of the body is read.
func parseResume(p resumeParams, req *sdk.Request) (*resumption, error) {
	if !p.Resume {
		if p.Offset != 0 || p.FileDigest != "" || p.Probe {
			return nil, sdk.Errorf(sdk.CodeBadRequest, "offset, file_digest and probe go only with resume")
		}
		return nil, nil
	}
	r := &resumption{offset: p.Offset, probe: p.Probe}
	if p.Offset < 0 {
		return nil, sdk.Errorf(sdk.CodeBadRequest, "offset %d: must be 0 or more", p.Offset)
	}
	if p.Probe && req.BodySize > 0 {
		return nil, sdk.Errorf(sdk.CodeBadRequest, "a probe takes no body")
	}
	if p.FileDigest != "" {
		alg, err := checksum.Parse(req.Checksum)
		if err != nil {
			return nil, sdk.Errorf(sdk.CodeBadRequest, "unknown checksum %q", req.Checksum)
		}
		if r.whole, err = alg.Decode(p.FileDigest); err != nil {
			return nil, sdk.Errorf(sdk.CodeBadRequest, "file_digest: %v", err)
		}
	}
	return r, nil
}

// offset is where the body starts in the file: past the partial kept.
func (u *upload) offset() int64 {
	if u.resume == nil {
		return 0
	}
	return u.resume.offset
}

// errHeldPartial means a live upload (or a sweep) holds the partial.
var errHeldPartial = errors.New("put: the partial upload is held")

// resumeStage is a resumable upload's staged file, under the target's
// resumable staging name and held (staging.Hold) while the upload runs.
// Unlike the other stages, it keeps what a failed upload may resume from.
type resumeStage struct {
	root      *os.Root
	f         *os.File
	tmp, dir  string
	base      string
	offset    int64
	cause     error   // why the upload failed, set before abort
	wrongFile bool    // the whole file did not match file_digest
	renamed   bool    // f is the target's now: abort must not touch it
	want      *fileID // see stage.expect
	// before is the partial as the user's usage counted it when this
	// upload took it (nothing if it made it); after, what is left of it
	// once the upload ended: see partialChange.
	before, after usage
}

// newResumeStage opens the target's partial, held, truncated to offset and
// positioned there; with offset 0 it creates it if missing. A partial held
// by another is errHeldPartial; one shorter than offset is bad_request.
func newResumeStage(root *os.Root, u *upload) (*resumeStage, error) {
	tmp := u.dir + "/" + staging.ResumeName(u.base)
	f, created, err := holdPartial(root, tmp, u.resume.offset == 0)
	if errors.Is(err, fs.ErrNotExist) && u.resume.offset > 0 {
		return nil, noPartial(u)
	}
	if err != nil {
		return nil, err
	}
	var before usage
	fi, err := f.Stat()
	if err == nil && !created {
		before = usage{bytes: fi.Size(), files: 1}
	}
	if err == nil && fi.Size() < u.resume.offset {
		err = noPartial(u)
	}
	if err == nil {
		err = f.Truncate(u.resume.offset)
	}
	if err == nil {
		_, err = f.Seek(u.resume.offset, io.SeekStart)
	}
	if err != nil {
		f.Close()
		return nil, err
	}
	return &resumeStage{root: root, f: f, tmp: tmp, dir: u.dir, base: u.base, offset: u.resume.offset, before: before}, nil
}

func noPartial(u *upload) error {
	return sdk.Errorf(sdk.CodeBadRequest, "no partial upload of %s has %d bytes; start again from zero", u.name, u.resume.offset)
}

// holdPartial opens the regular file at p for writing (creating it if
// create, and then saying whether it did) and holds it. A sweep may
// remove the file between the open and the Hold: the name must still be
// the file held, else it tries again.
func holdPartial(root *os.Root, p string, create bool) (f *os.File, created bool, err error) {
	flags := os.O_RDWR | syscall.O_NOFOLLOW | syscall.O_NONBLOCK
	for try := 0; ; try++ {
		f, err := root.OpenFile(p, flags, 0o644)
		created = false
		if errors.Is(err, fs.ErrNotExist) && create {
			// Exclusive, so that the partial counts in the usage as
			// new only for the upload that made it.
			f, err = root.OpenFile(p, flags|os.O_CREATE|os.O_EXCL, 0o644)
			created = err == nil
			if errors.Is(err, fs.ErrExist) && try < 3 {
				continue // another upload made it meanwhile
			}
		}
		if err != nil {
			return nil, false, err
		}
		fi, err := f.Stat()
		if err == nil && !fi.Mode().IsRegular() {
			err = sdk.Errorf(sdk.CodeInternal, "put: a staging file is not a regular file")
		}
		if err == nil {
			if err = staging.Hold(f); errors.Is(err, staging.ErrHeld) {
				err = errHeldPartial
			}
		}
		if err != nil {
			f.Close()
			return nil, false, err
		}
		if lfi, err := root.Lstat(p); err == nil && os.SameFile(fi, lfi) {
			return f, created, nil
		}
		f.Close()
		if try == 3 {
			return nil, false, errHeldPartial
		}
	}
}

func (s *resumeStage) file() *os.File { return s.f }

func (s *resumeStage) expect(id *fileID) { s.want = id }

// commit renames the partial onto the target while still holding it, so
// no sweep can take it between the two, then lets go. It first moves the
// partial to a fresh staging name of its own: placeOver leaves the file it
// displaces under the name it placed from, and the partial's name is one
// that another put of the same file would open. The folder is opened
// before the rename and synced by that descriptor: looking its path up
// again after the rename could fail (the folder renamed or swapped for a
// link meanwhile) and report a failure for a file already in place.
func (s *resumeStage) commit() (placement, error) {
	defer s.f.Close()
	none := placement{replaced: -1}
	d, err := openDir(s.root, s.dir)
	if err != nil {
		return none, err
	}
	defer d.Close()
	own := staging.Name()
	if err := s.root.Rename(s.tmp, s.dir+"/"+own); err != nil {
		return none, err
	}
	pl, err := placeOver(s.root, d, s.dir, own, s.base, s.want)
	if !pl.placed {
		// Back under its name, for a resume (a failure here leaves it
		// to the sweep).
		s.root.Rename(s.dir+"/"+own, s.tmp)
		return pl, err
	}
	s.renamed = true
	if err != nil {
		return pl, err
	}
	return pl, d.Sync()
}

// abort keeps what a resume can use: everything written when the client
// went away (it checks the partial's digest before it resumes), the
// verified prefix when the range failed or did not fit, nothing when the
// whole file turned out wrong. An empty partial is not worth keeping.
func (s *resumeStage) abort() {
	defer s.f.Close()
	if s.renamed {
		return // only the folder's sync failed: the file is in place
	}
	fi, err := s.f.Stat()
	keep := s.offset
	switch sdk.CodeOf(s.cause) {
	case sdk.CodeCanceled, sdk.CodeTimeout:
		keep = -1
	}
	if s.wrongFile {
		keep = 0
	}
	if keep > 0 {
		if s.f.Truncate(keep) == nil {
			s.after = usage{bytes: keep, files: 1}
			return
		}
	} else if keep < 0 && err == nil && fi.Size() > 0 {
		s.after = usage{bytes: fi.Size(), files: 1}
		return
	}
	if err := s.root.Remove(s.tmp); err != nil && !errors.Is(err, fs.ErrNotExist) {
		if fi, err := s.f.Stat(); err == nil { // still there: still counted
			s.after = usage{bytes: fi.Size(), files: 1}
		}
	}
}

// partialChange is how the partial changed the user's usage from the
// start of the upload to its end (commit or abort): kept bytes count as
// any file's, so that abandoned partials cannot park more than the quota
// (a resumed upload's bytes were reserved as they came, and stay counted
// once the request ends).
func (s *resumeStage) partialChange() usage { return s.after.minus(s.before) }

// abandon discards st after err (see resumeStage.abort).
func abandon(st stage, err error) {
	if r, ok := st.(*resumeStage); ok {
		r.cause = err
	}
	st.abort()
}

// openStage is where u is written: its partial when it resumes, else a
// fresh stage. A fresh upload (offset 0) whose partial another live upload
// holds is staged the ordinary way, just not resumable.
func (u *upload) openStage(root *os.Root) (stage, error) {
	if u.resume == nil {
		return newStage(root, u.dir, u.base)
	}
	st, err := newResumeStage(root, u)
	switch {
	case errors.Is(err, errHeldPartial) && u.resume.offset == 0:
		return newStage(root, u.dir, u.base)
	case errors.Is(err, errHeldPartial):
		return nil, busy(u)
	case err != nil:
		return nil, err
	}
	return st, nil
}

func busy(u *upload) error {
	return sdk.Errorf(protocol.CodeBusy, "another upload of %s is in progress", u.name)
}

// wholeFile is the size and digest of the whole staged file once its body
// (got, n bytes) is verified. A resumed upload is hashed from byte 0, for
// the metadata and the digest cache, and checked against file_digest.
func (u *upload) wholeFile(ctx context.Context, st stage, n int64, got sdk.Digest) (int64, sdk.Digest, error) {
	r, _ := st.(*resumeStage)
	if u.resume == nil || u.resume.offset == 0 {
		// The body is the whole file, verified: its digest is the file's.
		if u.resume != nil && u.resume.whole != nil && !bytes.Equal(u.resume.whole, got.Sum) {
			if r != nil {
				r.wrongFile = true
			}
			return 0, sdk.Digest{}, u.mismatch()
		}
		return n, got, nil
	}
	alg, err := checksum.Parse(got.Algorithm)
	if err != nil {
		return 0, sdk.Digest{}, err
	}
	size := r.offset + n
	h := alg.New()
	stop := sdk.Working(ctx) // gigabytes take a while: say we are working
	err = checksum.HashRange(h, r.f, 0, size)
	stop()
	if err != nil {
		return 0, sdk.Digest{}, err
	}
	sum := h.Sum(nil)
	if u.resume.whole != nil && !bytes.Equal(u.resume.whole, sum) {
		r.wrongFile = true
		return 0, sdk.Digest{}, u.mismatch()
	}
	return size, sdk.Digest{Algorithm: got.Algorithm, Sum: sum}, nil
}

func (u *upload) mismatch() error {
	return sdk.Errorf(sdk.CodeChecksum, "the resumed upload of %s does not match the file; start again", u.name)
}

// probe answers what the target's partial holds, writing nothing: its
// size and, if it has bytes, their digest in the request's algorithm.
func (u *upload) probe(ctx context.Context, req *sdk.Request, w sdk.ResponseWriter) error {
	var size int64
	var sum []byte
	alg, err := checksum.Parse(req.Checksum)
	if err != nil {
		return sdk.Errorf(sdk.CodeBadRequest, "unknown checksum %q", req.Checksum)
	}
	f, _, err := holdPartial(req.Root, u.dir+"/"+staging.ResumeName(u.base), false)
	switch {
	case errors.Is(err, fs.ErrNotExist):
	case errors.Is(err, errHeldPartial):
		return busy(u)
	case err != nil:
		return err
	default:
		defer f.Close()
		fi, err := f.Stat()
		if err != nil {
			return err
		}
		if size = fi.Size(); size > 0 {
			h := alg.New()
			stop := sdk.Working(ctx)
			err = checksum.HashRange(h, f, 0, size)
			stop()
			if err != nil {
				return err
			}
			sum = h.Sum(nil)
		}
	}
	if err := w.SetMeta("path", u.name); err != nil {
		return err
	}
	if err := w.SetMeta("partial", size); err != nil {
		return err
	}
	if size == 0 {
		return nil
	}
	return w.SetMeta("partial_digest", alg.Encode(sum))
}
