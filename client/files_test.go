package client_test

import (
	"context"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/selectftp/selectftp/client"
	"github.com/selectftp/selectftp/host/hosttest"
	"github.com/selectftp/selectftp/sdk"
)

// fakeFiles are small in-process commands that speak the issue-9 wire
// formats, so the client is tested without the real plugins. calls records
// each request as "verb args params".
type fakeFiles struct {
	mu    sync.Mutex
	calls []string
	// lsGate, when set, is waited on after ls's first line: the test
	// proves the client decodes while the body still streams.
	lsGate chan struct{}
	lsMany int // ls sends this many extra entries after the first
}

func (f *fakeFiles) record(req *sdk.Request) {
	f.mu.Lock()
	defer f.mu.Unlock()
	var ps []string
	for k, v := range req.Params {
		ps = append(ps, fmt.Sprintf("%s=%v", k, v))
	}
	slices.Sort(ps)
	f.calls = append(f.calls, strings.TrimSpace(req.Verb+" "+strings.Join(req.Args, ",")+" "+strings.Join(ps, ",")))
}

func (f *fakeFiles) last() string {
	f.mu.Lock()
	defer f.mu.Unlock()
	return f.calls[len(f.calls)-1]
}

const entryLine = `{"name":"b.txt","path":"/a/b.txt","type":"file","size":123,"mode":"-rw-r--r--","mtime":"2026-12-02T09:00:00.123456789Z"}` + "\n"

func (f *fakeFiles) commands() []sdk.Command {
	cmd := func(verb string, run sdk.RunFunc) sdk.Command {
		return sdk.Func(sdk.Description{Verb: verb, Summary: verb}, func(ctx context.Context, req *sdk.Request, w sdk.ResponseWriter) error {
			f.record(req)
			return run(ctx, req, w)
		})
	}
	ok := func(context.Context, *sdk.Request, sdk.ResponseWriter) error { return nil }
	return []sdk.Command{
		cmd("ls", func(ctx context.Context, req *sdk.Request, w sdk.ResponseWriter) error {
			if slices.Contains(req.Args, "missing") {
				return sdk.Errorf(sdk.CodeNotFound, "missing: no such file or folder")
			}
			// Cut the line across writes: the client must join them.
			io.WriteString(w, entryLine[:40])
			io.WriteString(w, entryLine[40:])
			if f.lsGate != nil {
				select {
				case <-f.lsGate:
				case <-ctx.Done():
					return ctx.Err()
				}
			}
			for i := range f.lsMany {
				fmt.Fprintf(w, `{"name":"f%d","path":"/f%d","type":"dir","size":0,"mode":"drwxr-xr-x","mtime":"2026-01-01T00:00:00Z"}`+"\n", i, i)
			}
			return nil
		}),
		cmd("stat", func(ctx context.Context, req *sdk.Request, w sdk.ResponseWriter) error {
			for k, v := range map[string]any{"path": "/a/b.txt", "type": "file", "size": 5, "mode": "-rw-------",
				"mtime": "2026-12-02T09:00:00Z", "sha256": "abcd"} {
				w.SetMeta(k, v)
			}
			return nil
		}),
		cmd("rm", ok), cmd("mkdir", ok),
		cmd("mv", func(ctx context.Context, req *sdk.Request, w sdk.ResponseWriter) error {
			if req.Params["no_clobber"] == true {
				return sdk.Errorf(sdk.CodeExists, "%s exists", req.Args[1])
			}
			return nil
		}),
		cmd("sum", func(ctx context.Context, req *sdk.Request, w sdk.ResponseWriter) error {
			for _, p := range req.Args {
				fmt.Fprintf(w, "%032x  /%s\n", len(p), p)
			}
			return nil
		}),
		cmd("cd", func(ctx context.Context, req *sdk.Request, w sdk.ResponseWriter) error {
			rel, err := req.Resolve(req.Args[0])
			if err != nil {
				return err
			}
			if err := sdk.SetDir(w, sdk.Virtual(rel)); err != nil {
				return err
			}
			_, err = io.WriteString(w, sdk.Virtual(rel)+"\n")
			return err
		}),
		cmd("pwd", func(ctx context.Context, req *sdk.Request, w sdk.ResponseWriter) error {
			_, err := io.WriteString(w, req.Dir+"\n")
			return err
		}),
	}
}

func dialFake(t *testing.T, f *fakeFiles) *client.Conn {
	t.Helper()
	srv := hosttest.NewServer(t, f.commands()...)
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	c, err := client.Dial(ctx, srv.Addr)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { c.Close() })
	return c
}

func TestListDecodesEntries(t *testing.T) {
	f := &fakeFiles{}
	c := dialFake(t, f)
	ctx := context.Background()
	es, err := c.List(ctx, client.ListOptions{Long: true, All: true}, "a", "-dash")
	if err != nil {
		t.Fatal(err)
	}
	want := client.Entry{Name: "b.txt", Path: "/a/b.txt", Type: "file", Size: 123, Mode: 0o644, ModeText: "-rw-r--r--",
		ModTime: time.Date(2026, 12, 2, 9, 0, 0, 123456789, time.UTC)}
	if len(es) != 1 || !es[0].ModTime.Equal(want.ModTime) || es[0].Name != want.Name || es[0].Path != want.Path ||
		es[0].Type != want.Type || es[0].Size != want.Size || es[0].Mode != want.Mode || es[0].ModeText != want.ModeText {
		t.Fatalf("List = %+v, want [%+v]", es, want)
	}
	// Flags travel as params; a path like a flag is made unmistakable.
	if got := f.last(); got != "ls a,./-dash all=true,long=true" {
		t.Errorf("request = %q", got)
	}
	if _, err := c.List(ctx, client.ListOptions{}, "missing"); !errors.Is(err, client.ErrNotFound) {
		t.Errorf("List(missing) = %v, want ErrNotFound", err)
	}
}

