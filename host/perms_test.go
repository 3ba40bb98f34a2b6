package host

import (
	"context"
	"os"
	"path/filepath"
	"sync"
	"testing"

	"github.com/selectftp/selectftp/host/auth"
	"github.com/selectftp/selectftp/protocol"
	"github.com/selectftp/selectftp/sdk"
)

// permCommands are a writer that declares write at its path, a remover that
// declares delete (a tree with -r), and a verb that declares nothing but
// would write if it had a root: what a plugin that forgets looks like.
func permCommands(ran *ranList) []sdk.Command {
	touch := sdk.Func(sdk.Description{Verb: "touch", Access: []sdk.Access{{Perm: sdk.PermWrite}}},
		func(ctx context.Context, req *sdk.Request, w sdk.ResponseWriter) error {
			ran.add("touch")
			rel, err := req.Resolve(req.Args[0])
			if err != nil {
				return err
			}
			return req.Root.WriteFile(rel, []byte("x"), 0o600)
		})
	zap := sdk.Func(sdk.Description{Verb: "zap", Options: []sdk.Option{{Short: "-r", Param: "recursive"}},
		Access: []sdk.Access{{Perm: sdk.PermDelete, TreeIf: "recursive"}}},
		func(ctx context.Context, req *sdk.Request, w sdk.ResponseWriter) error {
			ran.add("zap")
			return nil
		})
	forgetful := sdk.Func(sdk.Description{Verb: "forgetful"},
		func(ctx context.Context, req *sdk.Request, w sdk.ResponseWriter) error {
			ran.add("forgetful")
			if req.Root == nil {
				return sdk.Errorf(sdk.CodeInternal, "no root")
			}
			return req.Root.WriteFile("forgot.txt", []byte("x"), 0o600)
		})
	whoami := sdk.Func(sdk.Description{Verb: "whoami"},
		func(ctx context.Context, req *sdk.Request, w sdk.ResponseWriter) error {
			if req.User == nil {
				_, err := w.Write([]byte("anonymous"))
				return err
			}
			_, err := w.Write([]byte(req.User.Name + " " + string(req.User.PathPerms["/incoming"][0])))
			return err
		})
	return []sdk.Command{touch, zap, forgetful, whoami}
}

// ranList records which commands ran; they run on worker goroutines.
type ranList struct {
	mu    sync.Mutex
	verbs []string
}

func (r *ranList) add(v string) { r.mu.Lock(); r.verbs = append(r.verbs, v); r.mu.Unlock() }
func (r *ranList) reset()       { r.mu.Lock(); r.verbs = nil; r.mu.Unlock() }
func (r *ranList) n() int       { r.mu.Lock(); defer r.mu.Unlock(); return len(r.verbs) }

