package pluginrpc_test

import (
	"bytes"
	"context"
	"crypto/rand"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"strings"
	"sync"
	"testing"
	"testing/iotest"
	"time"

	"github.com/selectftp/selectftp/sdk"
	"github.com/selectftp/selectftp/sdk/sdktest"
)

// wait bounds every wait in these tests.
const wait = 10 * time.Second

func TestMetaAndData(t *testing.T) {
	data := make([]byte, 3<<20+17) // several chunks and a partial one
	rand.Read(data)
	cmd := sdk.Func(sdk.Description{Verb: "emit"}, func(ctx context.Context, req *sdk.Request, w sdk.ResponseWriter) error {
		if err := w.SetMeta("size", len(data)); err != nil {
			return err
		}
		if err := w.SetMeta("name", "émission"); err != nil {
			return err
		}
		if err := w.SetMeta("tags", []string{"a", "b"}); err != nil {
			return err
		}
		if _, err := w.Write(data[:10]); err != nil {
			return err
		}
		_, err := io.Copy(w, bytes.NewReader(data[10:]))
		return err
	})
	remote := sdktest.ServeGRPC(t, cmd)
	if d := remote.Describe(); d.Verb != "emit" {
		t.Fatalf("Describe = %+v", d)
	}
	res := sdktest.Run(t, remote, sdktest.Request{})
	if res.Err != nil {
		t.Fatal(res.Err)
	}
	if res.Meta["size"] != float64(len(data)) || res.Meta["name"] != "émission" || fmt.Sprint(res.Meta["tags"]) != "[a b]" {
		t.Errorf("Meta = %v", res.Meta)
	}
	if !bytes.Equal(res.Body, data) {
		t.Errorf("Body: %d bytes, want %d identical", len(res.Body), len(data))
	}
}

// sum answers the size and SHA-256 of the body it read.
var sum = sdk.Func(sdk.Description{Verb: "sum"}, func(ctx context.Context, req *sdk.Request, w sdk.ResponseWriter) error {
	h := sha256.New()
	n, err := io.Copy(h, req.Body)
	if err != nil {
		return err
	}
	w.SetMeta("size", n)
	w.SetMeta("sha256", hex.EncodeToString(h.Sum(nil)))
	return nil
})

func TestBodyUpload(t *testing.T) {
	data := make([]byte, 9<<20+1)
	rand.Read(data)
	want := sha256.Sum256(data)
	remote := sdktest.ServeGRPC(t, sum)
	for _, body := range []struct {
		name string
		r    io.Reader
	}{
		{"one reader", bytes.NewReader(data)},
		{"small reads", io.MultiReader(bytes.NewReader(data[:1]), bytes.NewReader(data[1:]))},
	} {
		res := sdktest.Run(t, remote, sdktest.Request{Body: body.r})
		if res.Err != nil {
			t.Fatalf("%s: %v", body.name, res.Err)
		}
		if res.Meta["size"] != float64(len(data)) || res.Meta["sha256"] != hex.EncodeToString(want[:]) {
			t.Errorf("%s: Meta = %v", body.name, res.Meta)
		}
	}
	// An empty body reads EOF at once.
	res := sdktest.Run(t, remote, sdktest.Request{})
	if res.Err != nil || res.Meta["size"] != float64(0) {
		t.Errorf("empty body: %v %v", res.Meta, res.Err)
	}
}

// A command may answer before it read the body; the host must not wait for
// the rest of it.
func TestEarlyAnswer(t *testing.T) {
	cmd := sdk.Func(sdk.Description{Verb: "early"}, func(ctx context.Context, req *sdk.Request, w sdk.ResponseWriter) error {
		return sdk.Errorf(sdk.CodeTooLarge, "too big")
	})
	remote := sdktest.ServeGRPC(t, cmd)
	pr, pw := io.Pipe()
	defer pw.Close()
	go func() {
		chunk := make([]byte, 1<<20)
		for i := 0; i < 64; i++ {
			if _, err := pw.Write(chunk); err != nil {
				return
			}
		}
		pw.Close()
	}()
	done := make(chan sdktest.Result, 1)
	go func() { done <- sdktest.Run(t, remote, sdktest.Request{Body: pr}) }()
	select {
	case res := <-done:
		if res.Code != sdk.CodeTooLarge || res.Message != "too big" {
			t.Errorf("got %s %q", res.Code, res.Message)
		}
	case <-time.After(wait):
		t.Fatal("Run waited for the body the command did not read")
	}
	// The plugin still serves.
	if res := sdktest.Run(t, remote, sdktest.Request{}); res.Code != sdk.CodeTooLarge {
		t.Errorf("next request: %s", res.Code)
	}
}

