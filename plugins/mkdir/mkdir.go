// Package mkdir is the "mkdir" verb of selectftp: it makes folders under
// the session root. README.md tells how to use it.
package mkdir

import (
	"context"
	"errors"
	"io/fs"

	"github.com/selectftp/selectftp/plugins/internal/fileop"
	"github.com/selectftp/selectftp/sdk"
)

const usage = `usage: mkdir [-p] PATH...

Makes each folder PATH. Without -p the parent must exist and PATH must
not; with -p missing parents are made too and an existing folder is fine.
An existing file is never replaced (exists). Stops at the first failure.

Options (or parameters):
  -p    parents: make missing parents, accept existing folders (param parents)

Examples:
  mkdir reports
  mkdir -p reports/2024/q1
`

type mkdir struct{}

// New returns the "mkdir" command.
func New() sdk.Command { return mkdir{} }

func (mkdir) Describe() sdk.Description {
	return sdk.Description{Verb: "mkdir", Summary: "make folders", Usage: usage,
		Options: []sdk.Option{{Short: "-p", Param: "parents"}},
		// -p makes the missing folders above too: each needs mkdir.
		Access: []sdk.Access{{Perm: sdk.PermMkdir, ParentsIf: "parents"}}}
}

func (mkdir) Run(ctx context.Context, req *sdk.Request, w sdk.ResponseWriter) error {
	a, err := fileop.Parse(req, "mkdir", fileop.Flag{Short: "-p", Param: "parents"})
	if err != nil {
		return err
	}
	if len(a.Paths) == 0 {
		return sdk.Errorf(sdk.CodeBadRequest, "mkdir needs a path")
	}
	if req.Root == nil {
		return sdk.Errorf(sdk.CodeInternal, "mkdir: the server gave no root folder (the host gives one only to a verb whose description declares file access: rebuild a plugin older than that)")
	}
	rels := make([]string, len(a.Paths))
	for i, p := range a.Paths {
		if rels[i], err = fileop.Resolve(req, p); err != nil {
			return err
		}
	}
	for i, p := range a.Paths {
		if err := make1(req, p, rels[i], a.Has("parents")); err != nil {
			return err
		}
	}
	return nil
}

func make1(req *sdk.Request, p, rel string, parents bool) error {
	if !parents {
		err := req.Root.Mkdir(rel, 0o755)
		if errors.Is(err, fs.ErrNotExist) {
			return sdk.Errorf(sdk.CodeNotFound, "mkdir %s: the folder it goes in does not exist (mkdir -p makes it)", p)
		}
		if err != nil {
			return fileop.Fail("mkdir", p, err)
		}
		return nil
	}
	err := req.Root.MkdirAll(rel, 0o755)
	if err == nil {
		return nil
	}
	// MkdirAll says "not a folder" for a file in the way; name it.
	if fi, serr := req.Root.Stat(rel); serr == nil && !fi.IsDir() {
		return sdk.Errorf(sdk.CodeExists, "mkdir %s: a file of that name exists", p)
	}
	return fileop.Fail("mkdir", p, err)
}
