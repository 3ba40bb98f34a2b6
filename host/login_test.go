package host

import (
	"context"
	"io"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/xdg-go/scram"

	"github.com/selectftp/selectftp/host/auth"
	"github.com/selectftp/selectftp/protocol"
	"github.com/selectftp/selectftp/sdk"
)

// testUsers is an in-memory auth.Store.
type testUsers map[string]auth.Account

func (u testUsers) Lookup(name string) (auth.Account, error) {
	a, ok := u[name]
	if !ok {
		return auth.Account{}, auth.ErrUnknownUser
	}
	return a, nil
}

// The accounts' credentials are made once: PBKDF2 is the slow part, and
// MinIterations keeps it short.
var (
	credsOnce sync.Once
	credsErr  error
	creds     = map[string]scram.StoredCredentials{}
)

func loginUsers(t *testing.T) testUsers {
	t.Helper()
	credsOnce.Do(func() {
		for name, pw := range map[string]string{"alice": "alice-pw", "bob": "bob-pw"} {
			if creds[name], credsErr = auth.NewCredentials(pw, auth.MinIterations); credsErr != nil {
				return
			}
		}
	})
	if credsErr != nil {
		t.Fatal(credsErr)
	}
	return testUsers{
		"alice": {Name: "alice", Root: "alice", Perms: auth.AllPerms(), Credentials: creds["alice"]},
		"bob":   {Name: "bob", Root: "bob", Perms: auth.AllPerms(), Credentials: creds["bob"]},
	}
}

// catCommand writes the file params.path of the request's tree: it shows
// which tree a session got.
func catCommand() sdk.Command {
	return sdk.Func(sdk.Description{Verb: "cat", Summary: "write a file of the tree",
		Access: []sdk.Access{{Perm: sdk.PermRead, Params: []string{"path"}}}},
		func(ctx context.Context, req *sdk.Request, w sdk.ResponseWriter) error {
			var p struct{ Path string }
			if err := req.Decode(&p); err != nil {
				return err
			}
			f, err := req.Root.Open(p.Path)
			if err != nil {
				return sdk.Errorf(sdk.CodeNotFound, "%v", err)
			}
			defer f.Close()
			_, err = io.Copy(w, f)
			return err
		})
}

// startUsersServer serves the test commands and cat to alice and bob,
// whose trees hold a.txt and b.txt.
func startUsersServer(t *testing.T, backend string, tune func(*Server)) (*Server, string) {
	users := loginUsers(t)
	return startServer(t, backend, func(s *Server) {
		s.Users = users
		for name, file := range map[string]string{"alice": "a.txt", "bob": "b.txt"} {
			os.MkdirAll(filepath.Join(s.Root, name), 0o750)
			if err := os.WriteFile(filepath.Join(s.Root, name, file), []byte(name+"\n"), 0o600); err != nil {
				t.Fatal(err)
			}
		}
		os.WriteFile(filepath.Join(s.Root, "top.txt"), []byte("top\n"), 0o600)
		if err := s.Register(catCommand()); err != nil {
			t.Fatal(err)
		}
		if tune != nil {
			tune(s)
		}
	})
}

// scramClient is a SCRAM client for name and password; it fails the test
// when the library refuses them.
func scramClient(t *testing.T, name, password string) *scram.Client {
	t.Helper()
	c, err := scram.SHA256.NewClient(name, password, "")
	if err != nil {
		t.Fatal(err)
	}
	return c
}

// authFrame reads the server's A frame and returns its data, failing the
// test on anything else.
func (c *rawConn) authFrame() string {
	c.t.Helper()
	f := c.next()
	if f.Type != protocol.TypeAuth {
		c.t.Fatalf("got %v %s, want an auth frame", f.Type, f.Payload)
	}
	var a protocol.Auth
	if err := protocol.Unmarshal(f.Type, f.Payload, &a); err != nil {
		c.t.Fatal(err)
	}
	return a.Data
}

// login runs a whole SCRAM conversation and returns the final status and
// the messages the client sent (client-first, client-final), for replays.
func (c *rawConn) login(sc *scram.Client) (protocol.Status, [2]string) {
	c.t.Helper()
	conv := sc.NewConversation()
	var sent [2]string
	first, err := conv.Step("")
	if err != nil {
		c.t.Fatal(err)
	}
	sent[0] = first
	c.send(protocol.TypeAuth, protocol.Auth{Mechanism: protocol.MechSCRAMSHA256, Data: first})
	final, err := conv.Step(c.authFrame())
	if err != nil {
		c.t.Fatal(err)
	}
	sent[1] = final
	c.send(protocol.TypeAuth, protocol.Auth{Data: final})
	st := c.status()
	if st.OK() {
		if _, err := conv.Step(st.Data); err != nil || !conv.Valid() {
			c.t.Fatalf("the server's final message does not prove it knows the keys: %v", err)
		}
	}
	return st, sent
}

