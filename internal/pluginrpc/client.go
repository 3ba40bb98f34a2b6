// Package pluginrpc is the host's side of the plugin RPC: it makes a plugin
// reached over gRPC look like any in-process sdk.Command, so the dispatcher
// cannot tell the two apart.
package pluginrpc

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"sync"
	"sync/atomic"

	plugin "github.com/hashicorp/go-plugin"
	"google.golang.org/grpc"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"

	"github.com/selectftp/selectftp/internal/checksum"
	"github.com/selectftp/selectftp/internal/fdpass"
	"github.com/selectftp/selectftp/internal/pb"
	"github.com/selectftp/selectftp/internal/pluginrpc/chunk"
	"github.com/selectftp/selectftp/sdk"
)

// Plugin is the go-plugin definition the host dispenses: its client is a
// *Remote.
type Plugin struct {
	plugin.NetRPCUnsupportedPlugin
	// Name labels errors, usually the plugin's file name.
	Name string
	// Files is the plugin's descriptor channel: it receives the plugin's
	// passed files and carries the roots to the plugin. Without it a
	// request with a root fails: a plugin never gets a root's path.
	Files *fdpass.Receiver
	// StreamFiles makes every file byte cross gRPC even with a channel,
	// which then carries only roots (tests of the streaming path).
	StreamFiles bool
}

// GRPCServer belongs to the plugin side and is not used by the host.
func (p *Plugin) GRPCServer(*plugin.GRPCBroker, *grpc.Server) error {
	return errors.New("pluginrpc: the host side serves nothing")
}

// GRPCClient wraps the connection to a started plugin.
func (p *Plugin) GRPCClient(_ context.Context, _ *plugin.GRPCBroker, c *grpc.ClientConn) (any, error) {
	return &Remote{name: p.Name, client: pb.NewCommandClient(c), files: p.Files, streamOnly: p.StreamFiles}, nil
}

// DialOptions are the gRPC options the host dials plugins with: the same
// message limits the plugin side sets.
func DialOptions() []grpc.DialOption {
	return []grpc.DialOption{grpc.WithDefaultCallOptions(
		grpc.MaxCallRecvMsgSize(pb.MaxMessage), grpc.MaxCallSendMsgSize(pb.MaxMessage))}
}

// Remote is a plugin's command. Describe must be loaded with Load before the
// command is registered.
type Remote struct {
	name   string
	client pb.CommandClient
	desc   sdk.Description
	files  *fdpass.Receiver
	// streamOnly: the channel carries roots, not the plugin's files.
	streamOnly bool

	mu   sync.Mutex
	idle []*pooled // open streams between requests

	rootMu sync.Mutex
	roots  map[uint64]bool // ids of the roots this process holds
}

// Load asks the plugin for its description.
func (r *Remote) Load(ctx context.Context) (sdk.Description, error) {
	d, err := r.client.Describe(ctx, &pb.DescribeRequest{})
	if err != nil {
		return sdk.Description{}, fmt.Errorf("describe: %w", err)
	}
	desc := sdk.Description{Verb: d.Verb, Summary: d.Summary, Usage: d.Usage}
	if desc.Options, desc.Access, err = decodeAccess(d.AccessJson); err != nil {
		return sdk.Description{}, fmt.Errorf("describe %s: %w", d.Verb, err)
	}
	r.desc = desc
	return r.desc, nil
}

// Configure passes settings to the plugin.
func (r *Remote) Configure(ctx context.Context, settings map[string]any) error {
	var p []byte
	if len(settings) > 0 {
		var err error
		if p, err = json.Marshal(settings); err != nil {
			return fmt.Errorf("encode settings: %w", err)
		}
	}
	if _, err := r.client.Configure(ctx, &pb.ConfigureRequest{SettingsJson: p}); err != nil {
		return fmt.Errorf("configure: %s", status.Convert(err).Message())
	}
	return nil
}

// Close releases what the host holds for this plugin process: idle streams
// and its descriptor channel, with any descriptor nobody took. Call it when
// the process is stopped or replaced.
func (r *Remote) Close() {
	r.mu.Lock()
	idle := r.idle
	r.idle = nil
	r.mu.Unlock()
	for _, ps := range idle {
		ps.cancel()
	}
	if r.files != nil {
		r.files.Close()
	}
}

// Describe returns the description loaded by Load.
func (r *Remote) Describe() sdk.Description { return r.desc }

