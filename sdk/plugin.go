package sdk

import (
	"context"
	"errors"

	"github.com/hashicorp/go-hclog"
	plugin "github.com/hashicorp/go-plugin"
	"google.golang.org/grpc"

	"github.com/selectftp/selectftp/internal/pb"
)

// Plugin serves a Command over go-plugin's gRPC transport. Serve uses it;
// it is exported for tests that start a plugin in-process.
type Plugin struct {
	plugin.NetRPCUnsupportedPlugin
	// Command is the command served.
	Command Command
	// Log receives the plugin's own messages; nil discards them.
	Log hclog.Logger
}

// GRPCServer registers the command service on s.
func (p *Plugin) GRPCServer(_ *plugin.GRPCBroker, s *grpc.Server) error {
	log := p.Log
	if log == nil {
		log = hclog.NewNullLogger()
	}
	pb.RegisterCommandServer(s, &server{cmd: p.Command, log: log})
	return nil
}

// GRPCClient is the host's side and is not served by plugins.
func (p *Plugin) GRPCClient(context.Context, *plugin.GRPCBroker, *grpc.ClientConn) (any, error) {
	return nil, errors.New("sdk: the plugin side has no client")
}