func TestStatusCodes(t *testing.T) {
	codes := []sdk.Code{
		sdk.CodeBadRequest, sdk.CodeTooLarge, sdk.CodeUnknownVerb, sdk.CodeNotFound, sdk.CodeExists,
		sdk.CodePermission, sdk.CodeChecksum, sdk.CodeNoSpace, sdk.CodeUnavailable, sdk.CodeCanceled,
		sdk.CodeTimeout, sdk.CodeInternal,
	}
	cmd := sdk.Func(sdk.Description{Verb: "fail"}, func(ctx context.Context, req *sdk.Request, w sdk.ResponseWriter) error {
		switch req.Args[0] {
		case "missing":
			_, err := req.Root.Open("no/such/file")
			return err
		case "escape":
			_, err := req.Root.Open("../../x")
			return err
		case "plain":
			return errors.New("plain failure")
		}
		return sdk.Errorf(sdk.Code(req.Args[0]), "failed with %s", req.Args[0])
	})
	remote := sdktest.ServeGRPC(t, cmd)
	for _, c := range codes {
		res := sdktest.Run(t, remote, sdktest.Request{Args: []string{string(c)}})
		var e *sdk.Error
		if !errors.As(res.Err, &e) || e.Code != c || e.Message != "failed with "+string(c) {
			t.Errorf("%s: got %#v", c, res.Err)
		}
	}
	for _, tt := range []struct {
		arg  string
		code sdk.Code
		msg  string
	}{
		{"missing", sdk.CodeNotFound, "openat no/such/file: no such file or directory"},
		{"escape", sdk.CodePermission, "../../x: path escapes the root"},
		{"plain", sdk.CodeInternal, "plain failure"},
	} {
		res := sdktest.Run(t, remote, sdktest.Request{Args: []string{tt.arg}})
		if res.Code != tt.code || res.Message != tt.msg {
			t.Errorf("%s: got %s %q, want %s %q", tt.arg, res.Code, res.Message, tt.code, tt.msg)
		}
	}
}

func TestHostCommands(t *testing.T) {
	cmd := sdk.Func(sdk.Description{Verb: "list"}, func(ctx context.Context, req *sdk.Request, w sdk.ResponseWriter) error {
		// Twice, and concurrently, to check the replies are matched to
		// their calls.
		var wg sync.WaitGroup
		out := make([]string, 2)
		errs := make([]error, 2)
		for i := range out {
			wg.Add(1)
			go func() {
				defer wg.Done()
				ds, err := req.Host.Commands(ctx)
				errs[i] = err
				for _, d := range ds {
					out[i] += d.Verb + ":" + d.Summary + ":" + d.Usage + ";"
				}
			}()
		}
		wg.Wait()
		if err := errors.Join(errs...); err != nil {
			return err
		}
		_, err := io.WriteString(w, out[0]+"|"+out[1])
		return err
	})
	remote := sdktest.ServeGRPC(t, cmd)
	res := sdktest.Run(t, remote, sdktest.Request{Commands: []sdk.Description{
		{Verb: "a", Summary: "first", Usage: "use a"}, {Verb: "b", Summary: "second"},
	}})
	if res.Err != nil {
		t.Fatal(res.Err)
	}
	if want := "a:first:use a;b:second:;|a:first:use a;b:second:;"; string(res.Body) != want {
		t.Errorf("Body = %q, want %q", res.Body, want)
	}

	// Without a host, the call fails and the command reports it.
	w := &buffer{}
	err := remote.Run(t.Context(), &sdk.Request{Verb: "list"}, w)
	if err == nil || !strings.Contains(err.Error(), "no host") {
		t.Errorf("no host: %v", err)
	}
}

