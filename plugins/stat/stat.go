// Package stat is the "stat" verb of selectftp: one path's type, size,
// mode, time and cached digests, as response metadata. README.md tells how
// to use it.
package stat

import (
	"context"

	"github.com/selectftp/selectftp/internal/checksum"
	"github.com/selectftp/selectftp/plugins/internal/digest"
	"github.com/selectftp/selectftp/plugins/internal/fileop"
	"github.com/selectftp/selectftp/plugins/internal/openfile"
	"github.com/selectftp/selectftp/sdk"
)

const usage = `usage: stat PATH

Describes PATH in the response metadata: path, type (file, dir, link,
other), size, mode, mtime, and the file's digest in each algorithm the
server has cached (xxh128, sha256, blake3). A symlink is described as
itself. No body.

Examples:
  stat notes.txt
  stat /reports
`

type stat struct{}

// New returns the "stat" command.
func New() sdk.Command { return stat{} }

func (stat) Describe() sdk.Description {
	return sdk.Description{Verb: "stat", Summary: "type, size, mode, time and cached digests of a path", Usage: usage,
		Access: []sdk.Access{{Perm: sdk.PermList, Params: []string{"path"}}}}
}

func (stat) Run(ctx context.Context, req *sdk.Request, w sdk.ResponseWriter) error {
	a, err := fileop.Parse(req, "stat")
	if err != nil {
		return err
	}
	if p, ok := req.Params["path"].(string); ok && p != "" && len(a.Paths) == 0 {
		a.Paths = []string{p}
	}
	if len(a.Paths) != 1 {
		return sdk.Errorf(sdk.CodeBadRequest, "stat takes one path, got %d", len(a.Paths))
	}
	p := a.Paths[0]
	rel, err := fileop.Resolve(req, p)
	if err != nil {
		return err
	}
	if req.Root == nil {
		return sdk.Errorf(sdk.CodeInternal, "stat: the server gave no root folder (the host gives one only to a verb whose description declares file access: rebuild a plugin older than that)")
	}
	fi, err := req.Root.Lstat(rel)
	if err != nil {
		return fileop.Fail("stat", p, err)
	}
	e := fileop.EntryOf(sdk.Virtual(rel), fi)
	for k, v := range map[string]any{"path": e.Path, "type": e.Type, "size": e.Size, "mode": e.Mode, "mtime": e.Mtime} {
		if err := w.SetMeta(k, v); err != nil {
			return err
		}
	}
	if !fi.Mode().IsRegular() {
		return nil
	}
	// Digests are only looked up, never computed: stat stays cheap. The
	// open is non-blocking and checked, so a FIFO swapped in cannot hang it.
	f, fi, err := openfile.Regular(req.Root, rel)
	if err != nil {
		return nil // changed since the Lstat: no digest to tell
	}
	defer f.Close()
	for _, alg := range checksum.All() {
		if sum, ok := digest.Lookup(alg, f, fi); ok {
			if err := w.SetMeta(alg.String(), alg.Encode(sum)); err != nil {
				return err
			}
		}
	}
	return nil
}
