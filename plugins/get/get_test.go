package get

import (
	"bytes"
	"context"
	"crypto/rand"
	"crypto/sha256"
	"encoding/hex"
	"os"
	"path/filepath"
	"strings"
	"syscall"
	"testing"

	"github.com/selectftp/selectftp/internal/readme"
	"github.com/selectftp/selectftp/sdk"
	"github.com/selectftp/selectftp/sdk/sdktest"
)

// both runs f in-process and through the plugin transport.
// both runs f on every transport a host may use (sdktest.Each).
func both(t *testing.T, f func(t *testing.T, cmd sdk.Command)) { sdktest.Each(t, New(), f) }

func write(t *testing.T, path string, data []byte) {
	t.Helper()
	if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(path, data, 0o644); err != nil {
		t.Fatal(err)
	}
}

func TestDescribe(t *testing.T) {
	d := New().Describe()
	if d.Verb != "get" || d.Summary == "" || strings.Contains(d.Summary, "\n") ||
		!strings.HasPrefix(d.Usage, "usage: get") || !strings.HasSuffix(d.Usage, "\n") {
		t.Errorf("Describe = %+v", d)
	}
}

func TestGet(t *testing.T) {
	big := make([]byte, 5<<20+3)
	rand.Read(big)
	files := map[string][]byte{
		"notes.txt":     []byte("hello\n"),
		"empty":         {},
		"dir/sub/big":   big,
		"with space.md": []byte("x"),
	}
	both(t, func(t *testing.T, cmd sdk.Command) {
		dir := t.TempDir()
		for name, data := range files {
			write(t, filepath.Join(dir, name), data)
		}
		if err := os.Symlink("dir/sub/big", filepath.Join(dir, "link")); err != nil {
			t.Fatal(err)
		}
		check := func(req sdktest.Request, want []byte) {
			t.Helper()
			res := sdktest.Run(t, cmd, req)
			if res.Err != nil {
				t.Fatalf("get %v %v: %v", req.Args, req.Params, res.Err)
			}
			sum := sha256.Sum256(want)
			wantMeta := map[string]any{"size": float64(len(want)), "sha256": hex.EncodeToString(sum[:])}
			if len(res.Meta) != 2 || res.Meta["size"] != wantMeta["size"] || res.Meta["sha256"] != wantMeta["sha256"] {
				t.Errorf("get %v %v: Meta = %v, want %v", req.Args, req.Params, res.Meta, wantMeta)
			}
			if !bytes.Equal(res.Body, want) {
				t.Errorf("get %v %v: %d bytes, want %d identical", req.Args, req.Params, len(res.Body), len(want))
			}
		}
		for name, data := range files {
			check(sdktest.Request{Root: dir, Args: []string{name}}, data)
			check(sdktest.Request{Root: dir, Params: map[string]any{"path": name}}, data)
		}
		check(sdktest.Request{Root: dir, Args: []string{"link"}}, big)
		check(sdktest.Request{Root: dir, Args: []string{"dir/../notes.txt"}}, files["notes.txt"])
		check(sdktest.Request{Root: dir, Args: []string{"notes.txt"}, Params: map[string]any{"path": "notes.txt"}}, files["notes.txt"])
	})
}

