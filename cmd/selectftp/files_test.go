package main

import (
	"bytes"
	"context"
	"fmt"
	"os"
	"slices"
	"testing"
	"time"

	"github.com/selectftp/selectftp/client"
	"github.com/selectftp/selectftp/host/hosttest"
	"github.com/selectftp/selectftp/plugins"
	"github.com/selectftp/selectftp/protocol"
	"github.com/selectftp/selectftp/sdk"
)

func testSession(addr string, stdoutTTY bool) (*session, *bytes.Buffer, *bytes.Buffer) {
	var out, errb bytes.Buffer
	return &session{addr: addr, stdout: &out, stderr: &errb, width: func() int { return 80 }, stdoutTTY: stdoutTTY}, &out, &errb
}

func standardServer(t *testing.T, verbs ...string) *hosttest.Server {
	var cmds []sdk.Command
	for _, v := range verbs {
		c, ok := plugins.New(v)
		if !ok {
			t.Fatalf("no standard verb %s", v)
		}
		cmds = append(cmds, c)
	}
	return hosttest.NewServer(t, cmds...)
}

// A verb the server lacks is answered by its fallback: on a terminal the
// user is told, on a pipe the output stays exactly the fallback's.
func TestFallbackNote(t *testing.T) {
	srv := newServer(t) // no rm here
	ctx, cancel := context.WithTimeout(t.Context(), 20*time.Second)
	defer cancel()
	for _, tty := range []bool{true, false} {
		s, out, errb := testSession(srv.Addr, tty)
		if err := s.run(ctx, []string{"rm", "small.txt"}); err != nil {
			t.Fatal(err)
		}
		if err := s.run(ctx, []string{"upper", "x"}); err != nil {
			t.Fatal(err)
		}
		s.drop()
		want := ""
		if tty {
			want = `note: the server has no verb "rm"; its fallback "upper" answered` + "\n"
		}
		if out.String() != "RM SMALL.TXT\nX\n" || errb.String() != want {
			t.Errorf("tty=%v: stdout %q, stderr %q; want stderr %q", tty, out, errb, want)
		}
	}
	if got := fallbackNote("frob", nil, "something else\n", []string{"helps", "upper"}); got != `note: the server has no verb "frob"; its fallback answered` {
		t.Errorf("unknown fallback: %q", got)
	}
}

// cd lives in the server's session: after a reconnect the CLI goes back
// to the folder the user chose.
func TestCdSurvivesReconnect(t *testing.T) {
	srv := standardServer(t, "helps", "mkdir", "cd", "pwd", "upper")
	ctx, cancel := context.WithTimeout(t.Context(), 20*time.Second)
	defer cancel()
	s, out, _ := testSession(srv.Addr, false)
	defer s.drop()
	for _, cmd := range [][]string{{"mkdir", "sub"}, {"cd", "sub"}} {
		if err := s.run(ctx, cmd); err != nil {
			t.Fatal(err)
		}
	}
	first := s.conn
	first.Close() // as a server restart or an idle timeout would
	if err := s.run(ctx, []string{"pwd"}); err != nil {
		t.Fatal(err)
	}
	if s.conn == first || out.String() != "/sub\n" {
		t.Fatalf("pwd on a new connection: %q (new connection: %v)", out, s.conn != first)
	}
}

func TestSplitCommands(t *testing.T) {
	got, err := splitCommands(`put 'a;b' x; ls "c;\"d" ;pwd` + "\ncd e")
	want := []string{`put 'a;b' x`, ` ls "c;\"d" `, `pwd`, `cd e`}
	if err != nil || !slices.Equal(got, want) {
		t.Fatalf("splitCommands = %q, %v; want %q", got, err, want)
	}
	if _, err := splitCommands(`ls 'a;b`); err == nil {
		t.Fatal("an open quote was accepted")
	}
}

func TestExitCodes(t *testing.T) {
	status := func(c protocol.Code) error {
		return fmt.Errorf("rm x: %w", &protocol.StatusError{Code: c, Message: "m"})
	}
	for _, tc := range []struct {
		err  error
		want int
	}{
		{nil, 0},
		{usagef("usage"), 2},
		{status(protocol.CodeNotFound), 3},
		{status(protocol.CodePermission), 4},
		{status(protocol.CodeExists), 4},
		{status(protocol.CodeTooLarge), 4},
		{status(protocol.CodeNoSpace), 4},
		{status(protocol.CodeBadRequest), 4},
		{status(protocol.CodeChecksum), 6},
		{fmt.Errorf("upper: %w", client.ErrClosed), 5},
		{status(protocol.CodeInternal), 1},
		{context.Canceled, 130},
		{&os.PathError{Op: "open", Path: "f", Err: os.ErrNotExist}, 1},
	} {
		if got := exitCode(tc.err); got != tc.want {
			t.Errorf("exitCode(%v) = %d, want %d", tc.err, got, tc.want)
		}
	}
}