func TestPanicKeepsServing(t *testing.T) {
	cmd := sdk.Func(sdk.Description{Verb: "fragile"}, func(ctx context.Context, req *sdk.Request, w sdk.ResponseWriter) error {
		if len(req.Args) > 0 && req.Args[0] == "panic" {
			w.SetMeta("before", true)
			panic("boom")
		}
		_, err := io.WriteString(w, "fine")
		return err
	})
	remote := sdktest.ServeGRPC(t, cmd)
	for i := 0; i < 3; i++ {
		res := sdktest.Run(t, remote, sdktest.Request{Args: []string{"panic"}})
		if res.Code != sdk.CodeInternal || res.Message != "the command failed unexpectedly" {
			t.Fatalf("panic: got %s %q", res.Code, res.Message)
		}
		if res.Meta["before"] != true {
			t.Errorf("meta set before the panic was lost: %v", res.Meta)
		}
		res = sdktest.Run(t, remote, sdktest.Request{})
		if res.Err != nil || string(res.Body) != "fine" {
			t.Fatalf("after a panic: %q %v", res.Body, res.Err)
		}
	}
}

// cancelWriter cancels the request once the first output arrives.
type cancelWriter struct {
	buffer
	cancel context.CancelFunc
}

func (w *cancelWriter) Write(p []byte) (int, error) {
	w.cancel()
	return w.buffer.Write(p)
}

func TestCancelMidStream(t *testing.T) {
	sawCancel := make(chan error, 1)
	cmd := sdk.Func(sdk.Description{Verb: "stream"}, func(ctx context.Context, req *sdk.Request, w sdk.ResponseWriter) error {
		if _, err := io.WriteString(w, "first"); err != nil || len(req.Args) > 0 {
			return err
		}
		select {
		case <-ctx.Done():
			sawCancel <- ctx.Err()
			return ctx.Err()
		case <-time.After(wait):
			sawCancel <- errors.New("the plugin's context was not cancelled")
			return nil
		}
	})
	remote := sdktest.ServeGRPC(t, cmd)
	ctx, cancel := context.WithCancel(t.Context())
	defer cancel()
	w := &cancelWriter{cancel: cancel}
	err := remote.Run(ctx, &sdk.Request{Verb: "stream"}, w)
	if sdk.CodeOf(err) != sdk.CodeCanceled {
		t.Errorf("Run = %v, want canceled", err)
	}
	select {
	case err := <-sawCancel:
		if !errors.Is(err, context.Canceled) {
			t.Error(err)
		}
	case <-time.After(wait):
		t.Fatal("the command did not return")
	}
	// The plugin still serves.
	if res := sdktest.Run(t, remote, sdktest.Request{Args: []string{"quick"}}); res.Err != nil || string(res.Body) != "first" {
		t.Errorf("after a cancel: %q %v", res.Body, res.Err)
	}
}

func TestCancelDuringUpload(t *testing.T) {
	started := make(chan struct{})
	readErr := make(chan error, 1)
	cmd := sdk.Func(sdk.Description{Verb: "slurp"}, func(ctx context.Context, req *sdk.Request, w sdk.ResponseWriter) error {
		close(started)
		_, err := io.Copy(io.Discard, req.Body)
		readErr <- err
		return err
	})
	remote := sdktest.ServeGRPC(t, cmd)
	pr, pw := io.Pipe()
	defer pw.Close()
	ctx, cancel := context.WithCancel(t.Context())
	defer cancel()
	go pw.Write([]byte("some bytes, then nothing"))
	go func() {
		// Cancel once the command runs; the body never ends.
		select {
		case <-started:
		case <-time.After(wait):
		}
		cancel()
	}()
	done := make(chan error, 1)
	go func() { done <- remote.Run(ctx, &sdk.Request{Verb: "slurp", Body: pr, BodySize: -1}, &buffer{}) }()
	select {
	case err := <-done:
		if sdk.CodeOf(err) != sdk.CodeCanceled {
			t.Errorf("Run = %v, want canceled", err)
		}
	case <-time.After(wait):
		t.Fatal("Run did not return after cancel")
	}
	select {
	case err := <-readErr:
		if err == nil {
			t.Error("the body read to a clean EOF after the request was cancelled")
		}
	case <-time.After(wait):
		t.Fatal("the plugin's body read did not fail after cancel")
	}
}

