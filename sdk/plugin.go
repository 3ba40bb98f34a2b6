package sdk

import (
	"context"
	"errors"

	"github.com/hashicorp/go-hclog"
	plugin "github.com/hashicorp/go-plugin"
	"google.golang.org/grpc"

	"github.com/selectftp/selectftp/internal/fdpass"
	"github.com/selectftp/selectftp/internal/pb"
	"github.com/selectftp/selectftp/sdk/internal/hook"
)

// Plugin serves a Command over go-plugin's gRPC transport. Serve uses it;
// it is exported for tests that start a plugin in-process.
type Plugin struct {
	plugin.NetRPCUnsupportedPlugin
	// Command is the command served.
	Command Command
	// Log receives the plugin's own messages; nil discards them.
	Log hclog.Logger

	fds *fdpass.Sender // set by sdktest; else taken from the environment
}

func init() {
	hook.SetFiles = func(p any, s *fdpass.Sender) { p.(*Plugin).fds = s }
}

// GRPCServer registers the command service on s.
func (p *Plugin) GRPCServer(_ *plugin.GRPCBroker, s *grpc.Server) error {
	log := p.Log
	if log == nil {
		log = hclog.NewNullLogger()
	}
	srv := &server{cmd: p.Command, log: log, fds: p.fds}
	if p.fds != nil {
		// set up by the test harness
	} else if fds, err := fdpass.FromEnv(); err == nil {
		srv.fds = fds // the host moves files itself
	} else if !errors.Is(err, fdpass.ErrUnavailable) {
		log.Warn("descriptor channel unusable: files stream over gRPC and requests with a root fail", "error", err)
	}
	pb.RegisterCommandServer(s, srv)
	return nil
}

// GRPCClient is the host's side and is not served by plugins.
func (p *Plugin) GRPCClient(context.Context, *plugin.GRPCBroker, *grpc.ClientConn) (any, error) {
	return nil, errors.New("sdk: the plugin side has no client")
}
