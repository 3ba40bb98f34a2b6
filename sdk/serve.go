package sdk

import (
	"os"

	"github.com/hashicorp/go-hclog"
	plugin "github.com/hashicorp/go-plugin"
	"google.golang.org/grpc"

	"github.com/selectftp/selectftp/internal/pb"
)

// LogLevelEnv names the environment variable through which the host tells
// plugins its log level.
const LogLevelEnv = "SELECTFTP_LOG_LEVEL"

// Serve runs cmd as a plugin process and returns when the host is done with
// it. Call it from main; print nothing to stdout before it, since stdout
// carries go-plugin's handshake. Run the binary from the host, not by hand.
func Serve(cmd Command) {
	log := hclog.New(&hclog.LoggerOptions{
		Name:       cmd.Describe().Verb,
		Level:      hclog.LevelFromString(os.Getenv(LogLevelEnv)),
		Output:     os.Stderr,
		JSONFormat: true, // the host parses these lines and re-logs them
	})
	plugin.Serve(&plugin.ServeConfig{
		HandshakeConfig: pb.Handshake,
		Plugins:         plugin.PluginSet{pb.PluginName: &Plugin{Command: cmd, Log: log}},
		GRPCServer:      NewGRPCServer,
		Logger:          log,
	})
}

// NewGRPCServer creates the plugin's gRPC server with the message limits the
// host uses too.
func NewGRPCServer(opts []grpc.ServerOption) *grpc.Server {
	opts = append(opts, grpc.MaxRecvMsgSize(pb.MaxMessage), grpc.MaxSendMsgSize(pb.MaxMessage))
	return grpc.NewServer(opts...)
}
