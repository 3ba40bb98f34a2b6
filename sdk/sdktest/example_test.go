package sdktest_test

import (
	"context"
	"fmt"
	"io"
	"os"
	"strings"
	"sync"
	"testing"

	"github.com/selectftp/selectftp/sdk"
	"github.com/selectftp/selectftp/sdk/sdktest"
)

// shout is a command to test: it answers its words in upper case.
var shout = sdk.Func(sdk.Description{Verb: "shout", Summary: "answer in upper case", Usage: "usage: shout WORD...\n"},
	func(ctx context.Context, req *sdk.Request, w sdk.ResponseWriter) error {
		if len(req.Args) == 0 {
			return sdk.Errorf(sdk.CodeBadRequest, "shout what?")
		}
		_, err := io.WriteString(w, strings.ToUpper(strings.Join(req.Args, " "))+"\n")
		return err
	})

// In a plugin's tests, t is the test's *testing.T; the same request runs
// in-process and through the plugin transport and must answer alike.
func Example() {
	t := newExampleT() // a test function's t, in a test
	defer t.cleanup()

	for _, cmd := range []sdk.Command{shout, sdktest.ServeGRPC(t, shout)} {
		res := sdktest.Run(t, cmd, sdktest.Request{Args: []string{"hello", "world"}})
		fmt.Printf("%s %q\n", res.Code, res.Body)
		res = sdktest.Run(t, cmd, sdktest.Request{})
		fmt.Printf("%s %q\n", res.Code, res.Message)
	}
	// Output:
	// ok "HELLO WORLD\n"
	// bad_request "shout what?"
	// ok "HELLO WORLD\n"
	// bad_request "shout what?"
}

// exampleT stands in for a *testing.T where an example has none. Only the
// methods sdktest and go-plugin call are implemented.
type exampleT struct {
	testing.TB
	ctx      context.Context
	cancel   context.CancelFunc
	mu       sync.Mutex
	cleanups []func()
}

func newExampleT() *exampleT {
	ctx, cancel := context.WithCancel(context.Background())
	return &exampleT{ctx: ctx, cancel: cancel}
}

func (t *exampleT) Helper()                  {}
func (t *exampleT) Context() context.Context { return t.ctx }
func (t *exampleT) Output() io.Writer        { return io.Discard }
func (t *exampleT) Logf(string, ...any)      {}
func (t *exampleT) Fatal(args ...any)        { panic(fmt.Sprint(args...)) }
func (t *exampleT) Fatalf(f string, a ...any) {
	panic(fmt.Sprintf(f, a...))
}

func (t *exampleT) Cleanup(f func()) {
	t.mu.Lock()
	defer t.mu.Unlock()
	t.cleanups = append(t.cleanups, f)
}

func (t *exampleT) TempDir() string {
	dir, err := os.MkdirTemp("", "sdktest-example")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { os.RemoveAll(dir) })
	return dir
}

func (t *exampleT) cleanup() {
	t.cancel()
	for i := len(t.cleanups) - 1; i >= 0; i-- {
		t.cleanups[i]()
	}
}
