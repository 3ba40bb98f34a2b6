package plugside

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
	"time"

	"github.com/hashicorp/go-hclog"
	"google.golang.org/grpc"

	"github.com/selectftp/selectftp/internal/checksum"
	"github.com/selectftp/selectftp/internal/fdpass"
	"github.com/selectftp/selectftp/internal/pb"
	"github.com/selectftp/selectftp/internal/pluginrpc/chunk"
	"github.com/selectftp/selectftp/internal/respond"
	"github.com/selectftp/selectftp/internal/workers"
	"github.com/selectftp/selectftp/protocol"
)

// server is the plugin side of the RPC: it turns one Run stream into a
// Call (a body, a writer and a host) and calls the handler.
type server struct {
	pb.UnimplementedCommandServer
	h      Handler
	log    hclog.Logger
	roots  sync.Map       // root id -> *os.Root, made once per id from the host's descriptor
	rootMu sync.Mutex     // one taker per root: the host sends each descriptor once
	fds    *fdpass.Sender // the descriptor channel, or nil
	tokens atomic.Uint64  // names passed descriptors
}

// rootTimeout bounds the wait for a root's descriptor, which the host sends
// just before the first request naming it, on the other channel.
const rootTimeout = 10 * time.Second

type runStream = grpc.BidiStreamingServer[pb.RunInput, pb.RunOutput]

// requests runs commands on goroutines that keep their grown stacks.
var requests = workers.New(10 * time.Second)

func (s *server) Describe(context.Context, *pb.DescribeRequest) (*pb.Description, error) {
	d := s.h.Describe()
	return &pb.Description{Verb: d.Verb, Summary: d.Summary, Usage: d.Usage, AccessJson: d.Access}, nil
}

func (s *server) Configure(ctx context.Context, req *pb.ConfigureRequest) (*pb.ConfigureResponse, error) {
	settings := map[string]any{}
	if len(req.SettingsJson) > 0 {
		if err := json.Unmarshal(req.SettingsJson, &settings); err != nil {
			return nil, fmt.Errorf("settings are not a JSON object: %w", err)
		}
	}
	return &pb.ConfigureResponse{}, s.h.Configure(ctx, settings)
}

// root returns the root the host passed with id. The host hands over its
// open directory, never a path: a path may name another folder by now (the
// tree moved away and a symlink put in its place), and a restarted plugin
// would serve that folder.
func (s *server) root(id uint64) (*os.Root, error) {
	if r, ok := s.roots.Load(id); ok {
		return r.(*os.Root), nil
	}
	if s.fds == nil {
		return nil, errors.New("no descriptor channel: the host cannot hand over the root")
	}
	s.rootMu.Lock()
	defer s.rootMu.Unlock()
	if r, ok := s.roots.Load(id); ok {
		return r.(*os.Root), nil
	}
	dir, err := s.fds.Take(id, rootTimeout)
	if err != nil {
		return nil, err
	}
	r, err := fdpass.OpenRoot(dir)
	dir.Close() // the Root holds a descriptor of its own
	if err != nil {
		return nil, err
	}
	s.roots.Store(id, r)
	return r, nil
}

// Run serves requests on one stream, one at a time: the host keeps streams
// open and reuses them, since opening a gRPC stream costs more than a small
// request. This goroutine receives; each request runs on its own.
func (s *server) Run(stream runStream) error {
	sendMu := new(sync.Mutex) // one sender at a time on the stream
	var cur *exchange
	for {
		in, err := stream.Recv()
		if err != nil {
			if cur != nil {
				cur.fail(err)
			}
			if err == io.EOF {
				return nil // the host is done with this stream
			}
			return err
		}
		switch m := in.Msg.(type) {
		case *pb.RunInput_Header:
			// The host sends a header only after the last status.
			cur = s.start(stream, sendMu, m.Header)
		case *pb.RunInput_Data:
			if cur != nil {
				cur.data(m.Data)
			}
		case *pb.RunInput_Eof:
			if cur != nil {
				cur.bodyW.Close()
			}
		case *pb.RunInput_HostReply:
			if cur != nil {
				cur.host.deliver(m.HostReply)
			}
		case *pb.RunInput_BodyDone:
			if cur != nil {
				cur.body.deliver(m.BodyDone)
			}
		}
	}
}