// The host refuses what an account may not do before the command runs,
// and a verb that declares no access gets no root, on both backends.
func TestPermissionsCheckedBeforeTheCommand(t *testing.T) {
	forEachBackend(t, func(t *testing.T, backend string) {
		var ran ranList
		users := loginUsers(t)
		ro := users["bob"]
		ro.Perms = []auth.Perm{auth.PermList, auth.PermRead, auth.PermDelete}
		ro.PathPerms = map[string][]auth.Perm{"/incoming": {auth.PermWrite}, "/d/keep": {auth.PermList}}
		users["bob"] = ro
		srv, addr := startServer(t, backend, func(s *Server) {
			s.Users = users
			for _, c := range permCommands(&ran) {
				if err := s.Register(c); err != nil {
					t.Fatal(err)
				}
			}
		})
		bobDir := filepath.Join(srv.Root, "bob")
		c := dialRaw(t, addr).hello()
		if st, _ := c.login(scramClient(t, "bob", "bob-pw")); !st.OK() {
			t.Fatalf("login: %+v", st)
		}
		for _, tc := range []struct {
			verb string
			args []string
			msg  string // "": allowed
		}{
			{"touch", []string{"f"}, "/f: permission denied (needs write)"},
			{"touch", []string{"/incoming/../f"}, "/f: permission denied (needs write)"},
			{"touch", []string{"../../incoming/up"}, ""},
			{"zap", []string{"/d"}, ""},
			{"zap", []string{"-r", "/d"}, "/d: permission denied (needs delete at /d/keep, below it)"},
			{"zap", []string{"-r", "/"}, "/: permission denied (needs delete at /d/keep, below it)"},
			{"zap", []string{"-r", "/other"}, ""},
		} {
			ran.reset()
			if err := os.MkdirAll(filepath.Join(bobDir, "incoming"), 0o750); err != nil {
				t.Fatal(err)
			}
			r := c.request(tc.verb, tc.args, nil, nil)
			switch {
			case tc.msg == "" && !r.status.OK():
				t.Errorf("%s %q: %+v, want ok", tc.verb, tc.args, r.status)
			case tc.msg != "" && (r.status.Code != protocol.CodePermission || r.status.Message != tc.msg || ran.n() != 0):
				t.Errorf("%s %q: %+v (ran %d), want permission %q and the command never run", tc.verb, tc.args, r.status, ran.n(), tc.msg)
			}
		}
		if _, err := os.Stat(filepath.Join(bobDir, "f")); err == nil {
			t.Error("a refused write left a file")
		}
		if _, err := os.Stat(filepath.Join(bobDir, "incoming", "up")); err != nil {
			t.Errorf("an allowed write: %v", err)
		}
		// A verb that declares nothing runs with no root, even for an
		// account with every permission.
		ran.reset()
		if r := c.request("forgetful", nil, nil, nil); r.status.Code != protocol.CodeInternal || ran.n() != 1 {
			t.Errorf("forgetful: %+v, want it run with no root", r.status)
		}
		if _, err := os.Stat(filepath.Join(bobDir, "forgot.txt")); err == nil {
			t.Error("a verb that declared no access wrote a file")
		}
		if r := c.request("whoami", nil, nil, nil); string(r.body) != "bob write" {
			t.Errorf("whoami = %q %+v, want the user and their path perms", r.body, r.status)
		}
	})
}

// Anonymous sessions (no users) may do everything, but a verb that
// declares nothing still gets no root.
func TestAnonymousPermissions(t *testing.T) {
	var ran ranList
	srv, addr := startServer(t, "goroutine", func(s *Server) {
		for _, c := range permCommands(&ran) {
			if err := s.Register(c); err != nil {
				t.Fatal(err)
			}
		}
	})
	c := dialRaw(t, addr).hello()
	if r := c.request("touch", []string{"f"}, nil, nil); !r.status.OK() {
		t.Errorf("anonymous touch: %+v", r.status)
	}
	if r := c.request("forgetful", nil, nil, nil); r.status.Code != protocol.CodeInternal {
		t.Errorf("forgetful: %+v, want no root", r.status)
	}
	if _, err := os.Stat(filepath.Join(srv.Root, "forgot.txt")); err == nil {
		t.Error("a verb that declared no access wrote a file")
	}
	if r := c.request("whoami", nil, nil, nil); string(r.body) != "anonymous" {
		t.Errorf("whoami = %q", r.body)
	}
}

// The SDK's User.Allows (what commands ask) and auth.Account.Allows (what
// the host checks) agree.
func TestUserAllowsAgreesWithAccount(t *testing.T) {
	a := auth.Account{Name: "a", Perms: []auth.Perm{auth.PermList, auth.PermRead},
		PathPerms: map[string][]auth.Perm{"/in": {auth.PermWrite}, "/in/": {auth.PermWrite, auth.PermRead},
			"/x/y": {}, "pub/": {auth.PermDelete}}}
	u := userOf(a)
	for _, p := range auth.AllPerms() {
		for _, vp := range []string{"/", "/in", "/in/a", "/inx", "/x", "/x/y/z", "/pub", "/pub/q", "/a/../in", "in"} {
			if got, want := u.Allows(sdk.Perm(p), vp), a.Allows(p, vp); got != want {
				t.Errorf("%s at %s: sdk says %v, auth says %v", p, vp, got, want)
			}
		}
	}
}
