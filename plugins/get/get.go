// Package get is the "get" verb of selectftp: the command itself, served as
// a plugin binary by plugin/ and registrable in-process. README.md tells
// how to use it.
package get

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"io"

	"github.com/selectftp/selectftp/internal/checksum"
	"github.com/selectftp/selectftp/internal/ctxio"
	"github.com/selectftp/selectftp/plugins/internal/digest"
	"github.com/selectftp/selectftp/plugins/internal/openfile"
	"github.com/selectftp/selectftp/plugins/internal/params"
	"github.com/selectftp/selectftp/plugins/internal/staging"
	"github.com/selectftp/selectftp/sdk"
)

const getUsage = `usage: get PATH

Sends the file PATH from under the session root. The response metadata
carries its size and SHA-256 (hex) before the bytes, so the client can
check what it received.

Parameters:
  path    the file to send (or the first word after get)

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
		Summary: "download a file, with its size and SHA-256",
		Usage:   getUsage,
	}
}

type getParams struct {
	Path string   `mapstructure:"path"`
	Args []string `mapstructure:"args"`
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
	if req.Root == nil {
		return sdk.Errorf(sdk.CodeInternal, "get: the server gave no root folder")
	}
	if err := staging.Check(name); err != nil {
		return err
	}
	// Opened without blocking and checked on the descriptor: a FIFO put in
	// place of the file fails here instead of hanging the plugin in open.
	f, fi, err := openfile.Regular(req.Root, name)
	if err != nil {
		return err
	}
	defer f.Close()

	size := fi.Size()
	sum, ok := digest.Lookup(checksum.SHA256, f, fi)
	if !ok {
		// Unknown content: hash it once, and remember the digest while
		// the file stays as it is.
		h := sha256.New()
		// No byte reaches the client while a file is hashed: report
		// progress so the host's request deadline does not take a large
		// file for a stuck command, and stop once the client is gone.
		r := ctxio.Reader{Ctx: ctx, R: f, OnRead: func() { sdk.Progress(ctx) }}
		if size, err = io.Copy(h, r); err != nil {
			return err
		}
		sum = h.Sum(nil)
		if after, err := f.Stat(); err == nil && after.Size() == size && after.ModTime().Equal(fi.ModTime()) {
			digest.Record(checksum.SHA256, f, fi, sum)
		}
		if _, err := f.Seek(0, io.SeekStart); err != nil {
			return err
		}
	}
	if err := ctx.Err(); err != nil {
		return err // the client left while the digest was worked out
	}
	if err := w.SetMeta("size", size); err != nil {
		return err
	}
	if err := w.SetMeta("sha256", hex.EncodeToString(sum)); err != nil {
		return err
	}
	// io.CopyN is io.Copy of a LimitedReader: the writer's ReadFrom sees
	// the *os.File, which a zero-copy transport can send directly.
	if _, err := io.CopyN(w, f, size); err != nil {
		if err == io.EOF {
			return sdk.Errorf(sdk.CodeInternal, "%s shrank while it was sent", name)
		}
		if ctx.Err() != nil {
			return ctx.Err()
		}
		return err
	}
	return nil
}