// exchange is one request on a stream, as the receiving goroutine sees it.
type exchange struct {
	bodyW    *io.PipeWriter
	bodyOpen bool
	host     *Host
	body     *Body
}

func (x *exchange) data(p []byte) {
	if x.bodyOpen {
		if _, err := x.bodyW.Write(p); err != nil {
			x.bodyOpen = false // the command is done reading; drop the rest
		}
	}
}

func (x *exchange) fail(err error) {
	if err == io.EOF {
		err = io.ErrUnexpectedEOF
	}
	x.bodyW.CloseWithError(err)
	x.host.fail(err)
	x.body.fail(err)
}

// start begins serving the request h on its own goroutine.
func (s *server) start(stream runStream, sendMu *sync.Mutex, h *pb.RunHeader) *exchange {
	out := &Writer{mu: sendMu, stream: stream, tokens: &s.tokens}
	if h.Files {
		out.fds = s.fds
	}
	c := &Call{
		Verb: h.Verb, Args: h.Args, Log: s.log.With("session", h.SessionId),
		SessionID: h.SessionId, RemoteAddr: h.RemoteAddr, Out: out,
		Checksum: h.Checksum, BodySize: -1, Dir: h.Dir,
	}
	if h.BodySize != nil {
		c.BodySize = *h.BodySize
	}
	c.User = userOf(h.User)
	alg, err := checksum.Parse(h.Checksum)
	if err != nil {
		alg = checksum.Default // an older host names none
	}
	pipe, bodyW := io.Pipe()
	x := &exchange{
		bodyW: bodyW, bodyOpen: true,
		host: &Host{out: out, calls: map[uint64]chan *pb.HostReply{}},
		body: &Body{pipe: pipe, out: out, done: make(chan *pb.BodyDone, 1), alg: alg},
	}
	c.Body, c.Host = x.body, x.host
	requests.Go(func() { s.serve(stream.Context(), c, h, pipe) })
	return x
}

func (s *server) serve(ctx context.Context, c *Call, h *pb.RunHeader, pipe *io.PipeReader) {
	ctx, cancel := context.WithCancel(ctx)
	defer cancel()
	code, msg := s.prepare(c, h)
	if code == "" {
		code, msg = s.call(ctx, c)
	}
	// A command that stops reading early must not block the receiver.
	pipe.CloseWithError(errors.New("sdk: request finished"))
	c.Out.finish(code, msg) // an error here is a broken stream the host sees too
}

func (s *server) prepare(c *Call, h *pb.RunHeader) (protocol.Code, string) {
	if len(h.ParamsJson) > 0 {
		params, err := parseParams(h.ParamsJson) // numbers stay exact
		if err != nil {
			return protocol.CodeBadRequest, fmt.Sprintf("params are not a JSON object: %v", err)
		}
		c.Params = params
	}
	if h.RootId != 0 {
		r, err := s.root(h.RootId)
		if err != nil {
			return protocol.CodeInternal, fmt.Sprintf("open the session root: %v", err)
		}
		c.Root = r
	}
	return "", ""
}

// call runs the handler, turning a panic into an internal error so one bad
// request cannot take the plugin down for everyone.
func (s *server) call(ctx context.Context, c *Call) (code protocol.Code, msg string) {
	defer func() {
		if p := recover(); p != nil {
			s.log.Error("command panicked", "panic", p, "stack", string(debug.Stack()))
			code, msg = protocol.CodeInternal, "the command failed unexpectedly"
		}
	}()
	err := s.h.Run(ctx, c)
	code, msg = s.h.Status(err)
	if code == protocol.CodeInternal {
		// Debug: the host logs the failure at ERROR with the session,
		// verb and code; go-plugin would otherwise relay a second copy.
		c.Log.Debug("command failed", "error", err)
	}
	return code, msg
}

