// Package plugside is the plugin's half of the plugin RPC; its other half,
// the host's, is package pluginrpc. It serves a Handler over go-plugin's
// gRPC transport: one Run stream per request carries the header, metadata,
// small outputs, the status and the plugin's calls to the host, while file
// bytes travel as descriptors on the channel the host set up (see
// docs/ARCHITECTURE.md, "The plugin boundary and the data plane").
//
// It does not import the sdk package, which imports it: sdk.Serve adapts a
// Command to a Handler and hands it to Serve. Nothing here is part of the
// SDK's API.
package plugside

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"io"
	"os"
	"sync"
	"sync/atomic"

	"github.com/hashicorp/go-hclog"
	plugin "github.com/hashicorp/go-plugin"
	"google.golang.org/grpc"

	"github.com/selectftp/selectftp/internal/fdpass"
	"github.com/selectftp/selectftp/internal/pb"
	"github.com/selectftp/selectftp/protocol"
)

// LogLevelEnv names the environment variable through which the host tells
// a plugin process its log level.
const LogLevelEnv = "SELECTFTP_LOG_LEVEL"

// Description is a command's description as it travels. Access is the
// SDK's access declaration in JSON, opaque here: the host decodes it.
type Description struct {
	Verb, Summary, Usage string
	Access               []byte
}

// User is the logged-in account a request runs for; nil: anonymous.
type User struct {
	Name      string
	Perms     []string
	PathPerms map[string][]string
}

// Handler is a command as the transport sees it; sdk adapts a Command.
type Handler interface {
	Describe() Description
	// Configure receives the operator's settings, once, before any Run.
	Configure(ctx context.Context, settings map[string]any) error
	// Run serves one request; it may be called concurrently. A panic is
	// turned into an internal error by the caller.
	Run(ctx context.Context, c *Call) error
	// Status maps Run's error to what the client sees.
	Status(err error) (protocol.Code, string)
}

// Call is one request as the plugin receives it.
type Call struct {
	Verb       string
	Args       []string
	Params     map[string]any // numbers are json.Number
	Root       *os.Root       // nil when the request names none
	Checksum   string         // the request's digest algorithm
	Dir        string         // the session's current folder, virtual
	BodySize   int64          // declared; -1: unknown
	SessionID  string
	RemoteAddr string
	User       *User // nil: anonymous
	Log        hclog.Logger
	Body       *Body
	Out        *Writer
	Host       *Host
}

// Serve runs h as a plugin process and returns when the host is done with
// it. Under Capture it only hands h over.
func Serve(h Handler) {
	if c := capturing.Load(); c != nil {
		c.h = h
		return
	}
	log := hclog.New(&hclog.LoggerOptions{
		Name:       h.Describe().Verb,
		Level:      hclog.LevelFromString(os.Getenv(LogLevelEnv)),
		Output:     os.Stderr,
		JSONFormat: true, // the host parses these lines and re-logs them
	})
	plugin.Serve(&plugin.ServeConfig{
		HandshakeConfig: pb.Handshake,
		Plugins:         plugin.PluginSet{pb.PluginName: &Plugin{Handler: h, Log: log}},
		GRPCServer:      NewGRPCServer,
		Logger:          log,
	})
}

// Plugin is the go-plugin definition of a plugin process's side.
type Plugin struct {
	plugin.NetRPCUnsupportedPlugin
	Handler Handler
	// Log receives the plugin's own messages; nil discards them.
	Log hclog.Logger
	// Files is the descriptor channel; nil takes it from the environment,
	// as a plugin process started by the host finds it.
	Files *fdpass.Sender
}

// GRPCServer registers the command service on s.
func (p *Plugin) GRPCServer(_ *plugin.GRPCBroker, s *grpc.Server) error {
	log := p.Log
	if log == nil {
		log = hclog.NewNullLogger()
	}
	srv := &server{h: p.Handler, log: log, fds: p.Files}
	if srv.fds == nil {
		if fds, err := fdpass.FromEnv(); err == nil {
			srv.fds = fds // the host moves files itself
		} else if !errors.Is(err, fdpass.ErrUnavailable) {
			log.Warn("descriptor channel unusable: files stream over gRPC and requests with a root fail", "error", err)
		}
	}
	pb.RegisterCommandServer(s, srv)
	return nil
}

// GRPCClient is the host's side and is not served by plugins.
func (p *Plugin) GRPCClient(context.Context, *plugin.GRPCBroker, *grpc.ClientConn) (any, error) {
	return nil, errors.New("plugside: the plugin side has no client")
}

// NewGRPCServer creates the plugin's gRPC server with the message limits the
// host uses too.
func NewGRPCServer(opts []grpc.ServerOption) *grpc.Server {
	opts = append(opts, grpc.MaxRecvMsgSize(pb.MaxMessage), grpc.MaxSendMsgSize(pb.MaxMessage))
	return grpc.NewServer(opts...)
}

// capturing is set while Capture runs.
var (
	captureMu sync.Mutex
	capturing atomic.Pointer[capture]
)

type capture struct{ h Handler }

// Capture calls serve, which must call Serve (sdk.Serve does), and returns
// the Handler Serve was given instead of serving it. It is how the test
// harness (sdktest) gets the SDK's adapter of a command without the sdk
// package exporting transport: the harness then serves the Handler over an
// in-process gRPC connection. Captures run one at a time; a process must not
// call Serve for real meanwhile (a test process never does).
func Capture(serve func()) (Handler, error) {
	captureMu.Lock()
	defer captureMu.Unlock()
	c := &capture{}
	capturing.Store(c)
	defer capturing.Store(nil)
	serve()
	if c.h == nil {
		return nil, errors.New("plugside: Serve was not called")
	}
	return c.h, nil
}

// parseParams decodes a request's params object with every number kept as
// a json.Number, so an integer beyond 2^53 keeps its digits, as the host's
// protocol.DecodeRequest keeps them.
func parseParams(p []byte) (map[string]any, error) {
	var m map[string]any
	d := json.NewDecoder(bytes.NewReader(p))
	d.UseNumber()
	if err := d.Decode(&m); err != nil {
		return nil, err
	}
	if _, err := d.Token(); err != io.EOF {
		return nil, errors.New("data after the params object")
	}
	return m, nil
}