// The callback sees the first entry while the server still holds the rest
// back: the listing is decoded as it streams, not after it ends.
func TestListFuncStreams(t *testing.T) {
	f := &fakeFiles{lsGate: make(chan struct{}), lsMany: 100_000}
	c := dialFake(t, f)
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()
	n := 0
	err := c.ListFunc(ctx, client.ListOptions{}, func(e client.Entry) error {
		if n == 0 {
			close(f.lsGate) // only now may the server go on
		}
		n++
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	if n != 100_001 {
		t.Fatalf("got %d entries, want 100001", n)
	}
	// A callback's error stops the listing; the connection goes on.
	f.lsGate = nil
	stop := errors.New("enough")
	if err := c.ListFunc(ctx, client.ListOptions{}, func(client.Entry) error { return stop }); !errors.Is(err, stop) {
		t.Fatalf("ListFunc = %v, want the callback's error", err)
	}
	if _, err := c.Pwd(ctx); err != nil {
		t.Fatalf("connection unusable after a stopped listing: %v", err)
	}
}

func TestStatRemoveMkdirRename(t *testing.T) {
	f := &fakeFiles{}
	c := dialFake(t, f)
	ctx := context.Background()
	e, err := c.Stat(ctx, "a/b.txt")
	if err != nil {
		t.Fatal(err)
	}
	if e.Path != "/a/b.txt" || e.Name != "b.txt" || e.Type != "file" || e.Size != 5 || e.Mode != 0o600 || e.Digests["sha256"] != "abcd" {
		t.Errorf("Stat = %+v", e)
	}
	for _, tc := range []struct {
		do   func() error
		want string
	}{
		{func() error { return c.Remove(ctx, true, "x", "y") }, "rm x,y recursive=true"},
		{func() error { return c.Remove(ctx, false, "x") }, "rm x"},
		{func() error { return c.Mkdir(ctx, true, "p/q") }, "mkdir p/q parents=true"},
		{func() error { return c.Rename(ctx, "a", "b", false) }, "mv a,b"},
	} {
		if err := tc.do(); err != nil {
			t.Fatalf("%s: %v", tc.want, err)
		}
		if got := f.last(); got != tc.want {
			t.Errorf("request = %q, want %q", got, tc.want)
		}
	}
	if err := c.Rename(ctx, "a", "b", true); !errors.Is(err, client.ErrExists) {
		t.Errorf("Rename -n = %v, want ErrExists", err)
	}
}

func TestSumCdPwd(t *testing.T) {
	f := &fakeFiles{}
	c := dialFake(t, f)
	ctx := context.Background()
	sums, err := c.Sum(ctx, "", "a", "bb")
	if err != nil {
		t.Fatal(err)
	}
	if len(sums) != 2 || sums[1].Path != "/bb" || sums[1].Digest != fmt.Sprintf("%032x", 2) || sums[1].Algorithm != "xxh128" {
		t.Errorf("Sum = %+v", sums)
	}
	if got := f.last(); got != "sum a,bb checksum=xxh128" {
		t.Errorf("request = %q", got)
	}
	if d, err := c.Cd(ctx, "sub/../x"); err != nil || d != "/x" {
		t.Fatalf("Cd = %q, %v", d, err)
	}
	if d, err := c.Pwd(ctx); err != nil || d != "/x" {
		t.Fatalf("Pwd after Cd = %q, %v; want /x", d, err)
	}
}

func TestParseMode(t *testing.T) {
	for _, m := range []fs.FileMode{0o644, fs.ModeDir | 0o755, fs.ModeSymlink | 0o777, fs.ModeSetuid | fs.ModeSticky | 0o700, fs.ModeNamedPipe} {
		got, err := client.ParseMode(m.String())
		if err != nil || got != m {
			t.Errorf("ParseMode(%q) = %v, %v; want %v", m.String(), got, err, m)
		}
	}
	for _, bad := range []string{"", "rw-", "x-rw-r--r--", "-rw-r--r-X"} {
		if _, err := client.ParseMode(bad); err == nil {
			t.Errorf("ParseMode(%q) accepted", bad)
		}
	}
}

// A server answering ls with something else (the fallback's upper-cased
// echo) gives an error, not an empty listing.
func TestListRefusesNonListing(t *testing.T) {
	srv := hosttest.NewServer(t, sdk.Func(sdk.Description{Verb: "ls"}, func(ctx context.Context, req *sdk.Request, w sdk.ResponseWriter) error {
		_, err := io.WriteString(w, "LS A\n")
		return err
	}))
	c, err := client.Dial(context.Background(), srv.Addr)
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	if _, err := c.List(context.Background(), client.ListOptions{}, "a"); err == nil || !strings.Contains(err.Error(), "not a listing") {
		t.Fatalf("List = %v, want a not-a-listing error", err)
	}
}
