// Package sum is the "sum" verb of selectftp: the digest of remote files,
// in sha256sum's format. README.md tells how to use it.
package sum

import (
	"context"
	"fmt"
	"os"

	"github.com/selectftp/selectftp/internal/checksum"
	"github.com/selectftp/selectftp/plugins/internal/digest"
	"github.com/selectftp/selectftp/plugins/internal/fileop"
	"github.com/selectftp/selectftp/plugins/internal/openfile"
	"github.com/selectftp/selectftp/sdk"
)

const usage = `usage: sum [--checksum ALG] PATH...

Prints the digest of each file PATH, one line each: the hex digest, two
spaces and the path from the top of the tree (sha256sum's format). ALG is
xxh128, sha256 or blake3; by default the request's checksum algorithm.
A digest the server has cached for the file's current content is used
as is; otherwise the file is read and its digest cached.

Options (or parameters):
  --checksum ALG    the algorithm (param checksum)

Parameters:
  length    with one PATH: the digest of its first length bytes only
            (to check a partial download against the file)

Examples:
  sum notes.txt
  sum --checksum sha256 reports/q1.pdf reports/q2.pdf
`

type sum struct{}

// sumParams are the parameters fileop.Parse does not take.
type sumParams struct {
	// Length, when set, limits the digest to the file's first bytes.
	Length *int64 `mapstructure:"length"`
}

// New returns the "sum" command.
func New() sdk.Command { return sum{} }

func (sum) Describe() sdk.Description {
	return sdk.Description{Verb: "sum", Summary: "digest of remote files (sha256sum format)", Usage: usage,
		Options: []sdk.Option{{Short: "-c", Param: "checksum", Value: true}},
		Access:  []sdk.Access{{Perm: sdk.PermRead}}}
}

func (sum) Run(ctx context.Context, req *sdk.Request, w sdk.ResponseWriter) error {
	a, err := fileop.Parse(req, "sum", fileop.Flag{Short: "-c", Param: "checksum", Value: true})
	if err != nil {
		return err
	}
	if len(a.Paths) == 0 {
		return sdk.Errorf(sdk.CodeBadRequest, "sum needs a path")
	}
	var p sumParams
	if err := req.Decode(&p); err != nil {
		return err
	}
	switch {
	case p.Length != nil && *p.Length < 0:
		return sdk.Errorf(sdk.CodeBadRequest, "sum: length %d: must be 0 or more", *p.Length)
	case p.Length != nil && len(a.Paths) != 1:
		return sdk.Errorf(sdk.CodeBadRequest, "sum: length goes with exactly one path, not %d", len(a.Paths))
	}
	name := a.Value("checksum")
	if name == "" {
		name = req.Checksum
	}
	alg, err := checksum.Parse(name)
	if err != nil {
		return sdk.Errorf(sdk.CodeBadRequest, "sum: unknown checksum %q (known: %v)", name, checksum.Names())
	}
	if req.Root == nil {
		return sdk.Errorf(sdk.CodeInternal, "sum: the server gave no root folder (the host gives one only to a verb whose description declares file access: rebuild a plugin older than that)")
	}
	rels := make([]string, len(a.Paths))
	for i, p := range a.Paths {
		if rels[i], err = fileop.Resolve(req, p); err != nil {
			return err
		}
	}
	// Lines go out as each file is done, so a long sum shows progress; a
	// failure ends the body where it is and the status names the path.
	for i, path := range a.Paths {
		hex, err := digestOf(ctx, req, alg, path, rels[i], p.Length)
		if err != nil {
			return err
		}
		if _, err := fmt.Fprintf(w, "%s  %s\n", hex, sdk.Virtual(rels[i])); err != nil {
			return err
		}
	}
	return nil
}

// digestOf is the digest of the file at rel (p as the user typed it): of
// its first *length bytes when length is set.
func digestOf(ctx context.Context, req *sdk.Request, alg checksum.Algorithm, p, rel string, length *int64) (string, error) {
	f, fi, err := openfile.Regular(req.Root, rel)
	if err != nil {
		switch sdk.CodeOf(err) {
		case sdk.CodeBadRequest:
			return "", sdk.Errorf(sdk.CodeBadRequest, "sum %s: not a regular file", p)
		case sdk.CodeNotFound:
			return "", sdk.Errorf(sdk.CodeNotFound, "sum %s: no such file or folder", p)
		}
		return "", fileop.Fail("sum", p, err)
	}
	defer f.Close()
	if length != nil {
		return prefixDigest(ctx, alg, f, fi.Size(), p, *length)
	}
	if s, ok := digest.Lookup(alg, f, fi); ok {
		return alg.Encode(s), nil
	}
	h := alg.New()
	if err := checksum.HashRange(h, f, 0, fi.Size()); err != nil {
		return "", fileop.Fail("sum", p, err)
	}
	if err := ctx.Err(); err != nil {
		return "", err
	}
	s := h.Sum(nil)
	// Cached against the stat taken before reading: a file changed while
	// it was read has another stamp, so the entry is never used for it.
	digest.Record(alg, f, fi, s)
	return alg.Encode(s), nil
}

// prefixDigest is the digest of the first length bytes of f (size bytes),
// hashed every time: the cache holds whole files' digests only.
func prefixDigest(ctx context.Context, alg checksum.Algorithm, f *os.File, size int64, p string, length int64) (string, error) {
	if length > size {
		return "", sdk.Errorf(sdk.CodeBadRequest, "%s has only %d bytes", p, size)
	}
	h := alg.New()
	if err := checksum.HashRange(h, f, 0, length); err != nil {
		return "", fileop.Fail("sum", p, err)
	}
	if err := ctx.Err(); err != nil {
		return "", err
	}
	return alg.Encode(h.Sum(nil)), nil
}
