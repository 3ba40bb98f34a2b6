// Package sdktest runs selectftp commands in tests, without building plugin
// binaries or starting a server.
//
// Run calls a command in-process with a Request built from a few fields and
// records everything it answers:
//
//	res := sdktest.Run(t, newUpper(), sdktest.Request{Args: []string{"hello"}})
//	if res.Err != nil || string(res.Body) != "HELLO\n" {
//		t.Fatalf("got %q, %v", res.Body, res.Err)
//	}
//
// ServeGRPC puts a command behind the real plugin transport (go-plugin's
// gRPC, the SDK's plugin server and the host's client) inside the test
// process, and returns the host's view of it. Running a request through it
// exercises exactly what a plugin binary does, so a test can check both
// paths with the same expectations:
//
//	for _, c := range []sdk.Command{cmd, sdktest.ServeGRPC(t, cmd)} {
//		res := sdktest.Run(t, c, req)
//		...
//	}
//
// The ResponseWriter Run passes enforces the rules of the real one: metadata
// must be set before the first Write. Result.Meta holds metadata as a client
// receives it, after a JSON round trip, so numbers are float64 on both paths.
package sdktest

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"maps"
	"os"
	"runtime/debug"
	"strings"
	"sync"
	"testing"

	"github.com/hashicorp/go-hclog"

	"github.com/selectftp/selectftp/internal/respond"
	"github.com/selectftp/selectftp/sdk"
)

// Request describes one request for Run. The zero value is a request with no
// arguments, no parameters and an empty body.
type Request struct {
	// Verb is the verb the command is called as; empty means the verb of
	// the command's description.
	Verb string
	// Args are the words after the verb.
	Args []string
	// Params are the typed parameters; see sdk.Request.Decode. Values should
	// be what a client's JSON produces (string, json.Number or an integer
	// for numbers, bool, nil, []any, map[string]any): over the plugin
	// transport they travel as JSON, and the server keeps numbers exact.
	Params map[string]any
	// Body is the request body; nil means an empty body. Through ServeGRPC
	// the host side sends it only once the command reads it, as a server
	// does.
	Body io.Reader
	// Size is the body's length as the client declared it (see Declared);
	// nil means unknown, a stream: the command's Request.BodySize is then
	// -1. As a server does, Run fails a body that turns out longer or
	// shorter than declared: its Read returns an sdk.CodeChecksum error.
	Size *int64
	// Checksum is the digest algorithm the client chose ("xxh128",
	// "sha256", "blake3"); empty means the server's default, the first of
	// sdk.Algorithms().
	Checksum string
	// EndErr, when set, is what the body's Read returns at its end instead
	// of io.EOF: what a server's body gives for one that fails verification
	// (an sdk.CodeChecksum error: its digest does not match) or that the
	// client gave up (sdk.CodeCanceled). A command must then keep nothing.
	EndErr error
	// Root is the folder the command's Request.Root is opened on; empty
	// means a new t.TempDir().
	Root string
	// Dir is the session's current folder (sdk.Request.Dir); empty means
	// "/". What the command sets with sdk.SetDir is Result.Dir.
	Dir string
	// Commands is what Host.Commands returns; nil means the command's own
	// description only.
	Commands []sdk.Description
	// Context is the request's context; nil means t.Context(). Cancel it to
	// test what a command does when the client goes away.
	Context context.Context
	// User is who the request runs for (sdk.Request.User); nil is
	// anonymous. When set, Run checks the command's declared Access as a
	// server does before Run, and a refusal is the Result (CodePermission)
	// with the command never called; a command that declares none gets
	// no Root.
	User *sdk.User
}

