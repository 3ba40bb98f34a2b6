package rm

import (
	"os"
	"path/filepath"
	"testing"

	"github.com/selectftp/selectftp/sdk"
	"github.com/selectftp/selectftp/sdk/sdktest"
)

// For a logged-in user rm tells the host what it freed (the host keeps
// their quota with it), regular files only, and on a failure what went
// before it.
func TestRemoveReportsFreed(t *testing.T) {
	user := &sdk.User{Name: "alice", Perms: []sdk.Perm{"list", "read", "write", "delete", "mkdir", "rename"}}
	for _, tc := range []struct {
		args         []string
		bytes, files float64
	}{
		{[]string{"a.txt"}, -5, -1},
		{[]string{"-r", "full"}, -17, -2},                // full/x and full/deep/y hold their names
		{[]string{"a.txt", "b.txt", "missing"}, -10, -2}, // b.txt went before the failure
		{[]string{"empty"}, 0, 0},
	} {
		root := tree(t)
		os.Symlink("a.txt", filepath.Join(root, "full", "link")) // a link is no file freed
		res := sdktest.Run(t, New(), sdktest.Request{Root: root, Args: tc.args, User: user})
		got := [2]any{res.Meta["usage_bytes"], res.Meta["usage_files"]}
		want := [2]any{tc.bytes, tc.files}
		if tc.bytes == 0 {
			want = [2]any{nil, nil}
		}
		if got != want {
			t.Errorf("rm %v (%v): usage %v, want %v", tc.args, res.Err, got, want)
		}
	}
	res := sdktest.Run(t, New(), sdktest.Request{Root: tree(t), Args: []string{"a.txt"}})
	if res.Err != nil || res.Meta != nil {
		t.Fatalf("an anonymous rm reports usage: %v %v", res.Err, res.Meta)
	}
}
