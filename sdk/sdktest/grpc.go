package sdktest

import (
	"context"
	"testing"
	"time"

	plugin "github.com/hashicorp/go-plugin"

	"github.com/selectftp/selectftp/internal/fdpass"
	"github.com/selectftp/selectftp/internal/pb"
	"github.com/selectftp/selectftp/internal/pluginrpc"
	"github.com/selectftp/selectftp/internal/pluginrpc/plugside"
	"github.com/selectftp/selectftp/sdk"
)

// ServeGRPC serves cmd over go-plugin's gRPC transport inside the test
// process and returns the host's side of the connection: the command as the
// server sees a plugin, with its description already loaded. Requests run
// through it cross the same code as with a plugin binary (the SDK's plugin
// server, the gRPC stream, the host's client), so
//
//	sdktest.Run(t, sdktest.ServeGRPC(t, cmd), req)
//
// answers like sdktest.Run(t, cmd, req). The returned command also
// implements sdk.Configurer, which passes settings through the RPC. The
// connection is closed when the test ends.
func ServeGRPC(t testing.TB, cmd sdk.Command) sdk.Command {
	t.Helper()
	return serveGRPC(t, cmd, true)
}

// ServeGRPCStreaming is ServeGRPC with every file byte crossing gRPC, as
// when a plugin's file cannot be passed. The descriptor channel still
// carries the request's root: a plugin never gets a root's path.
func ServeGRPCStreaming(t testing.TB, cmd sdk.Command) sdk.Command {
	t.Helper()
	return serveGRPC(t, cmd, false)
}

// Each runs f with cmd reached the three ways a host may call it:
// in-process, behind gRPC with descriptor passing, and behind gRPC alone.
func Each(t *testing.T, cmd sdk.Command, f func(t *testing.T, cmd sdk.Command)) {
	t.Run("in-process", func(t *testing.T) { f(t, cmd) })
	t.Run("grpc", func(t *testing.T) { f(t, ServeGRPC(t, cmd)) })
	t.Run("grpc-streaming", func(t *testing.T) { f(t, ServeGRPCStreaming(t, cmd)) })
}

func serveGRPC(t testing.TB, cmd sdk.Command, withFiles bool) sdk.Command {
	t.Helper()
	// TestPluginGRPCConn gives both ends the same plugin set; the server
	// end takes the SDK's plugin, and the client's set is replaced below by
	// the host's.
	// sdk.Serve, captured, yields the SDK's own adapter of cmd: the same
	// one a plugin binary serves.
	h, err := plugside.Capture(func() { sdk.Serve(cmd) })
	if err != nil {
		t.Fatalf("sdktest: %v", err)
	}
	served := &plugside.Plugin{Handler: h}
	// The descriptor channel too, as a plugin process gets it: the root
	// and the files the command copies travel as descriptors, not paths
	// or gRPC messages.
	files, child, err := fdpass.Pair()
	if err == nil {
		sender, serr := fdpass.NewSender(child)
		child.Close()
		if serr != nil {
			t.Fatalf("sdktest: descriptor channel: %v", serr)
		}
		served.Files = sender
		t.Cleanup(func() { sender.Close(); files.Close() })
	}
	client, server := plugin.TestPluginGRPCConn(t, false, map[string]plugin.Plugin{
		pb.PluginName: served,
	})
	t.Cleanup(func() {
		// Stop the server first: closing the client first asks the server
		// to stop itself, which races with a later server.Stop.
		server.Stop()
		client.Close()
	})
	verb := cmd.Describe().Verb
	client.Plugins = map[string]plugin.Plugin{pb.PluginName: &pluginrpc.Plugin{Name: verb, Files: files, StreamFiles: !withFiles}}
	raw, err := client.Dispense(pb.PluginName)
	if err != nil {
		t.Fatalf("sdktest: dispense %s: %v", verb, err)
	}
	remote, ok := raw.(*pluginrpc.Remote)
	if !ok {
		t.Fatalf("sdktest: dispensed %T, want *pluginrpc.Remote", raw)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	if _, err := remote.Load(ctx); err != nil {
		t.Fatalf("sdktest: load %s: %v", verb, err)
	}
	return remote
}
