// Package helps is the "helps" verb of selectftp: the command itself, served as
// a plugin binary by plugin/ and registrable in-process. README.md tells
// how to use it.
package helps

import (
	"context"
	"io"
	"slices"
	"strings"

	"github.com/selectftp/selectftp/sdk"
)

const helpsUsage = `usage: helps [VERB]

Without a verb, lists every verb the server serves, one line each: the verb,
a tab and its summary, sorted by verb. With a verb, shows that verb's usage.

Examples:
  helps          list the verbs
  helps put      how to call put
`

// helps serves the "helps" verb. It holds no state, so concurrent Run calls
// are safe.
type helps struct{}

// New returns the "helps" command, to serve as a plugin (see plugin/) or to
// register in-process with host.Server.Register.
func New() sdk.Command { return helps{} }

func (helps) Describe() sdk.Description {
	return sdk.Description{
		Verb:    "helps",
		Summary: "list the verbs, or show how to call one",
		Usage:   helpsUsage,
	}
}

func (helps) Run(ctx context.Context, req *sdk.Request, w sdk.ResponseWriter) error {
	if len(req.Args) > 1 {
		return sdk.Errorf(sdk.CodeBadRequest, "helps takes at most one verb, got %d words", len(req.Args))
	}
	if req.Host == nil {
		return sdk.Errorf(sdk.CodeInternal, "helps: the server gave no host to ask")
	}
	// helps takes no body and never reads it: the host then never sends
	// it to the plugin (it streams a body only on request), so nothing
	// queues ahead of the host's answer.
	cmds, err := req.Host.Commands(ctx)
	if err != nil {
		return err
	}
	if len(req.Args) == 1 {
		for _, c := range cmds {
			if c.Verb == strings.ToLower(req.Args[0]) {
				usage := c.Usage
				if !strings.HasSuffix(usage, "\n") {
					usage += "\n"
				}
				_, err := io.WriteString(w, usage)
				return err
			}
		}
		return sdk.Errorf(sdk.CodeNotFound, "no verb %q", req.Args[0])
	}
	cmds = slices.Clone(cmds)
	slices.SortFunc(cmds, func(a, b sdk.Description) int { return strings.Compare(a.Verb, b.Verb) })
	var b strings.Builder
	for _, c := range cmds {
		b.WriteString(c.Verb)
		b.WriteByte('\t')
		b.WriteString(oneLine(c.Summary))
		b.WriteByte('\n')
	}
	_, err = io.WriteString(w, b.String())
	return err
}

// oneLine keeps a summary on its line whatever a plugin put in it.
func oneLine(s string) string {
	return strings.Join(strings.Fields(s), " ")
}
