package sdktest_test

import (
	"context"
	"errors"
	"io"
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"testing"
	"time"

	"github.com/selectftp/selectftp/sdk"
	"github.com/selectftp/selectftp/sdk/sdktest"
)

// both runs the same request in-process and through gRPC.
func both(t *testing.T, cmd sdk.Command, f func(t *testing.T, cmd sdk.Command)) {
	t.Run("in-process", func(t *testing.T) { f(t, cmd) })
	t.Run("grpc", func(t *testing.T) { f(t, sdktest.ServeGRPC(t, cmd)) })
}

// echo answers what it was given: verb, args, params, body, root listing,
// the host's verbs, as metadata and body.
var echo = sdk.Func(sdk.Description{Verb: "echo", Summary: "echo the request", Usage: "usage: echo\n"},
	func(ctx context.Context, req *sdk.Request, w sdk.ResponseWriter) error {
		body, err := io.ReadAll(req.Body)
		if err != nil {
			return err
		}
		cmds, err := req.Host.Commands(ctx)
		if err != nil {
			return err
		}
		var verbs []string
		for _, c := range cmds {
			verbs = append(verbs, c.Verb)
		}
		entries, err := fs(req.Root)
		if err != nil {
			return err
		}
		for k, v := range map[string]any{
			"verb": req.Verb, "args": req.Args, "params": req.Params,
			"verbs": verbs, "files": entries, "count": len(body),
		} {
			if err := w.SetMeta(k, v); err != nil {
				return err
			}
		}
		_, err = w.Write(body)
		return err
	})

func fs(root *os.Root) ([]string, error) {
	d, err := root.Open(".")
	if err != nil {
		return nil, err
	}
	defer d.Close()
	return d.Readdirnames(-1)
}

func TestRunDefaults(t *testing.T) {
	both(t, echo, func(t *testing.T, cmd sdk.Command) {
		res := sdktest.Run(t, cmd, sdktest.Request{})
		if res.Err != nil || res.Code != sdk.CodeOK || res.Message != "" {
			t.Fatalf("Run: %v (%s %q)", res.Err, res.Code, res.Message)
		}
		want := map[string]any{
			"verb": "echo", "args": nil, "params": nil,
			"verbs": []any{"echo"}, "files": []any{}, "count": float64(0),
		}
		if !reflect.DeepEqual(res.Meta, want) {
			t.Errorf("Meta = %#v, want %#v", res.Meta, want)
		}
		if len(res.Body) != 0 {
			t.Errorf("Body = %q, want empty", res.Body)
		}
	})
}

func TestRunRequest(t *testing.T) {
	both(t, echo, func(t *testing.T, cmd sdk.Command) {
		dir := t.TempDir()
		if err := os.WriteFile(filepath.Join(dir, "a.txt"), nil, 0o644); err != nil {
			t.Fatal(err)
		}
		res := sdktest.Run(t, cmd, sdktest.Request{
			Verb:     "other",
			Args:     []string{"x", "y"},
			Params:   map[string]any{"n": float64(3), "s": "v"},
			Body:     strings.NewReader("body bytes"),
			Root:     dir,
			Commands: []sdk.Description{{Verb: "a"}, {Verb: "b"}},
		})
		if res.Err != nil {
			t.Fatal(res.Err)
		}
		want := map[string]any{
			"verb": "other", "args": []any{"x", "y"}, "params": map[string]any{"n": float64(3), "s": "v"},
			"verbs": []any{"a", "b"}, "files": []any{"a.txt"}, "count": float64(10),
		}
		if !reflect.DeepEqual(res.Meta, want) {
			t.Errorf("Meta = %#v, want %#v", res.Meta, want)
		}
		if string(res.Body) != "body bytes" {
			t.Errorf("Body = %q", res.Body)
		}
	})
}

func TestSetMetaAfterWrite(t *testing.T) {
	cmd := sdk.Func(sdk.Description{Verb: "late"}, func(ctx context.Context, req *sdk.Request, w sdk.ResponseWriter) error {
		if err := w.SetMeta("early", 1); err != nil {
			return err
		}
		if _, err := w.Write([]byte("x")); err != nil {
			return err
		}
		if err := w.SetMeta("late", 2); err == nil {
			return errors.New("SetMeta after Write succeeded")
		}
		return sdk.Errorf(sdk.CodeExists, "refused as expected")
	})
	both(t, cmd, func(t *testing.T, cmd sdk.Command) {
		res := sdktest.Run(t, cmd, sdktest.Request{})
		if res.Code != sdk.CodeExists || res.Message != "refused as expected" {
			t.Fatalf("got %s %q", res.Code, res.Message)
		}
		if !reflect.DeepEqual(res.Meta, map[string]any{"early": float64(1)}) || string(res.Body) != "x" {
			t.Errorf("Meta %v Body %q", res.Meta, res.Body)
		}
	})
}