func TestConcurrentRuns(t *testing.T) {
	remote := sdktest.ServeGRPC(t, sum)
	var wg sync.WaitGroup
	for i := 0; i < 16; i++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			data := bytes.Repeat([]byte{byte(i)}, 100_000*(i+1))
			want := sha256.Sum256(data)
			res := sdktest.Run(t, remote, sdktest.Request{Body: bytes.NewReader(data)})
			if res.Err != nil || res.Meta["sha256"] != hex.EncodeToString(want[:]) {
				t.Errorf("run %d: %v %v", i, res.Meta, res.Err)
			}
		}()
	}
	wg.Wait()
}

func TestBadParams(t *testing.T) {
	remote := sdktest.ServeGRPC(t, sum)
	err := remote.Run(t.Context(), &sdk.Request{Params: map[string]any{"f": func() {}}}, &buffer{})
	if sdk.CodeOf(err) != sdk.CodeBadRequest {
		t.Errorf("params that are not JSON: %v", err)
	}
}

// buffer is a ResponseWriter for calls made without sdktest.Run.
type buffer struct {
	mu   sync.Mutex
	meta map[string]any
	body bytes.Buffer
}

func (b *buffer) SetMeta(k string, v any) error {
	b.mu.Lock()
	defer b.mu.Unlock()
	if b.meta == nil {
		b.meta = map[string]any{}
	}
	b.meta[k] = v
	return nil
}

func (b *buffer) Write(p []byte) (int, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.body.Write(p)
}

// A request body that fails before its end (the client went away) cancels
// the request: the plugin's body read fails and Run reports the body's
// error instead of waiting for a status that never comes.
func TestBodyReadError(t *testing.T) {
	readErr := make(chan error, 2)
	started := make(chan struct{}, 2)
	cmd := sdk.Func(sdk.Description{Verb: "slurp"}, func(ctx context.Context, req *sdk.Request, w sdk.ResponseWriter) error {
		started <- struct{}{}
		_, err := io.Copy(io.Discard, req.Body)
		readErr <- err
		return err
	})
	remote := sdktest.ServeGRPC(t, cmd)
	for _, tt := range []struct {
		err  error
		code sdk.Code
		msg  string
	}{
		{errors.New("connection reset"), sdk.CodeCanceled, "the request body failed: connection reset"},
		{sdk.Errorf(sdk.CodeTimeout, "upload stalled"), sdk.CodeTimeout, "upload stalled"},
	} {
		// The body fails once the command runs (earlier, the command
		// would not run at all).
		body := io.MultiReader(strings.NewReader("a few bytes"), afterReader{started, iotest.ErrReader(tt.err)})
		done := make(chan sdktest.Result, 1)
		go func() { done <- sdktest.Run(t, remote, sdktest.Request{Body: body}) }()
		select {
		case res := <-done:
			if res.Code != tt.code || res.Message != tt.msg || !errors.Is(res.Err, tt.err) {
				t.Errorf("got %s %q (%v), want %s %q", res.Code, res.Message, res.Err, tt.code, tt.msg)
			}
		case <-time.After(wait):
			t.Fatal("Run did not return after the body failed")
		}
		select {
		case err := <-readErr:
			if err == nil {
				t.Error("the plugin read a clean EOF from a failed body")
			}
		case <-time.After(wait):
			t.Fatal("the plugin's body read did not fail")
		}
	}
}

// afterReader reads r once ready delivers, or after a bounded wait.
type afterReader struct {
	ready <-chan struct{}
	r     io.Reader
}

func (a afterReader) Read(p []byte) (int, error) {
	select {
	case <-a.ready:
	case <-time.After(wait):
	}
	return a.r.Read(p)
}
