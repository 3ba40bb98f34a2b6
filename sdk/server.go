package sdk

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"runtime/debug"
	"sync"
	"sync/atomic"

	"github.com/hashicorp/go-hclog"
	"google.golang.org/grpc"

	"github.com/selectftp/selectftp/internal/fdpass"
	"github.com/selectftp/selectftp/internal/pb"
)

// server is the plugin side of the RPC: it turns one Run stream into a
// Request, a ResponseWriter and a Host, and calls the command.
type server struct {
	pb.UnimplementedCommandServer
	cmd    Command
	log    hclog.Logger
	roots  sync.Map       // root path -> *os.Root, opened once per folder
	fds    *fdpass.Sender // the descriptor channel, or nil
	tokens atomic.Uint64  // names passed descriptors
}

type runStream = grpc.BidiStreamingServer[pb.RunInput, pb.RunOutput]

func (s *server) Describe(context.Context, *pb.DescribeRequest) (*pb.Description, error) {
	d := s.cmd.Describe()
	return &pb.Description{Verb: d.Verb, Summary: d.Summary, Usage: d.Usage}, nil
}

func (s *server) Configure(ctx context.Context, req *pb.ConfigureRequest) (*pb.ConfigureResponse, error) {
	c, ok := s.cmd.(Configurer)
	if !ok {
		return &pb.ConfigureResponse{}, nil
	}
	settings := map[string]any{}
	if len(req.SettingsJson) > 0 {
		if err := json.Unmarshal(req.SettingsJson, &settings); err != nil {
			return nil, fmt.Errorf("settings are not a JSON object: %w", err)
		}
	}
	return &pb.ConfigureResponse{}, c.Configure(ctx, settings)
}

func (s *server) root(path string) (*os.Root, error) {
	if r, ok := s.roots.Load(path); ok {
		return r.(*os.Root), nil
	}
	r, err := os.OpenRoot(path)
	if err != nil {
		return nil, err
	}
	if prev, loaded := s.roots.LoadOrStore(path, r); loaded {
		r.Close()
		return prev.(*os.Root), nil
	}
	return r, nil
}

func (s *server) Run(stream runStream) error {
	first, err := stream.Recv()
	if err != nil {
		return err
	}
	h := first.GetHeader()
	if h == nil {
		return errors.New("sdk: run stream did not start with a header")
	}
	out := &streamWriter{stream: stream, tokens: &s.tokens}
	if h.Files {
		out.fds = s.fds
	}
	req := &Request{
		Verb: h.Verb, Args: h.Args, Log: s.log.With("session", h.SessionId),
		SessionID: h.SessionId, RemoteAddr: h.RemoteAddr,
	}
	runErr := s.prepare(req, h)
	pipe, bodyW := io.Pipe()
	b := &body{pipe: pipe, out: out, fds: out.fds, tokens: &s.tokens, done: make(chan *pb.BodyDone, 1)}
	host := &remoteHost{out: out, calls: map[uint64]chan *pb.HostReply{}}
	req.Body, req.Host = b, host
	go receive(stream, bodyW, host, b)
	if runErr == nil {
		runErr = s.call(stream.Context(), req, out)
	}
	// A command that stops reading early must not block the receiver.
	pipe.CloseWithError(errors.New("sdk: request finished"))
	if err := out.flushMeta(); err != nil {
		return err
	}
	code, msg := CodeOf(runErr), ""
	if runErr != nil {
		msg = MessageOf(runErr)
		if code == CodeInternal {
			req.Log.Error("command failed", "error", runErr)
		}
	}
	return out.send(&pb.RunOutput{Msg: &pb.RunOutput_Status{Status: &pb.Status{Code: string(code), Message: msg}}})
}

func (s *server) prepare(req *Request, h *pb.RunHeader) error {
	if len(h.ParamsJson) > 0 {
		if err := json.Unmarshal(h.ParamsJson, &req.Params); err != nil {
			return Errorf(CodeBadRequest, "params are not a JSON object: %v", err)
		}
	}
	if h.Root != "" {
		r, err := s.root(h.Root)
		if err != nil {
			return Errorf(CodeInternal, "open the session root: %v", err)
		}
		req.Root = r
	}
	return nil
}

// call runs the command, turning a panic into an internal error so one bad
// request cannot take the plugin down for everyone.
func (s *server) call(ctx context.Context, req *Request, w ResponseWriter) (err error) {
	defer func() {
		if p := recover(); p != nil {
			s.log.Error("command panicked", "panic", p, "stack", string(debug.Stack()))
			err = Errorf(CodeInternal, "the command failed unexpectedly")
		}
	}()
	return s.cmd.Run(ctx, req, w)
}

// receive feeds the body pipe and answers host calls until the host closes
// its side of the stream.
func receive(stream runStream, body *io.PipeWriter, host *remoteHost, b *body) {
	bodyOpen := true
	for {
		in, err := stream.Recv()
		if err != nil {
			if err == io.EOF {
				err = io.ErrUnexpectedEOF
			}
			body.CloseWithError(err)
			host.fail(err)
			b.fail(err)
			return
		}
		switch m := in.Msg.(type) {
		case *pb.RunInput_Data:
			if bodyOpen {
				if _, err := body.Write(m.Data); err != nil {
					bodyOpen = false // the command is done reading; drain
				}
			}
		case *pb.RunInput_Eof:
			body.Close()
			bodyOpen = false
		case *pb.RunInput_HostReply:
			host.deliver(m.HostReply)
		case *pb.RunInput_BodyDone:
			b.deliver(m.BodyDone)
		}
	}
}