// Writer is the ResponseWriter of a plugin: metadata first, then data
// in chunks below the gRPC message limit. A small answer is held back
// briefly so that it travels inside the status message: one gRPC message
// per request instead of three.
type Writer struct {
	mu       *sync.Mutex // Send is not safe for concurrent use; shared per stream
	stream   runStream
	meta     respond.Meta // started once the body started: metadata is final
	metaSent bool         // metadata (or its absence) went out
	held     []byte       // small output not sent yet
	timer    *time.Timer
	done     bool           // the status went out
	fds      *fdpass.Sender // nil: files stream through gRPC
	tokens   *atomic.Uint64

	lastProgress atomic.Int64 // unix nanos of the last progress message
}

const (
	holdBytes = 32 << 10             // output held back to ride with the status
	holdTime  = 5 * time.Millisecond // then it goes anyway, for streaming commands
)

// SetMeta sets a response metadata key; it fails once the body started.
func (w *Writer) SetMeta(key string, value any) error {
	w.mu.Lock()
	defer w.mu.Unlock()
	return w.meta.Set(key, value)
}

func (w *Writer) metaJSON() ([]byte, error) {
	m := w.meta.Map()
	if len(m) == 0 {
		return nil, nil
	}
	p, err := json.Marshal(m)
	if err != nil {
		return nil, fmt.Errorf("sdk: encode response metadata: %w", err)
	}
	return p, nil
}

// flushLocked sends the metadata and held output.
func (w *Writer) flushLocked() error {
	if w.timer != nil {
		w.timer.Stop()
		w.timer = nil
	}
	if !w.metaSent {
		w.metaSent = true
		w.meta.Start()
		p, err := w.metaJSON()
		if err != nil {
			return err
		}
		if p != nil {
			if err := w.stream.Send(&pb.RunOutput{Msg: &pb.RunOutput_MetaJson{MetaJson: p}}); err != nil {
				return err
			}
		}
	}
	if len(w.held) > 0 {
		held := w.held
		w.held = nil
		return w.stream.Send(&pb.RunOutput{Msg: &pb.RunOutput_Data{Data: held}})
	}
	return nil
}

// finish sends the status, with whatever is still held.
func (w *Writer) finish(code protocol.Code, msg string) error {
	w.mu.Lock()
	defer w.mu.Unlock()
	if w.timer != nil {
		w.timer.Stop()
		w.timer = nil
	}
	st := &pb.Status{Code: string(code), Message: msg, Tail: w.held}
	if !w.metaSent {
		w.metaSent = true
		w.meta.Start()
		p, err := w.metaJSON()
		if err != nil {
			st.Code, st.Message = string(protocol.CodeInternal), err.Error()
		}
		st.MetaJson = p
	}
	w.held, w.done = nil, true
	return w.stream.Send(&pb.RunOutput{Msg: &pb.RunOutput_Status{Status: st}})
}

// progressEvery rate-limits progress messages: the host's deadline is
// counted in seconds, so more would only cost.
const progressEvery = time.Second

// Progress tells the host the command is working, so its request deadline
// starts afresh. Never after the status: the stream may already carry the
// next request.
func (w *Writer) Progress() {
	now := time.Now().UnixNano()
	last := w.lastProgress.Load()
	if now-last < int64(progressEvery) || !w.lastProgress.CompareAndSwap(last, now) {
		return
	}
	w.mu.Lock()
	defer w.mu.Unlock()
	if !w.done {
		w.stream.Send(&pb.RunOutput{Msg: &pb.RunOutput_Progress{Progress: true}})
	}
}

func (w *Writer) send(m *pb.RunOutput) error {
	w.mu.Lock()
	defer w.mu.Unlock()
	return w.stream.Send(m)
}