// Result is everything a command answered.
type Result struct {
	// Meta is the response metadata, as a client receives it (after a JSON
	// round trip: numbers are float64). It is nil when none was set.
	Meta map[string]any
	// Body is the output body, including what was written before a failure.
	Body []byte
	// Err is the error Run returned, nil on success. A panic becomes an
	// internal error, as in a plugin process.
	Err error
	// Code is the status code a client sees: sdk.CodeOf(Err).
	Code sdk.Code
	// Message is the status message a client sees: sdk.MessageOf(Err), or
	// empty on success.
	Message string
	// Dir is the session's current folder after the request: what the
	// command set with sdk.SetDir if it succeeded, else Request.Dir (or
	// "/"), as a server keeps it.
	Dir string
}

// Run calls cmd.Run once with req and returns what it answered. It fails the
// test only when the request cannot be set up (the root folder cannot be
// opened); the command's own failures are reported in Result.
func Run(t testing.TB, cmd sdk.Command, req Request) Result {
	t.Helper()
	dir := req.Root
	if dir == "" {
		dir = t.TempDir()
	}
	root, err := os.OpenRoot(dir)
	if err != nil {
		t.Fatalf("sdktest: open root: %v", err)
	}
	defer root.Close()
	ctx := req.Context
	if ctx == nil {
		ctx = t.Context()
	}
	desc := cmd.Describe()
	verb := req.Verb
	if verb == "" {
		verb = desc.Verb
	}
	body := req.Body
	if body == nil {
		body = strings.NewReader("")
	}
	size := int64(-1)
	if req.Size != nil {
		size = *req.Size
	}
	checksum := req.Checksum
	if checksum == "" {
		checksum = sdk.Algorithms()[0]
	}
	body = &checked{r: body, declared: size, endErr: req.EndErr}
	cmds := req.Commands
	if cmds == nil {
		cmds = []sdk.Description{desc}
	}
	w := &recorder{}
	r := &sdk.Request{
		Verb:       verb,
		Args:       req.Args,
		Params:     req.Params,
		Body:       body,
		BodySize:   size,
		Checksum:   checksum,
		Root:       root,
		Dir:        req.Dir,
		Host:       host{cmds: cmds},
		Log:        hclog.New(&hclog.LoggerOptions{Name: desc.Verb, Output: t.Output(), Level: hclog.Debug}),
		SessionID:  "sdktest",
		RemoteAddr: "127.0.0.1:0",
		User:       req.User,
	}
	err = checkAccess(desc, r)
	if err == nil {
		err = call(t, ctx, cmd, r, w)
	}
	res := Result{Err: err, Dir: req.Dir}
	res.Meta, res.Body = w.result()
	if res.Dir == "" {
		res.Dir = "/"
	}
	if d := w.newDir(); d != "" && res.Err == nil {
		res.Dir = d
	}
	res.Code = sdk.CodeOf(res.Err)
	if res.Err != nil {
		res.Message = sdk.MessageOf(res.Err)
	}
	return res
}

// Declared returns a pointer to n, for Request.Size.
func Declared(n int64) *int64 { return &n }

// checked is a request body as a server gives it to a command: it fails,
// at its end, a body longer or shorter than its declared size (declared <
// 0: unknown) with the server's messages, and reads endErr, when set,
// instead of io.EOF.
type checked struct {
	r        io.Reader
	declared int64
	endErr   error
	n        int64
	err      error // sticky: the end, once reached
}

func (b *checked) Read(p []byte) (int, error) {
	if b.err != nil {
		return 0, b.err
	}
	if b.declared >= 0 && int64(len(p)) > b.declared-b.n {
		// One byte past the declared size is enough to tell.
		p = p[:b.declared-b.n+1]
	}
	n, err := b.r.Read(p)
	b.n += int64(n)
	switch {
	case b.declared >= 0 && b.n > b.declared:
		// Like a server, drop the bytes past the declared size.
		n -= int(b.n - b.declared)
		b.err = sdk.Errorf(sdk.CodeChecksum, "the body is longer than the %d bytes its request declared", b.declared)
		if n > 0 {
			return n, nil
		}
		return 0, b.err
	case err == io.EOF && b.declared >= 0 && b.n < b.declared:
		b.err = sdk.Errorf(sdk.CodeChecksum, "the body ended after %d bytes, short of the %d its request declared", b.n, b.declared)
	case err == io.EOF && b.endErr != nil:
		b.err = b.endErr
	case err != nil:
		b.err = err
	}
	if b.err != nil && n > 0 {
		return n, nil
	}
	return n, b.err
}

