package host

import (
	"os"
	"path/filepath"
	"testing"

	"github.com/selectftp/selectftp/host/auth"
	"github.com/selectftp/selectftp/plugins/mkdir"
	"github.com/selectftp/selectftp/protocol"
	"github.com/selectftp/selectftp/sdk"
)

// startGapsServer serves bob (perms, pathPerms) and alice (every
// permission, no path rules) with the real mkdir and cat, and returns
// the server's root and a connection logged in as bob.
func startGapsServer(t *testing.T, perms []auth.Perm, pathPerms map[string][]auth.Perm) (string, *rawConn) {
	t.Helper()
	users := loginUsers(t)
	bob := users["bob"]
	bob.Perms, bob.PathPerms = perms, pathPerms
	users["bob"] = bob
	srv, addr := startServer(t, "goroutine", func(s *Server) {
		s.Users = users
		for _, c := range []sdk.Command{mkdir.New(), catCommand()} {
			if err := s.Register(c); err != nil {
				t.Fatal(err)
			}
		}
	})
	return srv.Root, loginAs(t, addr, "bob")
}

// loginAs dials addr and logs in as name (password name-pw).
func loginAs(t *testing.T, addr, name string) *rawConn {
	t.Helper()
	c := dialRaw(t, addr).hello()
	if st, _ := c.login(scramClient(t, name, name+"-pw")); !st.OK() {
		t.Fatalf("login: %+v", st)
	}
	return c
}

// mkdir -p needs mkdir at every folder it would make, not only the last:
// a rule granting mkdir at /x/y says nothing about making /x.
func TestMkdirParentsNeedMkdirWhereMade(t *testing.T) {
	root, c := startGapsServer(t, []auth.Perm{auth.PermList, auth.PermRead},
		map[string][]auth.Perm{"/x/y": {auth.PermList, auth.PermMkdir}})
	bobDir := filepath.Join(root, "bob")
	if err := os.MkdirAll(bobDir, 0o750); err != nil {
		t.Fatal(err)
	}
	r := c.request("mkdir", []string{"-p", "/x/y/z"}, nil, nil)
	if r.status.Code != protocol.CodePermission || r.status.Message != "/x: permission denied (needs mkdir: it does not exist, and would be made)" {
		t.Errorf("mkdir -p /x/y/z: %+v, want permission at /x", r.status)
	}
	if r := c.request("mkdir", []string{"/x/y/z"}, map[string]any{"parents": true}, nil); r.status.Code != protocol.CodePermission {
		t.Errorf("mkdir /x/y/z with parents: true: %+v, want permission", r.status)
	}
	if _, err := os.Lstat(filepath.Join(bobDir, "x")); err == nil {
		t.Fatal("a refused mkdir -p made /x")
	}
	// Once /x is there (the operator made it), only /x/y and /x/y/z are
	// made, both under the rule.
	if err := os.Mkdir(filepath.Join(bobDir, "x"), 0o750); err != nil {
		t.Fatal(err)
	}
	if r := c.request("mkdir", []string{"-p", "/x/y/z"}, nil, nil); !r.status.OK() {
		t.Errorf("mkdir -p /x/y/z with /x there: %+v, want ok", r.status)
	}
	if fi, err := os.Stat(filepath.Join(bobDir, "x", "y", "z")); err != nil || !fi.IsDir() {
		t.Errorf("/x/y/z: %v", err)
	}
	// Without -p nothing above is made, so nothing above is checked.
	if r := c.request("mkdir", []string{"/x/y/w"}, nil, nil); !r.status.OK() {
		t.Errorf("mkdir /x/y/w: %+v, want ok", r.status)
	}
}

// Where a tree has path rules, a symlink on a request's path is refused:
// the rule checked is the named path's, and a link would reach a place
// under another rule. Without rules a link inside the tree is followed.
func TestSymlinkAcrossPathRules(t *testing.T) {
	root, c := startGapsServer(t, []auth.Perm{auth.PermList, auth.PermRead},
		map[string][]auth.Perm{"/private": {}})
	// The operator's links (no verb makes one), the same in alice's tree.
	tree := map[string]string{"private/secret": "secret\n", "plain.txt": "plain\n", "pubdir/ok.txt": "ok\n"}
	for _, user := range []string{"bob", "alice"} {
		for p, content := range tree {
			full := filepath.Join(root, user, p)
			if err := os.MkdirAll(filepath.Dir(full), 0o750); err != nil {
				t.Fatal(err)
			}
			if err := os.WriteFile(full, []byte(content), 0o600); err != nil {
				t.Fatal(err)
			}
		}
		for link, target := range map[string]string{"pub": "private", "pubfile": "private/secret", "pubdir/up": "../private", "alias": "pubdir"} {
			if err := os.Symlink(target, filepath.Join(root, user, link)); err != nil {
				t.Fatal(err)
			}
		}
	}
	// cat opens its path from the top of the tree, as given.
	cat := func(p string) response { return c.request("cat", nil, map[string]any{"path": p[1:]}, nil) }
	for _, tc := range []struct{ path, msg string }{
		{"/private/secret", "/private/secret: permission denied (needs read)"},
		{"/pub/secret", "/pub/secret: permission denied (/pub is a symlink, not followed where paths have permissions of their own)"},
		{"/pubfile", "/pubfile: permission denied (/pubfile is a symlink, not followed where paths have permissions of their own)"},
		{"/pubdir/up/secret", "/pubdir/up/secret: permission denied (/pubdir/up is a symlink, not followed where paths have permissions of their own)"},
		// A link to a place under the same rules is refused too: the
		// host does not resolve links, so it cannot tell.
		{"/alias/ok.txt", "/alias/ok.txt: permission denied (/alias is a symlink, not followed where paths have permissions of their own)"},
	} {
		if r := cat(tc.path); r.status.Code != protocol.CodePermission || r.status.Message != tc.msg || len(r.body) != 0 {
			t.Errorf("cat %s: %+v %q, want permission %q", tc.path, r.status, r.body, tc.msg)
		}
	}
	for p, want := range map[string]string{"/plain.txt": "plain\n", "/pubdir/ok.txt": "ok\n"} {
		if r := cat(p); !r.status.OK() || string(r.body) != want {
			t.Errorf("cat %s: %+v %q, want %q", p, r.status, r.body, want)
		}
	}

	// alice's tree has no path rules: a link inside it is followed.
	ca := loginAs(t, c.RemoteAddr().String(), "alice")
	if r := ca.request("cat", nil, map[string]any{"path": "pub/secret"}, nil); !r.status.OK() || string(r.body) != "secret\n" {
		t.Errorf("alice cat /pub/secret: %+v %q, want the file", r.status, r.body)
	}
}
