// Package get is the "get" verb of selectftp: the command itself, served as
// a plugin binary by plugin/ and registrable in-process. README.md tells
// how to use it.
package get

import (
	"context"

	"github.com/selectftp/selectftp/internal/checksum"
	"github.com/selectftp/selectftp/plugins/internal/digest"
	"github.com/selectftp/selectftp/plugins/internal/openfile"
	"github.com/selectftp/selectftp/plugins/internal/params"
	"github.com/selectftp/selectftp/plugins/internal/staging"
	"github.com/selectftp/selectftp/sdk"
)

const getUsage = `usage: get PATH

Sends the file PATH from under the session root. The response metadata
carries its size before the bytes; the server's status carries their
digest, in the algorithm the client chose, so the client checks what it
received.

Parameters:
  path    the file to send (or the first word after get)
  offset  send the file from this byte on (resuming a download); the
          size in the metadata stays the whole file's, and offset is
          added to it

Examples:
  get notes.txt
  get reports/2024/summary.pdf
`

// get serves the "get" verb. It keeps no state of its own (file digests
// live in package digest), so concurrent Run calls are safe.
type get struct{}

// New returns the "get" command, to serve as a plugin (see plugin/) or to
// register in-process with host.Server.Register.
func New() sdk.Command { return get{} }

func (get) Describe() sdk.Description {
	return sdk.Description{
		Verb:    "get",
		Summary: "download a file, verified by its digest",
		Usage:   getUsage,
		// get decodes its words as the "args" parameter, which a client
		// may send instead.
		Access: []sdk.Access{{Perm: sdk.PermRead, Params: []string{"path", "args"}}},
	}
}

type getParams struct {
	Path string   `mapstructure:"path"`
	Args []string `mapstructure:"args"`
	// Offset resumes a download: the body is the file from there on.
	Offset int64 `mapstructure:"offset"`
}

func (get) Run(ctx context.Context, req *sdk.Request, w sdk.ResponseWriter) error {
	var p getParams
	if err := req.Decode(&p); err != nil {
		return err
	}
	name, err := params.Path("get", p.Path, p.Args)
	if err != nil {
		return err
	}
	if p.Offset < 0 {
		return sdk.Errorf(sdk.CodeBadRequest, "offset %d: must be 0 or more", p.Offset)
	}
	if req.Root == nil {
		return sdk.Errorf(sdk.CodeInternal, "get: the server gave no root folder (the host gives one only to a verb whose description declares file access: rebuild a plugin older than that)")
	}
	// Virtual: "/x" is the top of the tree, relative paths follow cd.
	rel, err := req.Resolve(name)
	if err != nil {
		return err
	}
	if err := staging.Check(rel); err != nil {
		return err
	}
	// Opened without blocking and checked on the descriptor: a FIFO put in
	// place of the file fails here instead of hanging the plugin in open.
	f, fi, err := openfile.Regular(req.Root, rel)
	if sdk.CodeOf(err) == sdk.CodeNotFound {
		return sdk.Errorf(sdk.CodeNotFound, "no file %q", name)
	}
	if err != nil {
		return err
	}
	defer f.Close()

	size := fi.Size()
	if p.Offset > size {
		return sdk.Errorf(sdk.CodeBadRequest, "offset %d is past the end of %s (%d bytes)", p.Offset, name, size)
	}
	if err := w.SetMeta("size", size); err != nil {
		return err
	}
	if p.Offset > 0 {
		if err := w.SetMeta("offset", p.Offset); err != nil {
			return err
		}
	}
	// The host sends the file by sendfile and the digest of the bytes with
	// its status: from the cache when the file's digest in the request's
	// algorithm is known (put records it), else hashed beside the sending.
	// The cache holds whole files' digests: a range is hashed as it goes.
	var known sdk.Digest
	if alg, err := checksum.Parse(req.Checksum); err == nil && p.Offset == 0 {
		if sum, ok := digest.Lookup(alg, f, fi); ok {
			known = sdk.Digest{Algorithm: alg.String(), Sum: sum}
		}
	}
	if err := ctx.Err(); err != nil {
		return err // the client is gone: do not start sending
	}
	if err := sdk.SendFile(req, w, f, p.Offset, size-p.Offset, known); err != nil {
		if ctx.Err() != nil {
			return ctx.Err()
		}
		return err
	}
	return nil
}
