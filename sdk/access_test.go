package sdk_test

import (
	"reflect"
	"testing"

	"github.com/selectftp/selectftp/sdk"
)

// The host finds the paths a request names as the command reads them, so
// that no path reaches a command unchecked.
func TestNeeds(t *testing.T) {
	ls := sdk.Description{Verb: "ls",
		Options: []sdk.Option{{Short: "-l", Param: "long"}, {Short: "-a", Param: "all"}},
		Access:  []sdk.Access{{Perm: sdk.PermList, Glob: true}}}
	rm := sdk.Description{Verb: "rm", Options: []sdk.Option{{Short: "-r", Param: "recursive"}},
		Access: []sdk.Access{{Perm: sdk.PermDelete, TreeIf: "recursive"}}}
	sum := sdk.Description{Verb: "sum", Options: []sdk.Option{{Short: "-c", Param: "checksum", Value: true}},
		Access: []sdk.Access{{Perm: sdk.PermRead}}}
	get := sdk.Description{Verb: "get", Access: []sdk.Access{{Perm: sdk.PermRead, Params: []string{"path", "args"}}}}
	cd := sdk.Description{Verb: "cd", Access: []sdk.Access{{Perm: sdk.PermList, Params: []string{"path"}, Default: "/"}}}
	cp := sdk.Description{Verb: "cp", Access: []sdk.Access{{Perm: sdk.PermRead, Words: []int{0}}, {Perm: sdk.PermWrite, Words: []int{1}}}}
	need := func(p sdk.Perm, path string, tree bool) sdk.Need { return sdk.Need{Perm: p, Path: path, Tree: tree} }
	for _, tc := range []struct {
		name string
		d    sdk.Description
		req  sdk.Request
		want []sdk.Need
	}{
		{"no path: the current folder", ls, sdk.Request{Dir: "/a"}, []sdk.Need{need(sdk.PermList, "/a", false)}},
		{"options skipped", ls, sdk.Request{Args: []string{"-la", "x", "/y"}, Dir: "/a"},
			[]sdk.Need{need(sdk.PermList, "/a/x", false), need(sdk.PermList, "/y", false)}},
		{"a glob: its folder", ls, sdk.Request{Args: []string{"d/*.txt"}}, []sdk.Need{need(sdk.PermList, "/d", false)}},
		{"-- ends options", ls, sdk.Request{Args: []string{"--", "-la"}}, []sdk.Need{need(sdk.PermList, "/-la", false)}},
		{".. stops at the top", get, sdk.Request{Args: []string{"../../etc/passwd"}, Dir: "/a"},
			[]sdk.Need{need(sdk.PermRead, "/etc/passwd", false)}},
		{"the args parameter instead of words", get, sdk.Request{Params: map[string]any{"args": []any{"/b/secret"}}},
			[]sdk.Need{need(sdk.PermRead, "/b/secret", false)}},
		{"path parameter", get, sdk.Request{Params: map[string]any{"path": "f"}, Dir: "/in"},
			[]sdk.Need{need(sdk.PermRead, "/in/f", false)}},
		{"a value option's word is no path", sum, sdk.Request{Args: []string{"-c", "sha256", "f"}},
			[]sdk.Need{need(sdk.PermRead, "/f", false)}},
		{"rm", rm, sdk.Request{Args: []string{"d"}}, []sdk.Need{need(sdk.PermDelete, "/d", false)}},
		{"rm -r: the tree", rm, sdk.Request{Args: []string{"-r", "d"}}, []sdk.Need{need(sdk.PermDelete, "/d", true)}},
		{"rm recursive param: the tree", rm, sdk.Request{Args: []string{"d"}, Params: map[string]any{"recursive": true}},
			[]sdk.Need{need(sdk.PermDelete, "/d", true)}},
		{"cd with no path: its default", cd, sdk.Request{Dir: "/a"}, []sdk.Need{need(sdk.PermList, "/", false)}},
		{"words by position", cp, sdk.Request{Args: []string{"a", "b"}},
			[]sdk.Need{need(sdk.PermRead, "/a", false), need(sdk.PermWrite, "/b", false)}},
		{"no access declared", sdk.Description{Verb: "upper"}, sdk.Request{Args: []string{"x"}}, nil},
	} {
		got, err := tc.d.Needs(&tc.req)
		if err != nil || !reflect.DeepEqual(got, tc.want) {
			t.Errorf("%s: Needs = %+v, %v; want %+v", tc.name, got, err, tc.want)
		}
	}
}

// What the host cannot read as declared is refused, never run unchecked.
func TestNeedsRefuses(t *testing.T) {
	get := sdk.Description{Verb: "get", Access: []sdk.Access{{Perm: sdk.PermRead, Params: []string{"path", "args"}}}}
	rm := sdk.Description{Verb: "rm", Options: []sdk.Option{{Short: "-r", Param: "recursive"}},
		Access: []sdk.Access{{Perm: sdk.PermDelete}}}
	for _, tc := range []struct {
		d   sdk.Description
		req sdk.Request
	}{
		{get, sdk.Request{Params: map[string]any{"path": 5}}},
		{get, sdk.Request{Params: map[string]any{"args": []any{"a", 7}}}},
		{get, sdk.Request{Args: []string{"a\nb"}}},
		{rm, sdk.Request{Args: []string{"-rf", "d"}}},
		{rm, sdk.Request{Args: []string{"--force", "d"}}},
	} {
		if got, err := tc.d.Needs(&tc.req); sdk.CodeOf(err) != sdk.CodeBadRequest {
			t.Errorf("%s %q %v: Needs = %+v, %v; want bad_request", tc.d.Verb, tc.req.Args, tc.req.Params, got, err)
		}
	}
}

func TestUserAllows(t *testing.T) {
	u := &sdk.User{Name: "alice", Perms: []sdk.Perm{sdk.PermList, sdk.PermRead},
		PathPerms: map[string][]sdk.Perm{"/incoming": {sdk.PermWrite}, "/pub/keep": {sdk.PermList}}}
	for _, tc := range []struct {
		p    sdk.Perm
		path string
		want bool
	}{
		{sdk.PermRead, "/a", true},
		{sdk.PermWrite, "/a", false},
		{sdk.PermWrite, "/incoming/x", true},
		{sdk.PermRead, "/incoming/x", false},
		{sdk.PermRead, "/incomingx", true}, // whole elements only
		{sdk.PermRead, "/a/../incoming/x", false},
	} {
		if got := u.Allows(tc.p, tc.path); got != tc.want {
			t.Errorf("Allows(%s, %s) = %v", tc.p, tc.path, got)
		}
	}
	if !u.AllowsTree(sdk.PermRead, "/a") || u.AllowsTree(sdk.PermRead, "/pub") || u.AllowsTree(sdk.PermRead, "/") {
		t.Error("AllowsTree must refuse a tree with a sub-path that does not grant")
	}
	var anon *sdk.User
	if !anon.Allows(sdk.PermDelete, "/x") {
		t.Error("anonymous (nil user) must be allowed everything")
	}
	req := &sdk.Request{User: u, Dir: "/incoming"}
	if !req.Allows(sdk.PermWrite, "f") || req.Allows(sdk.PermWrite, "../f") {
		t.Error("Request.Allows must resolve the path from the session's folder")
	}
}
