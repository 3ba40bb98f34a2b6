package host

import (
	"context"
	"io"
	"testing"

	"github.com/selectftp/selectftp/sdk"
)

// A command changes the session's current folder with sdk.SetDir; the
// next requests of that session, and no other, see it; a failed request
// changes nothing.
func TestSessionDir(t *testing.T) {
	forEachBackend(t, func(t *testing.T, backend string) {
		_, addr := startServer(t, backend, func(s *Server) {
			s.Register(sdk.Func(sdk.Description{Verb: "cd"}, func(ctx context.Context, req *sdk.Request, w sdk.ResponseWriter) error {
				rel, err := req.Resolve(req.Args[0])
				if err != nil {
					return err
				}
				if err := sdk.SetDir(w, sdk.Virtual(rel)); err != nil {
					return err
				}
				if len(req.Args) > 1 {
					return sdk.Errorf(sdk.CodeNotFound, "asked to fail")
				}
				return nil
			}))
			s.Register(sdk.Func(sdk.Description{Verb: "pwd"}, func(ctx context.Context, req *sdk.Request, w sdk.ResponseWriter) error {
				_, err := io.WriteString(w, req.Dir)
				return err
			}))
		})
		a, b := dialRaw(t, addr).hello(), dialRaw(t, addr).hello()
		pwd := func(c *rawConn) string { return string(c.request("pwd", nil, nil, nil).body) }
		if got := pwd(a); got != "/" {
			t.Fatalf("a new session is in %q", got)
		}
		for _, step := range []struct{ arg, want string }{{"sub", "/sub"}, {"deep/er", "/sub/deep/er"}, {"../..", "/sub"}, {"/", "/"}, {"../../x", "/x"}} {
			if r := a.request("cd", []string{step.arg}, nil, nil); !r.status.OK() {
				t.Fatalf("cd %s: %+v", step.arg, r.status)
			}
			if got := pwd(a); got != step.want {
				t.Fatalf("after cd %s: in %q, want %q", step.arg, got, step.want)
			}
		}
		if r := a.request("cd", []string{"elsewhere", "fail"}, nil, nil); r.status.OK() {
			t.Fatal("the failing cd succeeded")
		}
		if got := pwd(a); got != "/x" {
			t.Fatalf("a failed cd moved the session to %q", got)
		}
		if got := pwd(b); got != "/" {
			t.Fatalf("another session moved to %q", got)
		}
	})
}
