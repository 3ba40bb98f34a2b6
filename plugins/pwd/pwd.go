// Package pwd is the "pwd" verb of selectftp: it prints the session's
// current folder. README.md tells how to use it.
package pwd

import (
	"context"

	"github.com/selectftp/selectftp/sdk"
)

const usage = `usage: pwd

Prints the session's current folder as the client sees it (/ is the top
of the tree) and a newline. cd changes it.

Examples:
  pwd
`

type pwd struct{}

// New returns the "pwd" command.
func New() sdk.Command { return pwd{} }

func (pwd) Describe() sdk.Description {
	return sdk.Description{Verb: "pwd", Summary: "print the session's current folder", Usage: usage}
}

func (pwd) Run(ctx context.Context, req *sdk.Request, w sdk.ResponseWriter) error {
	if len(req.Args) != 0 {
		return sdk.Errorf(sdk.CodeBadRequest, "pwd takes no arguments, got %d", len(req.Args))
	}
	dir := req.Dir
	if dir == "" {
		dir = "/"
	}
	_, err := w.Write([]byte(dir + "\n"))
	return err
}