func TestLoginSeesOnlyOwnTree(t *testing.T) {
	forEachBackend(t, func(t *testing.T, backend string) {
		_, addr := startUsersServer(t, backend, nil)
		c := dialRaw(t, addr)
		c.send(protocol.TypeHello, protocol.Hello{Protocol: protocol.ProtocolName, Versions: []int{protocol.Version}})
		var h protocol.Hello
		if f := c.next(); f.Type != protocol.TypeHello || protocol.Unmarshal(f.Type, f.Payload, &h) != nil {
			t.Fatalf("hello answered with %v %s", f.Type, f.Payload)
		}
		if len(h.Auth) != 1 || h.Auth[0] != protocol.MechSCRAMSHA256 || h.Anonymous {
			t.Fatalf("hello of a server with users = %+v, want auth [SCRAM-SHA-256] and not anonymous", h)
		}
		if st, _ := c.login(scramClient(t, "alice", "alice-pw")); !st.OK() || st.Data == "" {
			t.Fatalf("login = %+v, want ok with server-final", st)
		}
		if r := c.request("cat", nil, map[string]any{"path": "a.txt"}, nil); !r.status.OK() || string(r.body) != "alice\n" {
			t.Fatalf("alice's a.txt = %q %+v", r.body, r.status)
		}
		for _, p := range []string{"b.txt", "../bob/b.txt", "/bob/b.txt", "top.txt", "../top.txt"} {
			if r := c.request("cat", nil, map[string]any{"path": p}, nil); r.status.OK() {
				t.Errorf("alice read %s: %q", p, r.body)
			}
		}
		// An A frame after the login is out of place.
		c.send(protocol.TypeAuth, protocol.Auth{Data: "n,,n=bob,r=x"})
		if st := c.status(); st.Code != protocol.CodeProtocol {
			t.Errorf("auth after the login = %+v, want protocol", st)
		}
	})
}

// A wrong password and an unknown user get the same answer, after the
// same conversation: a server-first message of one shape (a nonce, a salt
// of one length, the same iteration count), then the same status.
func TestLoginUnknownUserLooksLikeWrongPassword(t *testing.T) {
	forEachBackend(t, func(t *testing.T, backend string) {
		_, addr := startUsersServer(t, backend, nil)
		try := func(name, password string) (shape string, st protocol.Status) {
			c := dialRaw(t, addr).hello()
			conv := scramClient(t, name, password).NewConversation()
			first, _ := conv.Step("")
			c.send(protocol.TypeAuth, protocol.Auth{Mechanism: protocol.MechSCRAMSHA256, Data: first})
			f := c.next()
			if f.Type != protocol.TypeAuth {
				// No server-first at all: the answer differs already.
				return "no server-first: " + string(f.Payload), protocol.Status{}
			}
			var a protocol.Auth
			protocol.Unmarshal(f.Type, f.Payload, &a)
			var parts []string
			for _, kv := range strings.Split(a.Data, ",") {
				k, v, _ := strings.Cut(kv, "=")
				switch k {
				case "i":
					// Decoys advertise auth.DefaultIterations; these
					// accounts have MinIterations, which a prober can
					// see (TestLoginDecoyCountFixed). The shape is the rest.
				default:
					parts = append(parts, k+"="+strings.Repeat("x", len(v)))
				}
			}
			final, err := conv.Step(a.Data)
			if err != nil {
				t.Fatal(err)
			}
			c.send(protocol.TypeAuth, protocol.Auth{Data: final})
			st = c.status()
			if !c.closed() {
				t.Errorf("%s: the connection stays open after a failed login", name)
			}
			return strings.Join(parts, ","), st
		}
		wrongShape, wrong := try("alice", "not-alices")
		unknownShape, unknown := try("mallory", "not-alices")
		emptyShape, empty := try("alice", "")
		want := protocol.Status{Code: protocol.CodeAuthFailed, Message: "authentication failed"}
		for name, got := range map[string]protocol.Status{"wrong password": wrong, "unknown user": unknown, "empty password": empty} {
			if got != want {
				t.Errorf("%s: %+v, want %+v", name, got, want)
			}
		}
		if wrongShape != unknownShape || wrongShape != emptyShape {
			t.Errorf("server-first differs:\nwrong password %s\nunknown user   %s\nempty password %s", wrongShape, unknownShape, emptyShape)
		}
	})
}

