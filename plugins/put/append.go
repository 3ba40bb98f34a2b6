package put

import (
	"context"
	"errors"
	"io"
	"io/fs"
	"os"

	"github.com/selectftp/selectftp/plugins/internal/openfile"
	"github.com/selectftp/selectftp/protocol"
	"github.com/selectftp/selectftp/sdk"
)

// appendParams extend the file already under the name (FTP's APPE, and
// REST n before STOR) without giving up the atomic upload: the staged file
// starts as a copy of the current file's first bytes, the body follows,
// and the whole new file replaces the old one only once it is complete.
// An interrupted append leaves the old file as it was.
type appendParams struct {
	Append bool `mapstructure:"append"`
}

// appending is a validated append: keep is how many bytes of the current
// file to keep (-1: all of them), prefix how many were copied.
type appending struct {
	keep   int64
	prefix int64
	// admitted is the prefix as measured before the upload was admitted:
	// the space check and max_size count it, so the copy may not be
	// longer (N appends of a big file with stalled bodies staged N copies
	// that nothing counted).
	admitted int64
	// src is the file the prefix was copied from, when one was: the host
	// counted the prefix as that file's bytes, so the commit may replace
	// only that file (placeOver).
	src *fileID
}

// measure sets admitted: the bytes the append would keep of the file
// under the name now (0 if there is none, or it is not a regular file:
// copyPrefix refuses those).
func (ap *appending) measure(root *os.Root, name string) {
	fi, err := root.Lstat(name)
	if err != nil || !fi.Mode().IsRegular() {
		return
	}
	ap.admitted = fi.Size()
	if ap.keep >= 0 {
		ap.admitted = min(ap.keep, fi.Size())
	}
}

// parseAppend takes append and, with it, offset (the bytes of the current
// file to keep; 0 or absent: all). It returns the resume params with the
// offset it took cleared, for parseResume.
func parseAppend(a appendParams, r resumeParams) (*appending, resumeParams, error) {
	if !a.Append {
		return nil, r, nil
	}
	if r.Resume || r.Probe || r.FileDigest != "" {
		return nil, r, sdk.Errorf(sdk.CodeBadRequest, "append does not go with resume, probe or file_digest")
	}
	if r.Offset < 0 {
		return nil, r, sdk.Errorf(sdk.CodeBadRequest, "offset %d: must be 0 or more", r.Offset)
	}
	ap := &appending{keep: -1}
	if r.Offset > 0 {
		ap.keep = r.Offset
	}
	r.Offset = 0
	return ap, r, nil
}

// copyPrefix writes the bytes of the current file that the append keeps
// into the fresh staged file f, which is left positioned after them. No
// file yet is an empty prefix (APPE creates), unless an offset asked for
// bytes; a link or a special file under the name is refused, as the file
// an append would read is not the one it would replace.
func (u *upload) copyPrefix(ctx context.Context, root *os.Root, f *os.File) error {
	ap := u.app
	lfi, err := root.Lstat(u.path)
	switch {
	case errors.Is(err, fs.ErrNotExist) && ap.keep <= 0:
		return nil
	case errors.Is(err, fs.ErrNotExist):
		return sdk.Errorf(sdk.CodeBadRequest, "no file %s to keep %d bytes of", u.name, ap.keep)
	case err != nil:
		return err
	case !lfi.Mode().IsRegular():
		return sdk.Errorf(sdk.CodeBadRequest, "%s is not a regular file: it cannot be appended to", u.name)
	}
	src, fi, err := openfile.Regular(root, u.path)
	if err != nil {
		return err
	}
	defer src.Close()
	if !os.SameFile(lfi, fi) {
		return sdk.Errorf(protocol.CodeBusy, "%s changed while the append began; try again", u.name)
	}
	n := fi.Size()
	if ap.keep >= 0 {
		if ap.keep > n {
			return sdk.Errorf(sdk.CodeBadRequest, "offset %d is past the end of %s", ap.keep, u.name)
		}
		n = ap.keep
	}
	if n > ap.admitted {
		return sdk.Errorf(protocol.CodeBusy, "%s grew since the append was admitted; try again", u.name)
	}
	if n > 0 {
		id, ok := idOf(fi)
		if !ok {
			return sdk.Errorf(sdk.CodeInternal, "%s: the system does not tell which file it is, so it cannot be appended to safely", u.name)
		}
		ap.src = &id
	}
	stop := sdk.Working(ctx) // gigabytes take a while: say we are working
	defer stop()
	// In steps, so that a cancelled request stops copying; *os.File to
	// *os.File through a LimitedReader lets Go use copy_file_range.
	const step = 64 << 20
	for done := int64(0); done < n; {
		if err := ctx.Err(); err != nil {
			return err
		}
		c, err := f.ReadFrom(io.LimitReader(src, min(step, n-done)))
		done += c
		if err != nil {
			return err
		}
		if c == 0 {
			return sdk.Errorf(protocol.CodeBusy, "%s shrank while it was copied; try again", u.name)
		}
	}
	ap.prefix = n
	return nil
}

// appendedFile is the whole appended file's size and digest once its body
// (got, n bytes) is verified. With a prefix kept there is no digest: the
// host checks permissions by the verb's declared access, which is write
// only, so a digest of kept bytes would let an account that may not read
// the file learn its content (REST n and an empty body, n by n).
func (u *upload) appendedFile(n int64, got sdk.Digest) (int64, sdk.Digest) {
	if u.app.prefix == 0 {
		return n, got
	}
	return u.app.prefix + n, sdk.Digest{}
}
