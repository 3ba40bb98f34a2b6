//go:build linux

package main

import (
	"context"
	"io"
	"strings"
	"testing"

	"github.com/selectftp/selectftp/host/hosttest"
	"github.com/selectftp/selectftp/plugins/get"
	"github.com/selectftp/selectftp/plugins/helps"
	"github.com/selectftp/selectftp/plugins/upper"
	"github.com/selectftp/selectftp/sdk"
)

// The note on a terminal names the verb the server says answered, also
// where the CLI could not have guessed it: a server without helps (nothing
// to ask), and a fallback other than upper (nothing to recognise).
func TestFallbackNoteNamesTheServersFallback(t *testing.T) {
	shout := sdk.Func(sdk.Description{Verb: "shout", Summary: "the args, loud"},
		func(ctx context.Context, req *sdk.Request, w sdk.ResponseWriter) error {
			_, err := io.WriteString(w, strings.ToUpper(strings.Join(req.Args, " "))+"!\n")
			return err
		})
	for _, tc := range []struct {
		name, fallback, answer string
		cmds                   []sdk.Command
	}{
		{"no helps", "upper", "RM SMALL.TXT", []sdk.Command{get.New(), upper.New()}},
		{"not upper", "shout", "RM SMALL.TXT!", []sdk.Command{get.New(), helps.New(), shout}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			srv := hosttest.NewUnstartedServer(t, tc.cmds...)
			srv.Host.Fallback = tc.fallback
			srv.Start()
			p := startPTYShell(t, "--addr", srv.Addr, "rm", "small.txt")
			p.expectLine(`note: the server has no verb "rm"; its fallback "` + tc.fallback + `" answered`)
			p.expectLine(tc.answer)
			p.expectExit(0)
		})
	}
}
