package put

import (
	"bytes"
	"context"
	"crypto/rand"
	"errors"
	"io"
	"io/fs"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"testing"
	"testing/iotest"
	"time"

	"github.com/selectftp/selectftp/internal/checksum"
	"github.com/selectftp/selectftp/internal/readme"
	"github.com/selectftp/selectftp/sdk"
	"github.com/selectftp/selectftp/sdk/sdktest"
)

// both runs f on every transport a host may use (sdktest.Each).
func both(t *testing.T, f func(t *testing.T, cmd sdk.Command)) { sdktest.Each(t, New(), f) }

// digestOf is data's digest in alg, in hex, as the host computes it.
func digestOf(alg checksum.Algorithm, data []byte) string {
	h := alg.New()
	h.Write(data)
	return alg.Encode(h.Sum(nil))
}

// uploadReq is a put request for data, its size declared, in the default
// algorithm.
func uploadReq(path string, data []byte) sdktest.Request {
	return sdktest.Request{
		Params: map[string]any{"path": path},
		Body:   bytes.NewReader(data),
		Size:   sdktest.Declared(int64(len(data))),
	}
}

// files lists every file and folder under dir, temporary files included.
func files(t *testing.T, dir string) []string {
	t.Helper()
	var names []string
	err := filepath.WalkDir(dir, func(p string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		if p != dir {
			rel, _ := filepath.Rel(dir, p)
			names = append(names, rel)
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	return names
}

func expectFiles(t *testing.T, dir string, want ...string) {
	t.Helper()
	slices.Sort(want)
	if got := files(t, dir); !slices.Equal(got, want) {
		t.Errorf("files under the root: %q, want %q", got, want)
	}
}

// waitEmpty waits, a bounded time, until dir holds no file.
func waitEmpty(t *testing.T, dir string) {
	t.Helper()
	waitFiles(t, dir)
}

// waitFiles waits, a bounded time, until dir holds exactly want: a plugin
// may clean up after the host answered.
func waitFiles(t *testing.T, dir string, want ...string) {
	t.Helper()
	slices.Sort(want)
	deadline := time.Now().Add(10 * time.Second)
	for !slices.Equal(files(t, dir), want) && time.Now().Before(deadline) {
		time.Sleep(5 * time.Millisecond)
	}
	expectFiles(t, dir, want...)
}

func TestDescribe(t *testing.T) {
	d := New().Describe()
	if d.Verb != "put" || d.Summary == "" || strings.Contains(d.Summary, "\n") ||
		!strings.HasPrefix(d.Usage, "usage: put") || !strings.HasSuffix(d.Usage, "\n") {
		t.Errorf("Describe = %+v", d)
	}
}

func TestPut(t *testing.T) {
	big := make([]byte, 6<<20+5)
	rand.Read(big)
	both(t, func(t *testing.T, cmd sdk.Command) {
		dir := t.TempDir()
		if err := os.Mkdir(filepath.Join(dir, "sub"), 0o755); err != nil {
			t.Fatal(err)
		}
		for _, tt := range []struct {
			path string
			data []byte
		}{
			{"notes.txt", []byte("hello\n")},
			{"sub/big.bin", big},
			{"empty", nil},
			{"sub/../name with spaces", []byte("x")},
			{"notes.txt", []byte("replaced")}, // replaces the first
		} {
			req := uploadReq(tt.path, tt.data)
			req.Root = dir
			res := sdktest.Run(t, cmd, req)
			if res.Err != nil {
				t.Fatalf("put %s: %v", tt.path, res.Err)
			}
			alg := checksum.Default.String()
			want := map[string]any{"path": tt.path, "size": float64(len(tt.data)), alg: digestOf(checksum.Default, tt.data)}
			if len(res.Meta) != 3 || res.Meta["path"] != want["path"] || res.Meta["size"] != want["size"] || res.Meta[alg] != want[alg] {
				t.Errorf("put %s: Meta = %v, want %v", tt.path, res.Meta, want)
			}
			if len(res.Body) != 0 {
				t.Errorf("put %s: body %q", tt.path, res.Body)
			}
			got, err := os.ReadFile(filepath.Join(dir, tt.path))
			if err != nil || !bytes.Equal(got, tt.data) {
				t.Errorf("put %s: file holds %d bytes (%v), want %d", tt.path, len(got), err, len(tt.data))
			}
		}
		expectFiles(t, dir, "notes.txt", "sub", "sub/big.bin", "empty", "name with spaces")
		fi, err := os.Stat(filepath.Join(dir, "notes.txt"))
		if err != nil {
			t.Fatal(err)
		}
		if p := fi.Mode().Perm(); p&0o600 != 0o600 || p&^0o644 != 0 {
			t.Errorf("mode %v, want 0644 less the umask", p)
		}
	})
}

// The path may be the first word; the status names the digest in the
// algorithm the client chose, whichever it is, for a declared size and for
// a stream.
func TestPutArgsEveryAlgorithm(t *testing.T) {
	both(t, func(t *testing.T, cmd sdk.Command) {
		dir := t.TempDir()
		data := []byte("abc")
		for _, alg := range checksum.All() {
			for _, size := range []*int64{sdktest.Declared(3), nil} {
				res := sdktest.Run(t, cmd, sdktest.Request{
					Root: dir, Args: []string{"a.txt"}, Body: bytes.NewReader(data), Size: size, Checksum: alg.String(),
				})
				if res.Err != nil || len(res.Meta) != 3 || res.Meta["path"] != "a.txt" || res.Meta["size"] != float64(3) ||
					res.Meta[alg.String()] != digestOf(alg, data) {
					t.Fatalf("put a.txt with %s, size %v: %v %v", alg, size, res.Meta, res.Err)
				}
				if got, _ := os.ReadFile(filepath.Join(dir, "a.txt")); string(got) != "abc" {
					t.Errorf("a.txt holds %q", got)
				}
			}
		}
	})
}

func TestPutBadRequest(t *testing.T) {
	tests := []struct {
		name   string
		args   []string
		params map[string]any
		msg    string
	}{
		{"no path", nil, nil, "put needs a path"},
		{"two words", []string{"a", "b"}, nil, "put takes one path, got 2 words"},
		{"two paths", []string{"a"}, map[string]any{"path": "b"}, `two paths given: "b" and "a"`},
		{"NUL", nil, map[string]any{"path": "a\x00b"}, "the path contains a NUL byte"},
		{"dot", nil, map[string]any{"path": "."}, ". names a folder, not a file"},
		{"dotdot", nil, map[string]any{"path": "sub/.."}, "sub/.. names a folder, not a file"},
		{"slash", nil, map[string]any{"path": "sub/"}, "sub/ names a folder, not a file"},
		{"directory", nil, map[string]any{"path": "sub"}, "sub is a directory"},
		{"parent is a file", nil, map[string]any{"path": "file/x"}, "file is not a folder"},
		{"path not a string", nil, map[string]any{"path": 3}, ""},
	}
	both(t, func(t *testing.T, cmd sdk.Command) {
		dir := t.TempDir()
		os.Mkdir(filepath.Join(dir, "sub"), 0o755)
		os.WriteFile(filepath.Join(dir, "file"), []byte("f"), 0o644)
		for _, tt := range tests {
			res := sdktest.Run(t, cmd, sdktest.Request{Root: dir, Args: tt.args, Params: tt.params, Body: unread(t, cmd),
				Size: sdktest.Declared(3)})
			if res.Code != sdk.CodeBadRequest || tt.msg != "" && res.Message != tt.msg {
				t.Errorf("%s: %s %q, want bad_request %q", tt.name, res.Code, res.Message, tt.msg)
			}
		}
		expectFiles(t, dir, "sub", "file")
	})
}

// failReader fails the test when a command reads a body it should refuse
// unread. Over gRPC too: the host sends a body only once the plugin asks
// for it, so a refusal before the first read reaches the client before it
// sends a byte (with Expect, before Continue).
type failReader struct{ t *testing.T }

// unread is a body cmd must not read.
func unread(t *testing.T, _ sdk.Command) io.Reader { return failReader{t} }

func (r failReader) Read([]byte) (int, error) {
	r.t.Error("the body was read")
	return 0, errors.New("must not be read")
}

func TestPutConfined(t *testing.T) {
	outside := t.TempDir()
	both(t, func(t *testing.T, cmd sdk.Command) {
		dir := t.TempDir()
		if err := os.Mkdir(filepath.Join(dir, "sub"), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.Symlink(outside, filepath.Join(dir, "out")); err != nil {
			t.Fatal(err)
		}
		rel, _ := filepath.Rel(dir, filepath.Join(outside, "target"))
		if err := os.Symlink(rel, filepath.Join(dir, "relout")); err != nil {
			t.Fatal(err)
		}
		// Paths are virtual ("/" and ".." stop at the top: see
		// TestPutVirtual); only a symlink can point out, and the root
		// refuses it.
		for _, path := range []string{"out/x", "relout", "sub/../out/x", "/relout"} {
			req := uploadReq(path, []byte("data"))
			req.Root = dir
			res := sdktest.Run(t, cmd, req)
			if res.Code != sdk.CodePermission {
				t.Errorf("put %s: %s %q, want permission", path, res.Code, res.Message)
			}
		}
		expectFiles(t, dir, "out", "relout", "sub")
		expectFiles(t, outside)
	})
}

// "/" is the top of the tree and ".." stops there; a name with a control
// character is refused and never stored; a reserved name stays reserved
// however it is spelled.
func TestPutVirtual(t *testing.T) {
	dir := t.TempDir()
	os.Mkdir(filepath.Join(dir, "sub"), 0o755)
	for path, stored := range map[string]string{"/abs.txt": "abs.txt", "../up.txt": "up.txt", "sub/../../../x": "x", "/sub/y": "sub/y"} {
		req := uploadReq(path, []byte("data"))
		req.Root = dir
		if res := sdktest.Run(t, New(), req); res.Err != nil || res.Meta["path"] != path {
			t.Errorf("put %s: %v %v", path, res.Err, res.Meta)
		}
		if b, err := os.ReadFile(filepath.Join(dir, stored)); err != nil || string(b) != "data" {
			t.Errorf("put %s: %s: %q %v", path, stored, b, err)
		}
	}
	for _, path := range []string{"new\nline", "tab\there", "bell\a", "/", "sub/..", "../.selectftp-part-00", "sub/../.selectftp-part-00"} {
		req := uploadReq(path, []byte("data"))
		req.Root = dir
		if res := sdktest.Run(t, New(), req); res.Code != sdk.CodeBadRequest {
			t.Errorf("put %q: %s %q, want bad_request", path, res.Code, res.Message)
		}
	}
	expectFiles(t, dir, "abs.txt", "up.txt", "x", "sub", "sub/y")
}

func TestPutNoFolder(t *testing.T) {
	both(t, func(t *testing.T, cmd sdk.Command) {
		dir := t.TempDir()
		req := uploadReq("nope/a.txt", []byte("data"))
		req.Root = dir
		req.Body = unread(t, cmd)
		res := sdktest.Run(t, cmd, req)
		if res.Code != sdk.CodeNotFound || res.Message != "no folder nope for nope/a.txt" {
			t.Errorf("put nope/a.txt: %s %q", res.Code, res.Message)
		}
		expectFiles(t, dir)
	})
}

// A body the host does not verify (longer or shorter than declared, or
// whose digest does not match the client's: its Read fails with
// CodeChecksum at the end) leaves nothing under the name and the old file
// as it was.
func TestPutChecksum(t *testing.T) {
	data := []byte("the declared bytes")
	damaged := sdk.Errorf(sdk.CodeChecksum, "the 18 bytes received have another digest: the body was damaged on the way")
	tests := []struct {
		name   string
		body   string
		size   *int64
		endErr error
		msg    string
	}{
		{"longer", string(data) + "!", sdktest.Declared(18), nil, "the body is longer than the 18 bytes its request declared"},
		{"much longer", string(make([]byte, 1<<20)), sdktest.Declared(18), nil, "the body is longer than the 18 bytes its request declared"},
		{"shorter", string(data[:5]), sdktest.Declared(18), nil, "the body ended after 5 bytes, short of the 18 its request declared"},
		{"empty", "", sdktest.Declared(18), nil, "the body ended after 0 bytes, short of the 18 its request declared"},
		{"damaged", string(data), sdktest.Declared(18), damaged, sdk.MessageOf(damaged)},
		{"damaged stream", string(data), nil, damaged, sdk.MessageOf(damaged)},
		{"damaged big stream", string(make([]byte, 3<<20)), nil, damaged, sdk.MessageOf(damaged)},
	}
	both(t, func(t *testing.T, cmd sdk.Command) {
		dir := t.TempDir()
		os.WriteFile(filepath.Join(dir, "keep"), []byte("old"), 0o644)
		for _, tt := range tests {
			for _, name := range []string{"new", "keep"} {
				req := uploadReq(name, data)
				req.Root, req.Body, req.Size, req.EndErr = dir, strings.NewReader(tt.body), tt.size, tt.endErr
				res := sdktest.Run(t, cmd, req)
				if res.Code != sdk.CodeChecksum || !strings.HasSuffix(res.Message, tt.msg) {
					t.Errorf("%s: put %s: %s %q, want checksum %q", tt.name, name, res.Code, res.Message, tt.msg)
				}
			}
		}
		waitFiles(t, dir, "keep")
		if got, _ := os.ReadFile(filepath.Join(dir, "keep")); string(got) != "old" {
			t.Errorf("a failed upload changed the old file: %q", got)
		}
	})
}

// A body that fails before its end means the client went away: canceled,
// not checksum, and nothing left behind.
func TestPutInterrupted(t *testing.T) {
	data := make([]byte, 1<<20)
	both(t, func(t *testing.T, cmd sdk.Command) {
		dir := t.TempDir()
		req := uploadReq("a", data)
		req.Root = dir
		req.Body = io.MultiReader(bytes.NewReader(data[:1000]), iotest.ErrReader(errors.New("connection reset")))
		res := sdktest.Run(t, cmd, req)
		if res.Code != sdk.CodeCanceled {
			t.Errorf("interrupted upload: %s %q, want canceled", res.Code, res.Message)
		}
		waitEmpty(t, dir)
	})
}

// blockingBody gives some bytes, then blocks until the test ends, as a
// stalled client does.
type blockingBody struct {
	first   []byte
	reading chan struct{}
	stop    <-chan struct{}
	once    sync.Once
}

func (b *blockingBody) Read(p []byte) (int, error) {
	if len(b.first) > 0 {
		n := copy(p, b.first)
		b.first = b.first[n:]
		return n, nil
	}
	b.once.Do(func() { close(b.reading) })
	select {
	case <-b.stop:
		return 0, errors.New("stopped")
	case <-time.After(10 * time.Second):
		return 0, errors.New("not cancelled in time")
	}
}

func TestPutCancelled(t *testing.T) {
	data := make([]byte, 1<<20)
	both(t, func(t *testing.T, cmd sdk.Command) {
		dir := t.TempDir()
		ctx, cancel := context.WithCancel(t.Context())
		defer cancel()
		body := &blockingBody{first: data[:4096], reading: make(chan struct{}), stop: ctx.Done()}
		go func() {
			// Cancel mid-upload, once the body has stalled. The staging
			// file has no name (Linux) or a hidden one, never "a".
			defer cancel()
			select {
			case <-body.reading:
			case <-time.After(10 * time.Second):
				t.Error("the body was not read")
				return
			}
			if _, err := os.Stat(filepath.Join(dir, "a")); err == nil {
				t.Error("the upload is visible under its name before it completed")
			}
		}()
		req := uploadReq("a", data)
		req.Root, req.Body, req.Context = dir, body, ctx
		res := sdktest.Run(t, cmd, req)
		if res.Code != sdk.CodeCanceled {
			t.Errorf("cancelled upload: %s %q", res.Code, res.Message)
		}
		// The host answers a cancelled request at once; the plugin cleans
		// up on its own time, soon after.
		waitEmpty(t, dir)
	})
}

// A panic while writing (here in the body reader) still removes the
// temporary file.
func TestPutPanic(t *testing.T) {
	both(t, func(t *testing.T, cmd sdk.Command) {
		dir := t.TempDir()
		req := uploadReq("a", []byte("data"))
		req.Root = dir
		req.Body = panicReader{}
		if _, ok := cmd.(*put); !ok {
			// Over gRPC the body is a stream; panic in a command instead
			// cannot be injected from outside, so only in-process.
			t.Skip("the body reader runs in the host")
		}
		res := sdktest.Run(t, cmd, req)
		if res.Code != sdk.CodeInternal {
			t.Errorf("panic: %s %q", res.Code, res.Message)
		}
		expectFiles(t, dir)
	})
}

type panicReader struct{}

func (panicReader) Read([]byte) (int, error) { panic("reader exploded") }

func TestPutMaxSize(t *testing.T) {
	both(t, func(t *testing.T, cmd sdk.Command) {
		c := cmd.(sdk.Configurer)
		if err := c.Configure(t.Context(), map[string]any{"max_size": 10}); err != nil {
			t.Fatal(err)
		}
		dir := t.TempDir()
		req := uploadReq("big", make([]byte, 11))
		req.Root, req.Body = dir, unread(t, cmd)
		res := sdktest.Run(t, cmd, req)
		if res.Code != sdk.CodeTooLarge || res.Message != "11 bytes is over the upload limit of 10 bytes" {
			t.Errorf("over the limit: %s %q", res.Code, res.Message)
		}
		req = uploadReq("fits", make([]byte, 10))
		req.Root = dir
		if res := sdktest.Run(t, cmd, req); res.Err != nil {
			t.Errorf("at the limit: %v", res.Err)
		}
		expectFiles(t, dir, "fits")

		for _, bad := range []map[string]any{{"max-size": 1}, {"max_size": -1}, {"max_size": "lots"}} {
			if err := c.Configure(t.Context(), bad); err == nil {
				t.Errorf("Configure(%v) succeeded", bad)
			}
		}
		if err := c.Configure(t.Context(), nil); err != nil {
			t.Fatal(err)
		}
		req = uploadReq("big", make([]byte, 11))
		req.Root = dir
		if res := sdktest.Run(t, cmd, req); res.Err != nil {
			t.Errorf("no limit: %v", res.Err)
		}
	})
}

func TestPutConcurrent(t *testing.T) {
	both(t, func(t *testing.T, cmd sdk.Command) {
		dir := t.TempDir()
		contents := make([][]byte, 12)
		var wg sync.WaitGroup
		for i := range contents {
			contents[i] = bytes.Repeat([]byte{'a' + byte(i)}, 200_000+i)
			wg.Add(1)
			go func() {
				defer wg.Done()
				name := "same"
				if i%2 == 1 {
					name = string(rune('a' + i))
				}
				req := uploadReq(name, contents[i])
				req.Root = dir
				if res := sdktest.Run(t, cmd, req); res.Err != nil {
					t.Errorf("put %s: %v", name, res.Err)
				}
			}()
		}
		wg.Wait()
		got, err := os.ReadFile(filepath.Join(dir, "same"))
		if err != nil || !slices.ContainsFunc(contents, func(c []byte) bool { return bytes.Equal(c, got) }) {
			t.Errorf("same holds %d bytes, not one whole upload (%v)", len(got), err)
		}
		expectFiles(t, dir, "same", "b", "d", "f", "h", "j", "l")
	})
}

func TestReadme(t *testing.T) {
	readme.Check(t, New(), false)
}
