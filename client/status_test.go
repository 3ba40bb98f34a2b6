package client_test

import (
	"context"
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/selectftp/selectftp/client"
	"github.com/selectftp/selectftp/host/hosttest"
	"github.com/selectftp/selectftp/plugins/upper"
	"github.com/selectftp/selectftp/protocol"
)

// A server without the file verbs routes them to its fallback, which
// answers with success: the typed methods must not pass that off as the
// operation, and DoStatus shows which verb answered.
func TestFallbackAnswerIsNotTheOperation(t *testing.T) {
	srv := hosttest.NewServer(t, upper.New())
	ctx, cancel := context.WithTimeout(t.Context(), 10*time.Second)
	defer cancel()
	c, err := client.Dial(ctx, srv.Addr)
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()

	var b strings.Builder
	_, st, err := c.DoStatus(ctx, protocol.Request{Verb: "frob", Args: []string{"x"}}, nil, &b)
	if err != nil || b.String() != "FROB X\n" || st.Fallback != "upper" || !st.OK() {
		t.Fatalf("DoStatus: %q, %+v, %v", b.String(), st, err)
	}
	if _, st, err = c.DoStatus(ctx, protocol.Request{Verb: "upper", Args: []string{"x"}}, nil, nil); err != nil || st.Fallback != "" {
		t.Fatalf("a served verb: %+v, %v", st, err)
	}
	if text, fb, err := c.CommandFallback(ctx, "rm", []string{"a"}); err != nil || text != "RM A\n" || fb != "upper" {
		t.Fatalf("CommandFallback: %q, %q, %v", text, fb, err)
	}

	_, statErr := c.Stat(ctx, "a")
	_, listErr := c.List(ctx, client.ListOptions{}, "a")
	_, cdErr := c.Cd(ctx, "a")
	for name, err := range map[string]error{
		"remove": c.Remove(ctx, false, "a"),
		"mkdir":  c.Mkdir(ctx, false, "a"),
		"rename": c.Rename(ctx, "a", "b", false),
		"stat":   statErr,
		"list":   listErr,
		"cd":     cdErr,
	} {
		var fe *client.FallbackError
		if !errors.As(err, &fe) || fe.Fallback != "upper" || !errors.Is(err, client.ErrUnknownVerb) {
			t.Errorf("%s: %v, want the fallback named and unknown_verb", name, err)
		}
	}
}