func TestErrorsAndPanics(t *testing.T) {
	cmd := sdk.Func(sdk.Description{Verb: "fail"}, func(ctx context.Context, req *sdk.Request, w sdk.ResponseWriter) error {
		switch req.Args[0] {
		case "missing":
			_, err := req.Root.Open("nope.txt")
			return err
		case "escape":
			_, err := req.Root.Open("../etc/passwd")
			return err
		case "partial":
			io.WriteString(w, "half")
			return sdk.Errorf(sdk.CodeNoSpace, "disk full")
		case "panic":
			panic("boom")
		}
		return nil
	})
	tests := []struct {
		arg, body string
		code      sdk.Code
		msg       string
	}{
		{"missing", "", sdk.CodeNotFound, "openat nope.txt: no such file or directory"},
		{"escape", "", sdk.CodePermission, "../etc/passwd: path escapes the root"},
		{"partial", "half", sdk.CodeNoSpace, "disk full"},
		{"panic", "", sdk.CodeInternal, "the command failed unexpectedly"},
		{"ok", "", sdk.CodeOK, ""},
	}
	both(t, cmd, func(t *testing.T, cmd sdk.Command) {
		for _, tt := range tests {
			res := sdktest.Run(t, cmd, sdktest.Request{Args: []string{tt.arg}})
			if res.Code != tt.code || res.Message != tt.msg || string(res.Body) != tt.body {
				t.Errorf("%s: got %s %q body %q, want %s %q body %q", tt.arg, res.Code, res.Message, res.Body, tt.code, tt.msg, tt.body)
			}
			if (res.Err == nil) != (tt.code == sdk.CodeOK) {
				t.Errorf("%s: Err = %v", tt.arg, res.Err)
			}
		}
	})
}

func TestCancel(t *testing.T) {
	started := make(chan struct{}, 2)
	cmd := sdk.Func(sdk.Description{Verb: "wait"}, func(ctx context.Context, req *sdk.Request, w sdk.ResponseWriter) error {
		started <- struct{}{}
		select {
		case <-ctx.Done():
			return ctx.Err()
		case <-time.After(10 * time.Second):
			return errors.New("not cancelled")
		}
	})
	both(t, cmd, func(t *testing.T, cmd sdk.Command) {
		ctx, cancel := context.WithCancel(t.Context())
		defer cancel()
		go func() {
			select {
			case <-started:
				cancel()
			case <-time.After(10 * time.Second):
			}
		}()
		res := sdktest.Run(t, cmd, sdktest.Request{Context: ctx})
		if res.Code != sdk.CodeCanceled {
			t.Fatalf("got %s %q, want canceled", res.Code, res.Message)
		}
	})
}

func TestMetaMustEncode(t *testing.T) {
	cmd := sdk.Func(sdk.Description{Verb: "bad"}, func(ctx context.Context, req *sdk.Request, w sdk.ResponseWriter) error {
		return w.SetMeta("f", func() {})
	})
	res := sdktest.Run(t, cmd, sdktest.Request{})
	if res.Err == nil || !strings.Contains(res.Message, `"f"`) {
		t.Fatalf("SetMeta of a func: got %v", res.Err)
	}
}

type settable struct {
	got chan map[string]any
}

func (s settable) Describe() sdk.Description { return sdk.Description{Verb: "settable"} }
func (s settable) Run(context.Context, *sdk.Request, sdk.ResponseWriter) error {
	return nil
}
func (s settable) Configure(_ context.Context, settings map[string]any) error {
	if _, ok := settings["bad"]; ok {
		return errors.New("unknown setting bad")
	}
	s.got <- settings
	return nil
}

func TestServeGRPCConfigure(t *testing.T) {
	s := settable{got: make(chan map[string]any, 1)}
	remote := sdktest.ServeGRPC(t, s)
	if d := remote.Describe(); d.Verb != "settable" {
		t.Fatalf("Describe = %+v", d)
	}
	c, ok := remote.(sdk.Configurer)
	if !ok {
		t.Fatalf("%T is not a Configurer", remote)
	}
	if err := c.Configure(t.Context(), map[string]any{"max": 5}); err != nil {
		t.Fatal(err)
	}
	select {
	case got := <-s.got:
		if !reflect.DeepEqual(got, map[string]any{"max": float64(5)}) {
			t.Errorf("settings = %v", got)
		}
	case <-time.After(5 * time.Second):
		t.Fatal("Configure did not reach the command")
	}
	if err := c.Configure(t.Context(), map[string]any{"bad": 1}); err == nil || !strings.Contains(err.Error(), "unknown setting bad") {
		t.Errorf("Configure with a bad setting: %v", err)
	}
}

// Run gives the command the session's folder and reports the one it sets,
// keeping the old one when the request fails.
func TestRunDir(t *testing.T) {
	cd := sdk.Func(sdk.Description{Verb: "cd"}, func(ctx context.Context, req *sdk.Request, w sdk.ResponseWriter) error {
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
	})
	sdktest.Each(t, cd, func(t *testing.T, cd sdk.Command) {
		if r := sdktest.Run(t, cd, sdktest.Request{Dir: "/a", Args: []string{"b"}}); r.Err != nil || r.Dir != "/a/b" {
			t.Fatalf("cd b in /a: %+v", r)
		}
		if r := sdktest.Run(t, cd, sdktest.Request{Dir: "/a", Args: []string{"b", "fail"}}); r.Err == nil || r.Dir != "/a" {
			t.Fatalf("a failed cd: %+v", r)
		}
		if r := sdktest.Run(t, cd, sdktest.Request{Args: []string{".."}}); r.Dir != "/" {
			t.Fatalf("cd .. at the top: %+v", r)
		}
	})
}