func TestGetErrors(t *testing.T) {
	outside := t.TempDir()
	write(t, filepath.Join(outside, "secret"), []byte("secret"))
	both(t, func(t *testing.T, cmd sdk.Command) {
		dir := t.TempDir()
		write(t, filepath.Join(dir, "dir", "f"), []byte("f"))
		if err := os.Symlink(filepath.Join(outside, "secret"), filepath.Join(dir, "abs")); err != nil {
			t.Fatal(err)
		}
		rel, _ := filepath.Rel(dir, filepath.Join(outside, "secret"))
		if err := os.Symlink(rel, filepath.Join(dir, "rel")); err != nil {
			t.Fatal(err)
		}
		if err := syscall.Mkfifo(filepath.Join(dir, "fifo"), 0o644); err != nil {
			t.Fatal(err)
		}
		tests := []struct {
			req  sdktest.Request
			code sdk.Code
			msg  string
		}{
			{sdktest.Request{Args: []string{"dir"}}, sdk.CodeBadRequest, "dir is a directory"},
			{sdktest.Request{Args: []string{"."}}, sdk.CodeBadRequest, ". is a directory"},
			{sdktest.Request{Args: []string{"fifo"}}, sdk.CodeBadRequest, "fifo is not a regular file"},
			{sdktest.Request{Args: []string{"missing"}}, sdk.CodeNotFound, `no file "missing"`},
			{sdktest.Request{Args: []string{"dir/nope/f"}}, sdk.CodeNotFound, `no file "dir/nope/f"`},
			{sdktest.Request{Args: []string{"../secret"}}, sdk.CodePermission, "../secret: path escapes the root"},
			{sdktest.Request{Args: []string{filepath.Join(outside, "secret")}}, sdk.CodePermission, filepath.Join(outside, "secret") + ": path escapes the root"},
			{sdktest.Request{Args: []string{"abs"}}, sdk.CodePermission, "abs: path escapes the root"},
			{sdktest.Request{Args: []string{"rel"}}, sdk.CodePermission, "rel: path escapes the root"},
			{sdktest.Request{}, sdk.CodeBadRequest, "get needs a path"},
			{sdktest.Request{Args: []string{"a", "b"}}, sdk.CodeBadRequest, "get takes one path, got 2 words"},
			{sdktest.Request{Args: []string{"a"}, Params: map[string]any{"path": "b"}}, sdk.CodeBadRequest, `two paths given: "b" and "a"`},
			{sdktest.Request{Params: map[string]any{"path": []any{"x"}}}, sdk.CodeBadRequest, ""},
		}
		for _, tt := range tests {
			tt.req.Root = dir
			res := sdktest.Run(t, cmd, tt.req)
			if res.Code != tt.code || tt.msg != "" && res.Message != tt.msg {
				t.Errorf("get %q %v: %s %q, want %s %q", tt.req.Args, tt.req.Params, res.Code, res.Message, tt.code, tt.msg)
			}
			if len(res.Body) != 0 || len(res.Meta) != 0 {
				t.Errorf("get %q: a failure sent %v %q", tt.req.Args, res.Meta, res.Body)
			}
		}
	})
}

func TestGetCancelled(t *testing.T) {
	both(t, func(t *testing.T, cmd sdk.Command) {
		dir := t.TempDir()
		write(t, filepath.Join(dir, "f"), make([]byte, 1<<20))
		ctx, cancel := context.WithCancel(t.Context())
		cancel()
		res := sdktest.Run(t, cmd, sdktest.Request{Root: dir, Args: []string{"f"}, Context: ctx})
		if res.Code != sdk.CodeCanceled {
			t.Errorf("cancelled get: %s %q", res.Code, res.Message)
		}
	})
}

func TestConcurrent(t *testing.T) {
	cmd := sdktest.ServeGRPC(t, New())
	dir := t.TempDir()
	for i := range 8 {
		write(t, filepath.Join(dir, string(rune('a'+i))), bytes.Repeat([]byte{byte(i)}, 300_000*(i+1)))
	}
	done := make(chan struct{})
	for i := range 8 {
		go func() {
			defer func() { done <- struct{}{} }()
			for _, c := range []sdk.Command{cmd, New()} {
				res := sdktest.Run(t, c, sdktest.Request{Root: dir, Args: []string{string(rune('a' + i))}})
				if res.Err != nil || !bytes.Equal(res.Body, bytes.Repeat([]byte{byte(i)}, 300_000*(i+1))) {
					t.Errorf("get %c: %d bytes, %v", 'a'+i, len(res.Body), res.Err)
				}
			}
		}()
	}
	for range 8 {
		<-done
	}
}

func TestReadme(t *testing.T) {
	readme.Check(t, New(), false)
}