// A client-final message recorded from a successful login does not log in
// again: the server's part of the nonce is new on each connection, and the
// proof covers it.
func TestLoginReplayFails(t *testing.T) {
	forEachBackend(t, func(t *testing.T, backend string) {
		_, addr := startUsersServer(t, backend, nil)
		st, sent := dialRaw(t, addr).hello().login(scramClient(t, "alice", "alice-pw"))
		if !st.OK() {
			t.Fatalf("login = %+v", st)
		}
		c := dialRaw(t, addr).hello()
		c.send(protocol.TypeAuth, protocol.Auth{Mechanism: protocol.MechSCRAMSHA256, Data: sent[0]})
		c.authFrame()
		c.send(protocol.TypeAuth, protocol.Auth{Data: sent[1]})
		if st := c.status(); st.Code != protocol.CodeAuthFailed {
			t.Fatalf("replayed client-final = %+v, want auth_failed", st)
		}
		if r := c.closed(); !r {
			t.Error("the connection stays open after a replay")
		}
	})
}

// A client that starts a login and stops is closed by the hello timeout.
func TestLoginStalledIsClosed(t *testing.T) {
	forEachBackend(t, func(t *testing.T, backend string) {
		_, addr := startUsersServer(t, backend, func(s *Server) { s.HelloTimeout = 300 * time.Millisecond })
		for _, stop := range []string{"after hello", "after client-first"} {
			c := dialRaw(t, addr).hello()
			if stop == "after client-first" {
				first, _ := scramClient(t, "alice", "alice-pw").NewConversation().Step("")
				c.send(protocol.TypeAuth, protocol.Auth{Mechanism: protocol.MechSCRAMSHA256, Data: first})
				c.authFrame()
			}
			begin := time.Now()
			if st := c.status(); st.Code != protocol.CodeTimeout {
				t.Errorf("%s: %+v, want timeout", stop, st)
			}
			if d := time.Since(begin); d > 5*time.Second {
				t.Errorf("%s: closed after %v", stop, d)
			}
		}
	})
}

// A request before the login is refused and runs nothing.
func TestRequestBeforeLoginRefused(t *testing.T) {
	forEachBackend(t, func(t *testing.T, backend string) {
		_, addr := startUsersServer(t, backend, nil)
		c := dialRaw(t, addr).hello()
		r := c.request("cat", nil, map[string]any{"path": "top.txt"}, nil)
		if r.status.Code != protocol.CodeUnauthenticated || r.body != nil {
			t.Fatalf("request before login = %q %+v, want unauthenticated and no body", r.body, r.status)
		}
		if !c.closed() {
			t.Error("the connection stays open")
		}
	})
}

// Without users nothing changes: the Hello says so and requests run.
func TestAnonymousWithoutUsers(t *testing.T) {
	forEachBackend(t, func(t *testing.T, backend string) {
		_, addr := startServer(t, backend, nil)
		c := dialRaw(t, addr)
		c.send(protocol.TypeHello, protocol.Hello{Protocol: protocol.ProtocolName, Versions: []int{protocol.Version}})
		var h protocol.Hello
		if f := c.next(); f.Type != protocol.TypeHello || protocol.Unmarshal(f.Type, f.Payload, &h) != nil {
			t.Fatalf("hello answered with %v %s", f.Type, f.Payload)
		}
		if !h.Anonymous || len(h.Auth) != 0 {
			t.Fatalf("hello of a server without users = %+v, want anonymous", h)
		}
		if r := c.request("upper", []string{"hi"}, nil, nil); !r.status.OK() || string(r.body) != "HI\n" {
			t.Fatalf("upper = %q %+v", r.body, r.status)
		}
		c.send(protocol.TypeAuth, protocol.Auth{Mechanism: protocol.MechSCRAMSHA256, Data: "n,,n=alice,r=x"})
		if st := c.status(); st.Code != protocol.CodeProtocol {
			t.Errorf("auth on an anonymous server = %+v, want protocol", st)
		}
	})
}