// streamWriter is the ResponseWriter of a plugin: metadata first, then data
// in chunks below the gRPC message limit.
type streamWriter struct {
	mu       sync.Mutex // Send is not safe for concurrent use
	stream   runStream
	meta     map[string]any
	metaSent bool
	fds      *fdpass.Sender // nil: files stream through gRPC
	tokens   *atomic.Uint64
}

func (w *streamWriter) SetMeta(key string, value any) error {
	w.mu.Lock()
	defer w.mu.Unlock()
	if w.metaSent {
		return errors.New("sdk: SetMeta after the body started")
	}
	if w.meta == nil {
		w.meta = map[string]any{}
	}
	w.meta[key] = value
	return nil
}

func (w *streamWriter) flushMeta() error {
	w.mu.Lock()
	defer w.mu.Unlock()
	return w.flushMetaLocked()
}

func (w *streamWriter) flushMetaLocked() error {
	if w.metaSent {
		return nil
	}
	w.metaSent = true
	if len(w.meta) == 0 {
		return nil
	}
	p, err := json.Marshal(w.meta)
	if err != nil {
		return fmt.Errorf("sdk: encode response metadata: %w", err)
	}
	return w.stream.Send(&pb.RunOutput{Msg: &pb.RunOutput_MetaJson{MetaJson: p}})
}

func (w *streamWriter) send(m *pb.RunOutput) error {
	w.mu.Lock()
	defer w.mu.Unlock()
	return w.stream.Send(m)
}

func (w *streamWriter) Write(p []byte) (int, error) {
	w.mu.Lock()
	defer w.mu.Unlock()
	if err := w.flushMetaLocked(); err != nil {
		return 0, err
	}
	n := 0
	for len(p) > 0 {
		c := min(len(p), pb.ChunkSize)
		if err := w.stream.Send(&pb.RunOutput{Msg: &pb.RunOutput_Data{Data: p[:c]}}); err != nil {
			return n, err
		}
		n += c
		p = p[c:]
	}
	return n, nil
}

// ReadFrom lets io.Copy(w, r) fill whole chunks; it is also where a later
// transport can take an *os.File and move it without copying.
func (w *streamWriter) ReadFrom(r io.Reader) (int64, error) {
	if w.fds != nil {
		if f, off, n, consume, ok := fdpass.SourceFile(r); ok && n > 0 {
			return w.sendFile(f, off, n, consume)
		}
	}
	buf := make([]byte, pb.ChunkSize)
	var total int64
	for {
		n, err := io.ReadFull(r, buf)
		if n > 0 {
			if _, werr := w.Write(buf[:n]); werr != nil {
				return total, werr
			}
			total += int64(n)
		}
		if err == io.EOF || err == io.ErrUnexpectedEOF {
			return total, nil
		}
		if err != nil {
			return total, err
		}
	}
}

// sendFile passes the file to the host, which sends the range itself.
func (w *streamWriter) sendFile(f *os.File, off, n int64, consume func()) (int64, error) {
	w.mu.Lock()
	defer w.mu.Unlock()
	if err := w.flushMetaLocked(); err != nil {
		return 0, err
	}
	token := w.tokens.Add(1)
	if err := w.fds.Send(token, f); err != nil {
		return 0, err
	}
	err := w.stream.Send(&pb.RunOutput{Msg: &pb.RunOutput_SendFile{SendFile: &pb.SendFile{Token: token, Offset: off, Length: n}}})
	if err != nil {
		return 0, err
	}
	consume()
	return n, nil
}

// remoteHost answers Request.Host by asking the host over the Run stream.
type remoteHost struct {
	out    *streamWriter
	next   atomic.Uint64
	mu     sync.Mutex
	calls  map[uint64]chan *pb.HostReply
	failed error
}

func (h *remoteHost) Commands(ctx context.Context) ([]Description, error) {
	id := h.next.Add(1)
	ch := make(chan *pb.HostReply, 1)
	h.mu.Lock()
	if h.failed != nil {
		h.mu.Unlock()
		return nil, h.failed
	}
	h.calls[id] = ch
	h.mu.Unlock()
	defer func() { h.mu.Lock(); delete(h.calls, id); h.mu.Unlock() }()
	if err := h.out.send(&pb.RunOutput{Msg: &pb.RunOutput_HostCall{HostCall: &pb.HostCall{Id: id, Method: "commands"}}}); err != nil {
		return nil, err
	}
	select {
	case <-ctx.Done():
		return nil, ctx.Err()
	case r, ok := <-ch:
		if !ok {
			h.mu.Lock()
			defer h.mu.Unlock()
			return nil, h.failed
		}
		if r.Error != "" {
			return nil, errors.New(r.Error)
		}
		ds := make([]Description, len(r.Commands))
		for i, c := range r.Commands {
			ds[i] = Description{Verb: c.Verb, Summary: c.Summary, Usage: c.Usage}
		}
		return ds, nil
	}
}

func (h *remoteHost) deliver(r *pb.HostReply) {
	h.mu.Lock()
	defer h.mu.Unlock()
	if ch, ok := h.calls[r.Id]; ok {
		ch <- r
	}
}

func (h *remoteHost) fail(err error) {
	h.mu.Lock()
	defer h.mu.Unlock()
	h.failed = fmt.Errorf("sdk: host connection lost: %w", err)
	for id, ch := range h.calls {
		close(ch)
		delete(h.calls, id)
	}
}
