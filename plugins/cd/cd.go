// Package cd is the "cd" verb of selectftp: it changes the session's
// current folder, which relative paths in every verb then start from.
// README.md tells how to use it.
package cd

import (
	"context"

	"github.com/selectftp/selectftp/plugins/internal/fileop"
	"github.com/selectftp/selectftp/sdk"
)

const usage = `usage: cd [PATH]

Makes the folder PATH the session's current folder (/ when no path is
given): relative paths in the requests that follow start there. / is the
top of the tree and .. stops at it. The body is the new folder and a
newline.

Examples:
  cd reports
  cd ..
  cd /
`

type cd struct{}

// New returns the "cd" command.
func New() sdk.Command { return cd{} }

func (cd) Describe() sdk.Description {
	return sdk.Description{Verb: "cd", Summary: "change the session's current folder", Usage: usage,
		// No path goes to the top of the tree.
		Access: []sdk.Access{{Perm: sdk.PermList, Params: []string{"path"}, Default: "/"}}}
}

func (cd) Run(ctx context.Context, req *sdk.Request, w sdk.ResponseWriter) error {
	a, err := fileop.Parse(req, "cd")
	if err != nil {
		return err
	}
	if p, ok := req.Params["path"].(string); ok && p != "" && len(a.Paths) == 0 {
		a.Paths = []string{p}
	}
	p := "/"
	switch len(a.Paths) {
	case 0:
	case 1:
		p = a.Paths[0]
	default:
		return sdk.Errorf(sdk.CodeBadRequest, "cd takes one path, got %d", len(a.Paths))
	}
	rel, err := fileop.Resolve(req, p)
	if err != nil {
		return err
	}
	if req.Root == nil {
		return sdk.Errorf(sdk.CodeInternal, "cd: the server gave no root folder (the host gives one only to a verb whose description declares file access: rebuild a plugin older than that)")
	}
	// Stat follows a symlink inside the tree (cd link works) and the root
	// refuses one that leads out. The folder is named, not pinned: every
	// later request resolves it through the root again.
	fi, err := req.Root.Stat(rel)
	if err != nil {
		return fileop.Fail("cd", p, err)
	}
	if !fi.IsDir() {
		return sdk.Errorf(sdk.CodeBadRequest, "cd %s: not a folder", p)
	}
	dir := sdk.Virtual(rel)
	if err := sdk.SetDir(w, dir); err != nil {
		return err
	}
	_, err = w.Write([]byte(dir + "\n"))
	return err
}
