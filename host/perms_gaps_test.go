package host

import (
	"os"
	"path/filepath"
	"testing"

	"github.com/selectftp/selectftp/host/auth"
	"github.com/selectftp/selectftp/plugins/mkdir"
	"github.com/selectftp/selectftp/protocol"
)

// startGapsServer serves bob (perms, pathPerms) with the real mkdir and
// returns his tree and a logged-in connection.
func startGapsServer(t *testing.T, perms []auth.Perm, pathPerms map[string][]auth.Perm) (string, *rawConn) {
	t.Helper()
	users := loginUsers(t)
	bob := users["bob"]
	bob.Perms, bob.PathPerms = perms, pathPerms
	users["bob"] = bob
	srv, addr := startServer(t, "goroutine", func(s *Server) {
		s.Users = users
		if err := s.Register(mkdir.New()); err != nil {
			t.Fatal(err)
		}
	})
	c := dialRaw(t, addr).hello()
	if st, _ := c.login(scramClient(t, "bob", "bob-pw")); !st.OK() {
		t.Fatalf("login: %+v", st)
	}
	return filepath.Join(srv.Root, "bob"), c
}

// mkdir -p needs mkdir at every folder it would make, not only the last:
// a rule granting mkdir at /x/y says nothing about making /x.
func TestMkdirParentsNeedMkdirWhereMade(t *testing.T) {
	bobDir, c := startGapsServer(t, []auth.Perm{auth.PermList, auth.PermRead},
		map[string][]auth.Perm{"/x/y": {auth.PermList, auth.PermMkdir}})
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