// Run forwards one request to the plugin and its output back to w. It runs
// on a stream from the pool when one is idle: opening a gRPC stream costs
// more than a small request.
func (r *Remote) Run(ctx context.Context, req *sdk.Request, w sdk.ResponseWriter) error {
	if err := ctx.Err(); err != nil {
		return err // pooled streams do not carry the request's context
	}
	var rootID uint64
	if req.Root != nil {
		var err error
		if rootID, err = r.passRoot(req.Root); err != nil {
			return err
		}
	}
	ps, err := r.acquire()
	if err != nil {
		return r.lost(ctx, err)
	}
	// Cancelling the request ends its stream: the plugin sees it as a
	// cancelled context, and the stream is not reused.
	stop := context.AfterFunc(ctx, ps.cancel)
	reusable := false
	defer func() {
		if stop() && reusable {
			r.release(ps)
		} else {
			ps.cancel()
		}
	}()
	s := ps.s
	alg, err := checksum.Parse(req.Checksum)
	if err != nil {
		alg = checksum.Default // a Request built by hand; the host's always names one
	}
	h := &pb.RunHeader{Verb: req.Verb, Args: req.Args, SessionId: req.SessionID, RemoteAddr: req.RemoteAddr,
		Files: r.files != nil && !r.streamOnly, RootId: rootID, Checksum: alg.String(), Dir: req.Dir,
		User: userHeader(req.User)}
	if req.BodySize >= 0 && req.Body != nil {
		h.BodySize = &req.BodySize
	}
	if len(req.Params) > 0 {
		if h.ParamsJson, err = json.Marshal(req.Params); err != nil {
			return sdk.Errorf(sdk.CodeBadRequest, "params: %v", err)
		}
	}
	if err := s.send(&pb.RunInput{Msg: &pb.RunInput_Header{Header: h}}); err != nil {
		return r.lost(ctx, err)
	}
	var (
		pumping bool          // the body streams only once the plugin asks
		bodyOut chan struct{} // closed when the body pump or writer is done
	)
	startBody := func(f func()) {
		pumping, bodyOut = true, make(chan struct{})
		go func() { defer close(bodyOut); f() }()
	}
	for {
		out, err := ps.stream.Recv()
		if err != nil {
			if berr := s.bodyErr(); berr != nil {
				return bodyFailed(berr)
			}
			return r.lost(ctx, err)
		}
		switch m := out.Msg.(type) {
		case *pb.RunOutput_MetaJson:
			if err := r.setMeta(w, m.MetaJson); err != nil {
				return err
			}
		case *pb.RunOutput_Data:
			if _, err := w.Write(m.Data); err != nil {
				return err
			}
		case *pb.RunOutput_HostCall:
			s.answering.Add(1)
			go func() { defer s.answering.Add(-1); s.answer(ctx, req.Host, m.HostCall) }()
		case *pb.RunOutput_SetDir:
			ds, ok := w.(DirSetter)
			if !ok {
				return sdk.Errorf(sdk.CodeInternal, "plugin %s set the current folder, which this server does not keep", r.name)
			}
			if err := ds.SetSessionDir(m.SetDir); err != nil {
				return err
			}
		case *pb.RunOutput_Progress:
			sdk.Progress(ctx) // the host's deadline starts afresh
		case *pb.RunOutput_WantBody:
			if !pumping {
				startBody(func() { s.pump(req.Body, ps.cancel) })
			}
		case *pb.RunOutput_SendFile:
			if err := r.sendFile(w, m.SendFile); err != nil {
				return err
			}
		case *pb.RunOutput_BodyToFile:
			if pumping {
				s.send(&pb.RunInput{Msg: &pb.RunInput_BodyDone{BodyDone: &pb.BodyDone{Token: m.BodyToFile.Token,
					Code: string(sdk.CodeInternal), Message: "the body is already streaming"}}})
				break
			}
			// Off this loop, so a plugin that dies meanwhile is noticed
			// at once and the upload stops (the session ends the body).
			startBody(func() {
				done := r.bodyToFile(req.Body, alg, m.BodyToFile)
				s.send(&pb.RunInput{Msg: &pb.RunInput_BodyDone{BodyDone: done}})
			})
		case *pb.RunOutput_Status:
			// Reuse the stream only if nothing of this request can still
			// write to it.
			reusable = s.answering.Load() == 0 && (!pumping || closed(bodyOut))
			if err := r.tail(w, m.Status); err != nil {
				return err
			}
			if m.Status.Code == string(sdk.CodeOK) {
				return nil
			}
			return &sdk.Error{Code: sdk.Code(m.Status.Code), Message: m.Status.Message}
		}
	}
}

func (r *Remote) setMeta(w sdk.ResponseWriter, p []byte) error {
	var meta map[string]any
	if err := json.Unmarshal(p, &meta); err != nil {
		return sdk.Errorf(sdk.CodeInternal, "plugin %s sent invalid metadata", r.name)
	}
	for k, v := range meta {
		if err := w.SetMeta(k, v); err != nil {
			return err
		}
	}
	return nil
}

