package sdk_test

import (
	"reflect"
	"testing"

	"github.com/selectftp/selectftp/sdk"
)

// mkdir -p makes the folders above its path too: each is a need, asked
// only if the folder is missing, outermost first, before the path itself.
func TestNeedsParents(t *testing.T) {
	mkdir := sdk.Description{Verb: "mkdir", Options: []sdk.Option{{Short: "-p", Param: "parents"}},
		Access: []sdk.Access{{Perm: sdk.PermMkdir, ParentsIf: "parents"}}}
	above := func(path string) sdk.Need { return sdk.Need{Perm: sdk.PermMkdir, Path: path, IfMissing: true} }
	at := func(path string) sdk.Need { return sdk.Need{Perm: sdk.PermMkdir, Path: path} }
	for _, tc := range []struct {
		name string
		req  sdk.Request
		want []sdk.Need
	}{
		{"without -p only the path", sdk.Request{Args: []string{"x/y/z"}}, []sdk.Need{at("/x/y/z")}},
		{"-p", sdk.Request{Args: []string{"-p", "x/y/z"}, Dir: "/a"},
			[]sdk.Need{above("/a"), above("/a/x"), above("/a/x/y"), at("/a/x/y/z")}},
		{"the parents param", sdk.Request{Args: []string{"/x/y"}, Params: map[string]any{"parents": true}},
			[]sdk.Need{above("/x"), at("/x/y")}},
		{"-p at the top: nothing above", sdk.Request{Args: []string{"-p", "/x", "/"}}, []sdk.Need{at("/x"), at("/")}},
		{"-p with ..", sdk.Request{Args: []string{"-p", "a/../b/c"}}, []sdk.Need{above("/b"), at("/b/c")}},
	} {
		got, err := mkdir.Needs(&tc.req)
		if err != nil || !reflect.DeepEqual(got, tc.want) {
			t.Errorf("%s: Needs = %+v, %v; want %+v", tc.name, got, err, tc.want)
		}
	}
}
