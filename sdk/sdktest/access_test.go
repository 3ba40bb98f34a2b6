package sdktest_test

import (
	"context"
	"os"
	"reflect"
	"testing"

	"github.com/selectftp/selectftp/sdk"
	"github.com/selectftp/selectftp/sdk/sdktest"
)

// A plugin's access declaration reaches the host, and the request's user
// reaches the plugin, across the RPC as in-process.
func TestAccessAndUserCrossTheRPC(t *testing.T) {
	desc := sdk.Description{Verb: "peek", Summary: "s", Usage: "u",
		Options: []sdk.Option{{Short: "-c", Param: "checksum", Value: true}},
		Access:  []sdk.Access{{Perm: sdk.PermRead, Params: []string{"path"}, Glob: true, TreeIf: "checksum"}}}
	user := &sdk.User{Name: "alice", Perms: []sdk.Perm{sdk.PermRead},
		PathPerms: map[string][]sdk.Perm{"/in": {sdk.PermWrite}}}
	var got *sdk.User
	cmd := sdk.Func(desc, func(ctx context.Context, req *sdk.Request, w sdk.ResponseWriter) error {
		got = req.User
		return nil
	})
	sdktest.Each(t, cmd, func(t *testing.T, c sdk.Command) {
		got = nil
		if d := c.Describe(); !reflect.DeepEqual(d, desc) {
			t.Errorf("Describe = %+v, want %+v", d, desc)
		}
		res := sdktest.Run(t, c, sdktest.Request{Args: []string{"f"}, User: user})
		if res.Err != nil || !reflect.DeepEqual(got, user) {
			t.Errorf("Run: %v; the command saw user %+v, want %+v", res.Err, got, user)
		}
		res = sdktest.Run(t, c, sdktest.Request{Args: []string{"f"}})
		if res.Err != nil || got != nil {
			t.Errorf("anonymous Run: %v; the command saw user %+v, want nil", res.Err, got)
		}
	})
}

// sdktest refuses what the user may not do, as a server does, without
// calling the command; and a verb that declares no access gets no root.
func TestRunChecksAccess(t *testing.T) {
	called := false
	put := sdk.Func(sdk.Description{Verb: "put", Access: []sdk.Access{{Perm: sdk.PermWrite}}},
		func(ctx context.Context, req *sdk.Request, w sdk.ResponseWriter) error { called = true; return nil })
	ro := &sdk.User{Name: "ro", Perms: []sdk.Perm{sdk.PermList, sdk.PermRead}}
	res := sdktest.Run(t, put, sdktest.Request{Args: []string{"f"}, User: ro})
	if res.Code != sdk.CodePermission || res.Message != "/f: permission denied (needs write)" || called {
		t.Errorf("read-only put: %s %q, called %v", res.Code, res.Message, called)
	}
	var root any = "unset"
	none := sdk.Func(sdk.Description{Verb: "none"}, func(ctx context.Context, req *sdk.Request, w sdk.ResponseWriter) error {
		root = req.Root
		return nil
	})
	if res := sdktest.Run(t, none, sdktest.Request{User: ro}); res.Err != nil || root != (*os.Root)(nil) {
		t.Errorf("undeclared verb: %v, root %v; want no root", res.Err, root)
	}
}
