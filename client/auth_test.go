package client_test

import (
	"bytes"
	"context"
	"errors"
	"os"
	"path/filepath"
	"testing"

	"github.com/selectftp/selectftp/client"
	"github.com/selectftp/selectftp/host/auth"
	"github.com/selectftp/selectftp/host/hosttest"
	"github.com/selectftp/selectftp/plugins/get"
	"github.com/selectftp/selectftp/plugins/upper"
	"github.com/selectftp/selectftp/protocol"
)

type memUsers map[string]auth.Account

func (u memUsers) Lookup(name string) (auth.Account, error) {
	if a, ok := u[name]; ok {
		return a, nil
	}
	return auth.Account{}, auth.ErrUnknownUser
}

// usersServer serves get and upper to alice (password "secret"), whose
// tree holds hi.txt.
func usersServer(t *testing.T) *hosttest.Server {
	t.Helper()
	cr, err := auth.NewCredentials("secret", auth.MinIterations)
	if err != nil {
		t.Fatal(err)
	}
	s := hosttest.NewUnstartedServer(t, get.New(), upper.New())
	s.Host.Users = memUsers{"alice": {Name: "alice", Root: "alice", Perms: auth.AllPerms(), Credentials: cr}}
	if err := os.MkdirAll(filepath.Join(s.Root, "alice"), 0o750); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(s.Root, "alice", "hi.txt"), []byte("hi\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	s.Start()
	return s
}

func TestWithUser(t *testing.T) {
	s := usersServer(t)
	ctx := context.Background()
	user := client.WithUser("alice", "secret")
	for range 2 { // the option serves many connections
		c, err := client.Dial(ctx, s.Addr, user)
		if err != nil {
			t.Fatalf("Dial as alice: %v", err)
		}
		var got bytes.Buffer
		if _, err := c.Do(ctx, protocol.Request{Verb: "get", Params: map[string]any{"path": "/hi.txt"}}, nil, &got); err != nil || got.String() != "hi\n" {
			t.Fatalf("get /hi.txt = %q, %v", got.String(), err)
		}
		c.Close()
	}
	for name, opt := range map[string]client.Option{
		"wrong password": client.WithUser("alice", "guess"),
		"unknown user":   client.WithUser("mallory", "secret"),
		"empty password": client.WithUser("alice", ""),
	} {
		_, err := client.Dial(ctx, s.Addr, opt)
		if !errors.Is(err, client.ErrAuth) || err.Error() != "authentication failed" || client.Code(err) != protocol.CodeAuthFailed {
			t.Errorf("%s: Dial = %v, want ErrAuth saying exactly \"authentication failed\"", name, err)
		}
	}
	if _, err := client.Dial(ctx, s.Addr); !errors.Is(err, client.ErrUnauthenticated) {
		t.Errorf("Dial without a user = %v, want ErrUnauthenticated", err)
	}
	// A login asked of a server that takes none is an error, not a
	// silent anonymous session.
	anon := hosttest.NewServer(t, upper.New())
	if _, err := client.Dial(ctx, anon.Addr, user); err == nil {
		t.Error("Dial with a user to an anonymous server succeeded")
	}
}
