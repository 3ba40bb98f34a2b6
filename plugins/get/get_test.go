package get

import (
	"bytes"
	"context"
	"crypto/rand"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/selectftp/selectftp/internal/readme"
	"github.com/selectftp/selectftp/plugins/internal/staging"
	"github.com/selectftp/selectftp/sdk"
	"github.com/selectftp/selectftp/sdk/sdktest"
)

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
			// The digest travels in the status, which the host computes
			// (or takes from the cache: TestGetPassesCachedDigest).
			if len(res.Meta) != 1 || res.Meta["size"] != float64(len(want)) {
				t.Errorf("get %v %v: Meta = %v, want only size %d", req.Args, req.Params, res.Meta, len(want))
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
		// Virtual paths: "/" is the top of the tree, ".." stops there.
		check(sdktest.Request{Root: dir, Args: []string{"/notes.txt"}}, files["notes.txt"])
		check(sdktest.Request{Root: dir, Args: []string{"../../notes.txt"}}, files["notes.txt"])
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
			{sdktest.Request{Args: []string{"fifo"}}, sdk.CodeBadRequest, "fifo is not a regular file (a FIFO)"},
			{sdktest.Request{Args: []string{"missing"}}, sdk.CodeNotFound, `no file "missing"`},
			{sdktest.Request{Args: []string{"dir/nope/f"}}, sdk.CodeNotFound, `no file "dir/nope/f"`},
			// Virtual paths: ".." and "/" stop at the top of the tree.
			{sdktest.Request{Args: []string{"../secret"}}, sdk.CodeNotFound, `no file "../secret"`},
			{sdktest.Request{Args: []string{filepath.Join(outside, "secret")}}, sdk.CodeNotFound, fmt.Sprintf("no file %q", filepath.Join(outside, "secret"))},
			{sdktest.Request{Args: []string{"bad\nname"}}, sdk.CodeBadRequest, ""},
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

// A local user who swaps the file for a FIFO between get's checks and its
// open must not leave get stuck in open(2): every get ends promptly, with
// the file or with a clear refusal, and the command keeps serving.
func TestFIFOSwappedIn(t *testing.T) {
	both(t, func(t *testing.T, cmd sdk.Command) {
		dir := t.TempDir()
		keep := t.TempDir() // a second name for every FIFO, to unblock a stuck reader
		var fifos []string
		t.Cleanup(func() {
			for _, p := range fifos { // only a broken get is waiting on one
				if fd, err := syscall.Open(p, syscall.O_WRONLY|syscall.O_NONBLOCK, 0); err == nil {
					syscall.Close(fd)
				}
			}
		})
		data := []byte("regular")
		write(t, filepath.Join(dir, "f"), data)
		stop := make(chan struct{})
		swapped := make(chan int)
		go func() {
			n := 0
			defer func() { swapped <- n }()
			for ; ; n++ {
				select {
				case <-stop:
					return
				default:
				}
				tmp := filepath.Join(dir, "tmp")
				if n%2 == 0 {
					if syscall.Mkfifo(tmp, 0o644) != nil {
						return
					}
					k := filepath.Join(keep, fmt.Sprint(n))
					os.Link(tmp, k)
					fifos = append(fifos, k) // read after <-swapped
				} else if os.WriteFile(tmp, data, 0o644) != nil {
					return
				}
				os.Rename(tmp, filepath.Join(dir, "f"))
			}
		}()
		deadline := time.Now().Add(3 * time.Second)
		var served, refused int
		for i := 0; i < 20_000 && time.Now().Before(deadline); i++ {
			done := make(chan sdktest.Result, 1)
			go func() { done <- sdktest.Run(t, cmd, sdktest.Request{Root: dir, Args: []string{"f"}}) }()
			select {
			case res := <-done:
				switch {
				case res.Err == nil && bytes.Equal(res.Body, data):
					served++
				case res.Code == sdk.CodeBadRequest && res.Message == "f is not a regular file (a FIFO)",
					res.Code == sdk.CodeNotFound: // between unlink and rename of some file systems
					refused++
				default:
					t.Errorf("get during swaps: %s %q, %d bytes", res.Code, res.Message, len(res.Body))
				}
			case <-time.After(5 * time.Second):
				close(stop)
				<-swapped
				t.Fatalf("get is stuck (opening a FIFO) after %d served, %d refused", served, refused)
			}
		}
		close(stop)
		t.Logf("%d swaps: %d gets served, %d refused", <-swapped, served, refused)
		if served == 0 || refused == 0 {
			t.Errorf("the race was not exercised: %d served, %d refused", served, refused)
		}
		write(t, filepath.Join(dir, "g"), data)
		if res := sdktest.Run(t, cmd, sdktest.Request{Root: dir, Args: []string{"g"}}); res.Err != nil || !bytes.Equal(res.Body, data) {
			t.Errorf("get after the swaps: %v", res.Err)
		}
	})
}

// A staging name (an upload in progress, or a crash's leftover) is never
// served, even when such a file exists.
func TestStagingNameRefused(t *testing.T) {
	both(t, func(t *testing.T, cmd sdk.Command) {
		dir := t.TempDir()
		name := staging.Name()
		write(t, filepath.Join(dir, "sub", name), []byte("half an upload"))
		for _, p := range []string{name, "sub/" + name} {
			res := sdktest.Run(t, cmd, sdktest.Request{Root: dir, Args: []string{p}})
			if res.Code != sdk.CodeBadRequest || !strings.Contains(res.Message, "reserved for uploads in progress") || len(res.Body) != 0 {
				t.Errorf("get %s: %s %q, %d bytes", p, res.Code, res.Message, len(res.Body))
			}
		}
	})
}

// A get whose client went away sends nothing and answers canceled.
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
