package sdktest_test

import (
	"context"
	"os"
	"path/filepath"
	"testing"

	"github.com/selectftp/selectftp/sdk"
	"github.com/selectftp/selectftp/sdk/sdktest"
)

// Run checks mkdir -p's parents as the host does: a folder that would be
// made needs mkdir there, one that exists already needs nothing.
func TestRunChecksParentsLikeTheHost(t *testing.T) {
	made := false
	cmd := sdk.Func(sdk.Description{Verb: "mk", Summary: "test",
		Options: []sdk.Option{{Short: "-p", Param: "parents"}},
		Access:  []sdk.Access{{Perm: sdk.PermMkdir, ParentsIf: "parents"}}},
		func(context.Context, *sdk.Request, sdk.ResponseWriter) error { made = true; return nil })
	user := &sdk.User{Name: "u", PathPerms: map[string][]sdk.Perm{"/x/y": {sdk.PermMkdir}}}
	root := t.TempDir()

	res := sdktest.Run(t, cmd, sdktest.Request{Root: root, User: user, Args: []string{"-p", "/x/y/z"}})
	if sdk.CodeOf(res.Err) != sdk.CodePermission || made {
		t.Fatalf("/x missing: err %v, ran %v; want permission before the command", res.Err, made)
	}
	if err := os.Mkdir(filepath.Join(root, "x"), 0o755); err != nil {
		t.Fatal(err)
	}
	res = sdktest.Run(t, cmd, sdktest.Request{Root: root, User: user, Args: []string{"-p", "/x/y/z"}})
	if res.Err != nil || !made {
		t.Fatalf("/x made already: err %v, ran %v; want it allowed", res.Err, made)
	}
}
