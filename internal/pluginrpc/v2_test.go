package pluginrpc_test

import (
	"bytes"
	"context"
	"crypto/rand"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"testing"

	plugin "github.com/hashicorp/go-plugin"
	"google.golang.org/grpc"

	"github.com/selectftp/selectftp/internal/checksum"
	"github.com/selectftp/selectftp/internal/pb"
	"github.com/selectftp/selectftp/internal/pluginrpc"
	"github.com/selectftp/selectftp/sdk"
	"github.com/selectftp/selectftp/sdk/sdktest"
)

// SaveBody's digest is in the request's algorithm on every path: the
// host half hashing a body it copies into the plugin's file (copyBody), and
// the plugin half hashing a body that streamed over gRPC. A digest in
// another algorithm would be recorded in the digest cache under the wrong
// name and sent as a known digest for downloads that never match it.
func TestBodyDigestInRequestAlgorithm(t *testing.T) {
	data := make([]byte, 1<<20+3)
	rand.Read(data)
	save := sdk.Func(sdk.Description{Verb: "save"}, func(ctx context.Context, req *sdk.Request, w sdk.ResponseWriter) error {
		f, err := os.Create(filepath.Join(t.TempDir(), "body"))
		if err != nil {
			return err
		}
		defer f.Close()
		n, d, err := sdk.SaveBody(req, f, -1)
		if err != nil {
			return err
		}
		w.SetMeta("size", n)
		w.SetMeta("algorithm", d.Algorithm)
		return w.SetMeta("digest", d.String())
	})
	sdktest.Each(t, save, func(t *testing.T, cmd sdk.Command) {
		for _, alg := range checksum.All() {
			h := alg.New()
			h.Write(data)
			want := alg.Encode(h.Sum(nil))
			for _, size := range []*int64{sdktest.Declared(int64(len(data))), nil} {
				res := sdktest.Run(t, cmd, sdktest.Request{Body: bytes.NewReader(data), Size: size, Checksum: alg.String()})
				if res.Err != nil || res.Meta["size"] != float64(len(data)) ||
					res.Meta["algorithm"] != alg.String() || res.Meta["digest"] != want {
					t.Errorf("%s, size %v: %v %v; want %s %s", alg, size, res.Meta, res.Err, alg, want)
				}
			}
		}
	})
}

// headers is a plugin that records the RunHeader of each request and
// answers ok.
type headers struct {
	pb.UnimplementedCommandServer
	mu  sync.Mutex
	got []*pb.RunHeader
}

func (h *headers) Run(stream grpc.BidiStreamingServer[pb.RunInput, pb.RunOutput]) error {
	for {
		in, err := stream.Recv()
		if err != nil {
			return nil
		}
		if m, ok := in.Msg.(*pb.RunInput_Header); ok {
			h.mu.Lock()
			h.got = append(h.got, m.Header)
			h.mu.Unlock()
			if err := stream.Send(&pb.RunOutput{Msg: &pb.RunOutput_Status{Status: &pb.Status{Code: string(sdk.CodeOK)}}}); err != nil {
				return err
			}
		}
	}
}

func (h *headers) last() *pb.RunHeader {
	h.mu.Lock()
	defer h.mu.Unlock()
	return h.got[len(h.got)-1]
}

// headersPlugin serves h as a plugin process's gRPC server.
type headersPlugin struct {
	plugin.NetRPCUnsupportedPlugin
	h *headers
}

func (p headersPlugin) GRPCServer(_ *plugin.GRPCBroker, s *grpc.Server) error {
	pb.RegisterCommandServer(s, p.h)
	return nil
}

func (headersPlugin) GRPCClient(context.Context, *plugin.GRPCBroker, *grpc.ClientConn) (any, error) {
	return nil, nil
}

// The host half tells the plugin the request's algorithm (the default by
// name when the request names none) and the declared body size, which is
// absent, not 0, when unknown: 0 would declare an empty body.
func TestRunHeaderDeclares(t *testing.T) {
	rec := &headers{}
	client, server := plugin.TestPluginGRPCConn(t, false, map[string]plugin.Plugin{pb.PluginName: headersPlugin{h: rec}})
	t.Cleanup(func() { server.Stop(); client.Close() })
	client.Plugins = map[string]plugin.Plugin{pb.PluginName: &pluginrpc.Plugin{Name: "headers"}}
	raw, err := client.Dispense(pb.PluginName)
	if err != nil {
		t.Fatal(err)
	}
	remote := raw.(*pluginrpc.Remote)
	for _, tc := range []struct {
		name     string
		req      sdk.Request
		size     *int64
		checksum string
	}{
		{"stream", sdk.Request{Body: strings.NewReader("abc"), BodySize: -1, Checksum: "sha256"}, nil, "sha256"},
		{"declared", sdk.Request{Body: strings.NewReader("abc"), BodySize: 3, Checksum: "blake3"}, sdktest.Declared(3), "blake3"},
		{"declared empty", sdk.Request{Body: strings.NewReader(""), BodySize: 0}, sdktest.Declared(0), checksum.Default.String()},
		{"no body", sdk.Request{}, nil, checksum.Default.String()},
	} {
		tc.req.Verb = "headers"
		if err := remote.Run(t.Context(), &tc.req, &buffer{}); err != nil {
			t.Fatalf("%s: %v", tc.name, err)
		}
		h := rec.last()
		switch {
		case h.Checksum != tc.checksum:
			t.Errorf("%s: checksum %q, want %q", tc.name, h.Checksum, tc.checksum)
		case (h.BodySize == nil) != (tc.size == nil):
			t.Errorf("%s: body_size %s, want %s", tc.name, sizeText(h.BodySize), sizeText(tc.size))
		case h.BodySize != nil && *h.BodySize != *tc.size:
			t.Errorf("%s: body_size %d, want %d", tc.name, *h.BodySize, *tc.size)
		}
	}
}

func sizeText(n *int64) string {
	if n == nil {
		return "absent"
	}
	return strconv.FormatInt(*n, 10)
}
