package pluginrpc_test

import (
	"context"
	"errors"
	"io/fs"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"

	plugin "github.com/hashicorp/go-plugin"

	"github.com/selectftp/selectftp/internal/pb"
	"github.com/selectftp/selectftp/internal/pluginrpc"
	"github.com/selectftp/selectftp/internal/pluginrpc/plugside"
	"github.com/selectftp/selectftp/sdk"
	"github.com/selectftp/selectftp/sdk/sdktest"
)

// cat answers the file its argument names, read through the request's root.
var cat = sdk.Func(sdk.Description{Verb: "cat"}, func(ctx context.Context, req *sdk.Request, w sdk.ResponseWriter) error {
	b, err := req.Root.ReadFile(req.Args[0])
	if errors.Is(err, fs.ErrNotExist) {
		return sdk.Errorf(sdk.CodeNotFound, "%s: not found", req.Args[0])
	}
	if err != nil {
		return err
	}
	_, err = w.Write(b)
	return err
})

// movedTree makes a tree holding kept.txt, opens it as the host does, then
// moves the tree away and puts at its old path a symlink to a folder
// holding secret.txt: what the old path names now is not the tree.
func movedTree(t *testing.T) *os.Root {
	t.Helper()
	base := t.TempDir()
	tree, outside := filepath.Join(base, "tree"), filepath.Join(base, "outside")
	for _, d := range []string{tree, outside} {
		if err := os.Mkdir(d, 0o755); err != nil {
			t.Fatal(err)
		}
	}
	if err := os.WriteFile(filepath.Join(tree, "kept.txt"), []byte("kept"), 0o644); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(outside, "secret.txt"), []byte("secret"), 0o644); err != nil {
		t.Fatal(err)
	}
	root, err := os.OpenRoot(tree)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { root.Close() })
	if err := os.Rename(tree, filepath.Join(base, "moved")); err != nil {
		t.Fatal(err)
	}
	if err := os.Symlink(outside, tree); err != nil {
		t.Fatal(err)
	}
	return root
}

// runCat runs cat for name on root and returns its answer.
func runCat(cmd sdk.Command, root *os.Root, name string) (string, error) {
	var out buffer
	err := cmd.Run(context.Background(), &sdk.Request{Verb: "cat", Args: []string{name}, Root: root}, &out)
	return out.body.String(), err
}

// A plugin that first sees the root after the tree moved and a symlink took
// its path (as a restarted plugin does) serves the tree the host opened,
// not the folder the old path names now: the host passes its open
// directory, never the path.
func TestRootSurvivesReplacedPath(t *testing.T) {
	for _, transport := range []struct {
		name  string
		serve func(testing.TB, sdk.Command) sdk.Command
	}{{"grpc", sdktest.ServeGRPC}, {"grpc-streaming", sdktest.ServeGRPCStreaming}} {
		t.Run(transport.name, func(t *testing.T) {
			root := movedTree(t)
			remote := transport.serve(t, cat)
			// Many first requests at once: the descriptor goes out once and
			// every request gets the root.
			var wg sync.WaitGroup
			for range 8 {
				wg.Go(func() {
					if got, err := runCat(remote, root, "kept.txt"); err != nil || got != "kept" {
						t.Errorf("kept.txt: %q, %v; want the original tree's file", got, err)
					}
				})
			}
			wg.Wait()
			got, err := runCat(remote, root, "secret.txt")
			if sdk.CodeOf(err) != sdk.CodeNotFound {
				t.Fatalf("secret.txt: %q, %v; want not_found (the folder behind the old path was served)", got, err)
			}
			// A second plugin process gets the root again from the host's
			// open root.
			if got, err := runCat(transport.serve(t, cat), root, "kept.txt"); err != nil || got != "kept" {
				t.Fatalf("another process: kept.txt: %q, %v", got, err)
			}
		})
	}
}

// Without a descriptor channel there is no safe way to name a root: the
// request fails with a clear error instead of sending a path.
func TestRootNeedsDescriptorChannel(t *testing.T) {
	client, server := plugin.TestPluginGRPCConn(t, false, map[string]plugin.Plugin{
		pb.PluginName: served(t, cat),
	})
	t.Cleanup(func() { server.Stop(); client.Close() })
	client.Plugins = map[string]plugin.Plugin{pb.PluginName: &pluginrpc.Plugin{Name: "cat"}}
	raw, err := client.Dispense(pb.PluginName)
	if err != nil {
		t.Fatal(err)
	}
	remote := raw.(*pluginrpc.Remote)
	root, err := os.OpenRoot(t.TempDir())
	if err != nil {
		t.Fatal(err)
	}
	defer root.Close()
	_, err = runCat(remote, root, "kept.txt")
	if sdk.CodeOf(err) != sdk.CodeInternal || !strings.Contains(sdk.MessageOf(err), "no descriptor channel") {
		t.Fatalf("err = %v; want internal: no descriptor channel", err)
	}
}

// served is cmd as a plugin process serves it, without a descriptor channel.
func served(t *testing.T, cmd sdk.Command) *plugside.Plugin {
	h, err := plugside.Capture(func() { sdk.Serve(cmd) })
	if err != nil {
		t.Fatal(err)
	}
	return &plugside.Plugin{Handler: h}
}
