package sdk

import (
	"bytes"
	"go/doc"
	"go/parser"
	"go/printer"
	"go/token"
	"io/fs"
	"strings"
	"testing"
)

// The SDK is what plugin authors use: its exported API names no transport
// type (gRPC, go-plugin, protobuf, the internal plugin runtime), so that
// the transport can change without breaking a plugin's source.
func TestAPIShowsNoTransport(t *testing.T) {
	fset := token.NewFileSet()
	pkgs, err := parser.ParseDir(fset, ".", func(fi fs.FileInfo) bool {
		return !strings.HasSuffix(fi.Name(), "_test.go")
	}, parser.ParseComments)
	if err != nil {
		t.Fatal(err)
	}
	p := doc.New(pkgs["sdk"], "github.com/selectftp/selectftp/sdk", 0)
	var api bytes.Buffer
	show := func(n any) {
		printer.Fprint(&api, fset, n)
		api.WriteByte('\n')
	}
	for _, v := range append(p.Consts, p.Vars...) {
		show(v.Decl)
	}
	for _, f := range p.Funcs {
		show(f.Decl.Type)
	}
	for _, ty := range p.Types {
		show(ty.Decl)
		for _, f := range append(ty.Funcs, ty.Methods...) {
			show(f.Decl.Type)
		}
	}
	if api.Len() == 0 {
		t.Fatal("found no exported API")
	}
	for _, bad := range []string{"grpc", "plugin.", "pb.", "protobuf", "plugside", "fdpass", "LogLevelEnv", "LimitBody", "BodySHA256"} {
		if strings.Contains(api.String(), bad) {
			t.Errorf("the sdk's exported API mentions %q:\n%s", bad, api.String())
		}
	}
}