// call runs the command and turns a panic into an internal error, as the
// plugin server does, logging the stack to the test.
func call(t testing.TB, ctx context.Context, cmd sdk.Command, r *sdk.Request, w sdk.ResponseWriter) (err error) {
	defer func() {
		if p := recover(); p != nil {
			t.Logf("sdktest: command panicked: %v\n%s", p, debug.Stack())
			err = sdk.Errorf(sdk.CodeInternal, "the command failed unexpectedly")
		}
	}()
	return cmd.Run(ctx, r, w)
}

// host answers Host.Commands with a fixed list.
type host struct{ cmds []sdk.Description }

func (h host) Commands(ctx context.Context) ([]sdk.Description, error) {
	if err := ctx.Err(); err != nil {
		return nil, err
	}
	return append([]sdk.Description(nil), h.cmds...), nil
}

// recorder is the ResponseWriter of Run. It is safe for concurrent use.
type recorder struct {
	mu   sync.Mutex
	meta respond.Meta // the rule of every ResponseWriter: metadata, then body
	body []byte
	dir  string // set by sdk.SetDir
}

// SetSessionDir is where sdk.SetDir lands, as on a server.
func (w *recorder) SetSessionDir(dir string) error {
	w.mu.Lock()
	defer w.mu.Unlock()
	w.dir = dir
	return nil
}

func (w *recorder) newDir() string {
	w.mu.Lock()
	defer w.mu.Unlock()
	return w.dir
}

func (w *recorder) SetMeta(key string, value any) error {
	// Encode now, so a value that cannot travel fails here rather than as
	// a broken response later.
	p, err := json.Marshal(value)
	if err != nil {
		return fmt.Errorf("sdk: metadata %q cannot be encoded as JSON: %w", key, err)
	}
	var v any
	if err := json.Unmarshal(p, &v); err != nil {
		return fmt.Errorf("sdk: metadata %q: %w", key, err)
	}
	w.mu.Lock()
	defer w.mu.Unlock()
	return w.meta.Set(key, v)
}

func (w *recorder) Write(p []byte) (int, error) {
	w.mu.Lock()
	defer w.mu.Unlock()
	w.meta.Start()
	w.body = append(w.body, p...)
	return len(p), nil
}

func (w *recorder) result() (map[string]any, []byte) {
	w.mu.Lock()
	defer w.mu.Unlock()
	return maps.Clone(w.meta.Map()), append([]byte(nil), w.body...)
}

// checkAccess refuses what the request's user may not do by the verb's
// declared Access, as a server does before a command runs.
func checkAccess(d sdk.Description, r *sdk.Request) error {
	if r.User == nil {
		return nil
	}
	if len(d.Access) == 0 {
		r.Root = nil // a verb that declares no access touches no file
		return nil
	}
	needs, err := d.Needs(r)
	if err != nil {
		return err
	}
	for _, n := range needs {
		if n.IfMissing && (r.User.Allows(n.Perm, n.Path) || existsIn(r.Root, n.Path)) {
			continue // mkdir -p's parents: allowed there, or made already
		}
		if !r.User.Allows(n.Perm, n.Path) || n.Tree && !r.User.AllowsTree(n.Perm, n.Path) {
			return sdk.Errorf(sdk.CodePermission, "%s: permission denied (needs %s)", n.Path, n.Perm)
		}
	}
	return nil
}

// existsIn reports whether the virtual path v (clean, absolute) names
// anything under root, as the host asks before a folder mkdir -p would make.
func existsIn(root *os.Root, v string) bool {
	if root == nil {
		return false
	}
	rel := strings.TrimPrefix(v, "/")
	if rel == "" {
		rel = "."
	}
	_, err := root.Lstat(rel)
	return err == nil
}
