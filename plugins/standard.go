// Package plugins holds the standard verbs, one folder each (get, put,
// helps, upper, and the file verbs ls, stat, rm, mkdir, mv, sum, cd and
// pwd: a package with New, its test, a README and plugin/main.go, the
// binary the Makefile installs in plugins.d). This file gathers them for
// programs that serve them in-process, without plugin binaries:
//
//	srv := host.New()
//	if err := srv.Register(plugins.Standard()...); err != nil { ... }
//
// A verb served in-process takes precedence over a plugin of the same verb.
package plugins

import (
	"slices"

	"github.com/selectftp/selectftp/plugins/cd"
	"github.com/selectftp/selectftp/plugins/get"
	"github.com/selectftp/selectftp/plugins/helps"
	"github.com/selectftp/selectftp/plugins/ls"
	"github.com/selectftp/selectftp/plugins/mkdir"
	"github.com/selectftp/selectftp/plugins/mv"
	"github.com/selectftp/selectftp/plugins/put"
	"github.com/selectftp/selectftp/plugins/pwd"
	"github.com/selectftp/selectftp/plugins/rm"
	"github.com/selectftp/selectftp/plugins/stat"
	"github.com/selectftp/selectftp/plugins/sum"
	"github.com/selectftp/selectftp/plugins/upper"
	"github.com/selectftp/selectftp/sdk"
)

var constructors = map[string]func() sdk.Command{
	"cd":    cd.New,
	"get":   get.New,
	"helps": helps.New,
	"ls":    ls.New,
	"mkdir": mkdir.New,
	"mv":    mv.New,
	"put":   put.New,
	"pwd":   pwd.New,
	"rm":    rm.New,
	"stat":  stat.New,
	"sum":   sum.New,
	"upper": upper.New,
}

// Verbs lists the standard verbs, sorted.
func Verbs() []string {
	verbs := make([]string, 0, len(constructors))
	for v := range constructors {
		verbs = append(verbs, v)
	}
	slices.Sort(verbs)
	return verbs
}

// New returns a fresh command for verb, or false when verb is not one of
// the standard verbs.
func New(verb string) (sdk.Command, bool) {
	mk, ok := constructors[verb]
	if !ok {
		return nil, false
	}
	return mk(), true
}

// Standard returns a fresh command for every standard verb, in Verbs order.
// Commands with settings (put's max_size, ...) start with their defaults;
// configure them through sdk.Configurer before serving.
func Standard() []sdk.Command {
	cmds := make([]sdk.Command, 0, len(constructors))
	for _, v := range Verbs() {
		cmds = append(cmds, constructors[v]())
	}
	return cmds
}