// tail delivers what a status carries: metadata and output held back to
// travel with it.
func (r *Remote) tail(w sdk.ResponseWriter, st *pb.Status) error {
	if len(st.MetaJson) > 0 {
		if err := r.setMeta(w, st.MetaJson); err != nil {
			return err
		}
	}
	if len(st.Tail) > 0 {
		if _, err := w.Write(st.Tail); err != nil {
			return err
		}
	}
	return nil
}

func closed(ch chan struct{}) bool {
	select {
	case <-ch:
		return true
	default:
		return false
	}
}

// pooled is an open Run stream, idle between requests.
type pooled struct {
	stream grpc.BidiStreamingClient[pb.RunInput, pb.RunOutput]
	s      *sender
	cancel context.CancelFunc
}

// maxIdleStreams bounds the pool; more concurrent requests open more
// streams, and those beyond it close after their request.
const maxIdleStreams = 64

func (r *Remote) acquire() (*pooled, error) {
	r.mu.Lock()
	if n := len(r.idle); n > 0 {
		ps := r.idle[n-1]
		r.idle = r.idle[:n-1]
		r.mu.Unlock()
		ps.s.reset()
		return ps, nil
	}
	r.mu.Unlock()
	ctx, cancel := context.WithCancel(context.Background())
	stream, err := r.client.Run(ctx)
	if err != nil {
		cancel()
		return nil, err
	}
	return &pooled{stream: stream, s: &sender{stream: stream}, cancel: cancel}, nil
}

func (r *Remote) release(ps *pooled) {
	r.mu.Lock()
	if len(r.idle) < maxIdleStreams {
		r.idle = append(r.idle, ps)
		ps = nil
	}
	r.mu.Unlock()
	if ps != nil {
		ps.stream.CloseSend() // the plugin's Run returns
		ps.cancel()
	}
}

// lost turns a broken stream into the client's error: a cancelled request
// stays cancelled, anything else means the plugin went away.
func (r *Remote) lost(ctx context.Context, err error) error {
	if ctx.Err() != nil {
		return ctx.Err()
	}
	if s, ok := status.FromError(err); ok && s.Code() == codes.Canceled {
		return context.Canceled
	}
	return &sdk.Error{Code: sdk.CodeUnavailable,
		Message: fmt.Sprintf("plugin %s stopped while serving the request", r.name), Err: err}
}

// bodyFailed is the error of a request whose body failed before its end:
// the client went away, so the request is cancelled.
func bodyFailed(err error) error {
	if sdk.CodeOf(err) != sdk.CodeInternal {
		return err
	}
	return &sdk.Error{Code: sdk.CodeCanceled, Message: "the request body failed: " + err.Error(), Err: err}
}

// sender serialises Sends: the body pump and host-call answers share the
// stream.
type sender struct {
	mu        sync.Mutex
	stream    grpc.BidiStreamingClient[pb.RunInput, pb.RunOutput]
	failed    error        // the body's read error, under mu
	answering atomic.Int32 // host calls being answered
}

// reset readies a pooled stream's sender for its next request.
func (s *sender) reset() {
	s.mu.Lock()
	s.failed = nil
	s.mu.Unlock()
}

func (s *sender) bodyErr() error {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.failed
}

func (s *sender) send(m *pb.RunInput) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.stream.Send(m)
}

// pump sends the body. When reading it fails, the protocol has no message
// to say so: pump cancels the stream, which the plugin sees as a cancelled
// request, and Run reports the body's error.
func (s *sender) pump(body io.Reader, cancel context.CancelFunc) {
	if body != nil {
		// Reusing buf is safe: grpc-go marshals a message before Send
		// returns, and no stats handler here keeps it.
		bp := chunk.Get()
		defer chunk.Put(bp)
		buf := *bp
		for {
			n, err := body.Read(buf)
			if n > 0 {
				if s.send(&pb.RunInput{Msg: &pb.RunInput_Data{Data: buf[:n]}}) != nil {
					return
				}
			}
			if err == io.EOF {
				break
			}
			if err != nil {
				s.mu.Lock()
				s.failed = err
				s.mu.Unlock()
				cancel()
				return
			}
		}
	}
	s.send(&pb.RunInput{Msg: &pb.RunInput_Eof{Eof: true}})
}

func (s *sender) answer(ctx context.Context, host sdk.Host, call *pb.HostCall) {
	reply := &pb.HostReply{Id: call.Id}
	switch {
	case call.Method != "commands":
		reply.Error = fmt.Sprintf("unknown host method %q", call.Method)
	case host == nil:
		reply.Error = "no host"
	default:
		ds, err := host.Commands(ctx)
		if err != nil {
			reply.Error = err.Error()
		}
		for _, d := range ds {
			reply.Commands = append(reply.Commands, &pb.Description{Verb: d.Verb, Summary: d.Summary, Usage: d.Usage})
		}
	}
	s.send(&pb.RunInput{Msg: &pb.RunInput_HostReply{HostReply: reply}})
}