func (w *Writer) Write(p []byte) (int, error) {
	w.mu.Lock()
	defer w.mu.Unlock()
	if w.done {
		return 0, errors.New("sdk: Write after the request finished")
	}
	w.meta.Start()
	if !w.metaSent && len(w.held)+len(p) <= holdBytes {
		w.held = append(w.held, p...)
		if w.timer == nil {
			w.timer = time.AfterFunc(holdTime, func() {
				w.mu.Lock()
				defer w.mu.Unlock()
				if !w.done {
					w.flushLocked() // an error shows on the next Write or the status
				}
			})
		}
		return len(p), nil
	}
	if err := w.flushLocked(); err != nil {
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

// ReadFrom is where io.Copy(w, f) of an *os.File lands: with a descriptor
// channel the host sends the file itself and the plugin never reads it.
// Anything else streams in whole chunks.
func (w *Writer) ReadFrom(r io.Reader) (int64, error) {
	var send func(*os.File, int64, int64) error
	if w.fds != nil {
		send = w.sendFile
	}
	bp := chunk.Get()
	defer chunk.Put(bp)
	return respond.ReadFrom(w, r, send, *bp)
}

// SetSessionDir is sdk.SetDir in a plugin: the host applies it once the
// request ends ok.
func (w *Writer) SetSessionDir(dir string) error {
	return w.send(&pb.RunOutput{Msg: &pb.RunOutput_SetDir{SetDir: dir}})
}

// SendFileDigest is sdk.SendFile's way: the host sends the range itself,
// with known as the digest of the whole body when it is given. Without a
// descriptor channel the range streams, and the host hashes it.
func (w *Writer) SendFileDigest(f *os.File, off, n int64, known []byte) error {
	if w.fds == nil {
		_, err := io.Copy(respond.WriterOnly{Writer: w}, io.NewSectionReader(f, off, n))
		return err
	}
	return w.passFile(f, off, n, known)
}

// sendFile passes the file to the host, which sends the range itself.
func (w *Writer) sendFile(f *os.File, off, n int64) error { return w.passFile(f, off, n, nil) }

func (w *Writer) passFile(f *os.File, off, n int64, known []byte) error {
	w.mu.Lock()
	defer w.mu.Unlock()
	w.meta.Start()
	if err := w.flushLocked(); err != nil {
		return err
	}
	token := w.tokens.Add(1)
	if err := w.fds.Send(token, f); err != nil {
		return err
	}
	return w.stream.Send(&pb.RunOutput{Msg: &pb.RunOutput_SendFile{SendFile: &pb.SendFile{Token: token, Offset: off, Length: n, Digest: known}}})
}

// Host answers a command's questions about the server by asking the host
// over the Run stream.
type Host struct {
	out    *Writer
	next   atomic.Uint64
	mu     sync.Mutex
	calls  map[uint64]chan *pb.HostReply
	failed error
}

// Commands lists the server's verbs.
func (h *Host) Commands(ctx context.Context) ([]Description, error) {
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

func (h *Host) deliver(r *pb.HostReply) {
	h.mu.Lock()
	defer h.mu.Unlock()
	if ch, ok := h.calls[r.Id]; ok {
		ch <- r
	}
}

func (h *Host) fail(err error) {
	h.mu.Lock()
	defer h.mu.Unlock()
	h.failed = fmt.Errorf("sdk: host connection lost: %w", err)
	for id, ch := range h.calls {
		close(ch)
		delete(h.calls, id)
	}
}

// userOf is the header's user as the runtime passes it on.
func userOf(u *pb.User) *User {
	if u == nil {
		return nil
	}
	out := &User{Name: u.Name, Perms: u.Perms}
	if len(u.PathPerms) > 0 {
		out.PathPerms = make(map[string][]string, len(u.PathPerms))
		for k, ps := range u.PathPerms {
			out.PathPerms[k] = ps.GetPerms()
		}
	}
	return out
}
