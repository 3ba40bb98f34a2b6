package client

import (
	"context"
	"errors"
	"fmt"
	"hash"
	"io"
	"net"
	"os"
	"strings"
	"time"

	"github.com/selectftp/selectftp/internal/checksum"
	"github.com/selectftp/selectftp/protocol"
)

// hooks lets the helpers watch a request without a second API.
type hooks struct {
	// meta is called with the Response metadata before any body data; an
	// error fails the request (the rest of the response is discarded).
	meta func(map[string]any) error
	// sent is called with the body bytes sent so far, from the sending
	// goroutine.
	sent func(n int64)
	// size is the body's length when known (declared to the server), else
	// -1; file, when set, is the body itself, read from its offset by
	// sendfile and hashed beside it.
	size int64
	file *os.File
	// expect holds the body back until the server asks for it, so that
	// a refusal costs no bytes (see expectAbove).
	expect bool
	// status, when set, receives the Status that ended the response (left
	// as it was when none arrived).
	status *protocol.Status
}

// expectAbove is the body size from which Put waits for the server's
// Continue before sending: a round trip is nothing beside a megabyte, and a
// refused large upload then costs nothing (curl draws the same line).
const expectAbove = 1 << 20

// fileFrame is the Data frame a file body is cut into: large, so the
// headers cost nothing, small enough that an early answer stops it soon.
const fileFrame = 16 << 20

// Do sends req with body (nil for none) and copies the response body to out
// (nil to discard it), returning the Response metadata (nil when the server
// sent none).
//
// Both bodies are verified: the request body is hashed while it is sent and
// its digest follows it in the End frame, and the response body is hashed
// while it arrives and checked against the digest in the server's Status;
// a mismatch is an error wrapping ErrChecksum (bytes already written to out
// are not taken back). The algorithm is req.Checksum, else WithChecksum's,
// else the server's default.
//
// The body is sent in Data frames while the response is read, because a
// command may answer before it has read the whole body; when it does, the
// rest of the body is not sent. Do returns only after it has stopped
// reading body, except when ctx ends while a Read of body blocks: Do then
// returns at once, the connection is closed, and that Read may still
// return later (do not reuse body).
//
// A Status other than ok yields an error wrapping *protocol.StatusError; a
// failure to read body or to write out is returned as is, and the
// connection stays usable. A transport failure, a protocol violation by the
// server or the cancellation of ctx closes the connection.
func (c *Conn) Do(ctx context.Context, req protocol.Request, body io.Reader, out io.Writer) (map[string]any, error) {
	return c.do(ctx, req, body, out, hooks{size: -1})
}

func (c *Conn) do(ctx context.Context, req protocol.Request, body io.Reader, out io.Writer, h hooks) (meta map[string]any, err error) {
	defer func() {
		// "get a/b.txt: ..." says which transfer failed, in a batch.
		if p, ok := req.Params["path"].(string); ok && err != nil && p != "" {
			err = &pathError{path: p, err: err}
		}
	}()
	select {
	case c.sem <- struct{}{}:
	case <-ctx.Done():
		return nil, context.Cause(ctx)
	}
	defer func() { <-c.sem }()

	if err := c.Err(); err != nil {
		return nil, fmt.Errorf("%s: %w (%v)", req.Verb, ErrClosed, err)
	}
	if err := ctx.Err(); err != nil {
		return nil, context.Cause(ctx)
	}
	alg, err := c.algorithm(req.Checksum)
	if err != nil {
		return nil, fmt.Errorf("%s: %w", req.Verb, err)
	}
	req.Checksum = alg.String()
	if body != nil && h.size >= 0 {
		req.Size = &h.size
	}
	req.Expect = body != nil && h.expect
	if err := c.checkIdle(); err != nil {
		c.fail(err)
		return nil, fmt.Errorf("%s: %w (%v)", req.Verb, ErrClosed, err)
	}
	q, err := protocol.Marshal(protocol.TypeRequest, req)
	if err != nil {
		return nil, err
	}
	if len(q)-protocol.HeaderLen > c.cfg.maxControl {
		// The server would answer too_large and close the connection.
		return nil, fmt.Errorf("%s: request header is %d bytes, over the %d-byte limit", req.Verb, len(q)-protocol.HeaderLen, c.cfg.maxControl)
	}

	stop := context.AfterFunc(ctx, func() { c.fail(context.Cause(ctx)) })
	x := &exchange{alg: alg, answered: make(chan struct{}), continued: make(chan struct{}), expect: req.Expect}
	sendc := make(chan sendResult, 1)
	go func() { sendc <- c.send(q, body, x, h) }()
	res := c.receive(out, h.meta, x)
	if h.status != nil && res.status.Code != "" {
		*h.status = res.status
	}
	if res.netErr != nil {
		// Unblock the sender before waiting for it: the server may have
		// stopped reading.
		c.fail(res.netErr)
	}
	close(x.answered)
	var sr sendResult
	select {
	case sr = <-sendc:
	case <-ctx.Done():
		// The sender may be blocked in the body's Read (a pipe that stays
		// silent): the connection is closed already (see stop), so its
		// next write fails, but Do does not wait for a Read to return.
	}
	if !stop() {
		c.fail(context.Cause(ctx))
		return res.meta, fmt.Errorf("%s: %w", req.Verb, context.Cause(ctx))
	}
	if res.netErr != nil && sr.localErr != nil {
		// A file body failed mid-frame and broke the connection: the
		// body is to blame, not the server.
		return res.meta, fmt.Errorf("%s: read request body: %w", req.Verb, sr.localErr)
	}
	if res.netErr != nil {
		var ne net.Error
		if sr.netErr != nil && errors.As(res.netErr, &ne) && ne.Timeout() {
			return res.meta, fmt.Errorf("%s: send request: %w", req.Verb, sr.netErr)
		}
		return res.meta, fmt.Errorf("%s: %w", req.Verb, res.netErr)
	}
	if sr.netErr != nil {
		// The response is complete, so the request's outcome is known,
		// but the server stopped reading: the connection is done.
		c.fail(sr.netErr)
	}
	switch {
	case sr.localErr != nil:
		return res.meta, fmt.Errorf("%s: read request body: %w", req.Verb, sr.localErr)
	case res.localErr != nil:
		return res.meta, fmt.Errorf("%s: %w", req.Verb, res.localErr)
	case !res.status.OK():
		return res.meta, fmt.Errorf("%s: %w", req.Verb, res.status.Err())
	}
	return res.meta, nil
}

// exchange is what the sending and the receiving half of one request share.
type exchange struct {
	alg       checksum.Algorithm
	expect    bool
	answered  chan struct{} // closed once the Status arrived (or reading failed)
	continued chan struct{} // closed when the server's Continue arrived
}

func closed(ch chan struct{}) bool {
	select {
	case <-ch:
		return true
	default:
		return false
	}
}

type sendResult struct {
	localErr error // reading the body failed; the request was ended early
	netErr   error // writing to the server failed
}

// send writes the request frame, the body as Data frames and End with the
// body's digest. With expect it first waits for the server's Continue, and
// sends nothing more when the Status comes instead (a refusal). It stops
// sending the body once the answer came, since the server then discards
// the rest anyway. A Data frame is only started once its whole payload has
// been read, so a failing body still leaves a well-formed frame stream;
// the End then says the body was given up.
func (c *Conn) send(q []byte, body io.Reader, x *exchange, h hooks) (res sendResult) {
	defer func() {
		if res.netErr != nil {
			// Let the reader drain what the server already sent (its
			// Status explains why it stopped reading), but not forever.
			c.nc.SetReadDeadline(time.Now().Add(2 * time.Second))
		}
	}()
	if _, err := c.bw.Write(q); err != nil {
		return sendResult{netErr: err}
	}
	var trailer protocol.Trailer
	if body != nil {
		if err := c.bw.Flush(); err != nil {
			return sendResult{netErr: err}
		}
		if x.expect {
			select {
			case <-x.continued:
			case <-x.answered:
			}
			if !closed(x.continued) {
				return sendResult{} // refused before the body: send nothing
			}
		}
		if h.file != nil {
			trailer, res = c.sendFile(h.file, h.size, x, h.sent)
		} else {
			trailer, res = c.sendChunks(body, h.size < 0, x, h.sent)
		}
		if res.netErr != nil {
			return res // the frame stream is broken
		}
	}
	end, err := protocol.EndFrame(trailer)
	if err != nil {
		return sendResult{netErr: err}
	}
	if _, err := c.bw.Write(end); err != nil {
		return sendResult{netErr: err}
	}
	if err := c.bw.Flush(); err != nil {
		return sendResult{netErr: err}
	}
	return res
}

// errAnswered is the reason in the End of a body the server answered
// before it ended.
const errAnswered = "the server answered before the body ended"

// sendChunks sends body as Data frames of the chunk size, hashing each
// beside writing it, and returns the trailer that ends it. A stream (a
// body of unknown length: a pipe, stdin) goes as it arrives: each read
// becomes a frame, flushed at once, since waiting to fill a chunk, or
// leaving the frame's tail in the write buffer, would hold bytes back
// for as long as the source pauses.
func (c *Conn) sendChunks(body io.Reader, stream bool, x *exchange, sent func(int64)) (protocol.Trailer, sendResult) {
	if c.wbuf == nil {
		c.wbuf = make([]byte, protocol.HeaderLen+c.cfg.chunk)
	}
	hash := checksum.NewPipe(x.alg.New())
	defer hash.Close()
	var total int64
	for {
		if closed(x.answered) {
			return protocol.Trailer{Abort: errAnswered}, sendResult{}
		}
		var n int
		var err error
		if stream {
			n, err = readSome(body, c.wbuf[protocol.HeaderLen:])
		} else {
			n, err = readFull(body, c.wbuf[protocol.HeaderLen:])
		}
		if n > 0 {
			// Header and payload in one write: one system call per
			// frame when it is flushed.
			frame := c.wbuf[:protocol.HeaderLen+n]
			protocol.AppendHeader(frame[:0], protocol.TypeData, uint32(n))
			write := func([]byte) error { _, err := c.bw.Write(frame); return err }
			if err := hash.Tee(frame[protocol.HeaderLen:], write); err != nil {
				return protocol.Trailer{}, sendResult{netErr: err}
			}
			if stream {
				if err := c.bw.Flush(); err != nil {
					return protocol.Trailer{}, sendResult{netErr: err}
				}
			}
			total += int64(n)
			if sent != nil {
				sent(total)
			}
		}
		switch {
		case errors.Is(err, io.EOF): // only the body's own end: see readFull
			return protocol.Trailer{Digest: x.alg.Encode(hash.Sum())}, sendResult{}
		case err != nil:
			return protocol.Trailer{Abort: "reading the upload failed: " + err.Error()}, sendResult{localErr: err}
		}
	}
}

// readFull fills p from r, as io.ReadFull does, but returns io.EOF when r
// ends early: io.ReadFull's io.ErrUnexpectedEOF could not be told from the
// same error returned by r itself (a truncated gzip stream), which must
// abort the body, not end it with a digest the server would accept.
func readFull(r io.Reader, p []byte) (n int, err error) {
	for n < len(p) && err == nil {
		var k int
		k, err = r.Read(p[n:])
		n += k
	}
	return n, err
}

// readSome reads at least one byte into p, or fails: a reader may return
// nothing without an error now and then.
func readSome(r io.Reader, p []byte) (int, error) {
	for range 100 {
		if n, err := r.Read(p); n > 0 || err != nil {
			return n, err
		}
	}
	return 0, io.ErrNoProgress
}

// sendFile sends size bytes of f from its offset as Data frames copied
// straight into the connection (sendfile for a *net.TCPConn), while another
// goroutine hashes the same range from the page cache. It can stop only
// between frames, and a file shorter than size leaves a frame unfinished:
// the connection is then broken. When it stops early the hashing stops
// too, rather than reading the rest of the file first.
func (c *Conn) sendFile(f *os.File, size int64, x *exchange, sent func(int64)) (protocol.Trailer, sendResult) {
	if err := c.bw.Flush(); err != nil {
		return protocol.Trailer{}, sendResult{netErr: err}
	}
	off, err := f.Seek(0, io.SeekCurrent)
	if err != nil {
		return protocol.Trailer{Abort: err.Error()}, sendResult{localErr: err}
	}
	h := x.alg.New()
	hashed, stop := make(chan error, 1), make(chan struct{})
	go func() { hashed <- hashRange(h, f, off, size, stop) }()
	stopHash := func() { close(stop); <-hashed }
	var total int64
	frame := int64(min(c.cfg.fileFrame, protocol.MaxData))
	for total < size {
		if closed(x.answered) {
			stopHash()
			return protocol.Trailer{Abort: errAnswered}, sendResult{}
		}
		n := min(size-total, frame)
		c.bw.Write(protocol.AppendHeader(nil, protocol.TypeData, uint32(n)))
		if err := c.bw.Flush(); err != nil {
			stopHash()
			return protocol.Trailer{}, sendResult{netErr: err}
		}
		k, err := io.CopyN(c.nc, f, n)
		total += k
		if sent != nil && k > 0 {
			sent(total)
		}
		if errors.Is(err, io.EOF) {
			// Mid-frame: nothing can follow that the server would
			// understand, so the connection ends here.
			stopHash()
			err = fmt.Errorf("local data ended %d bytes short of the declared size", size-total)
			c.fail(err)
			return protocol.Trailer{}, sendResult{localErr: err, netErr: err}
		}
		if err != nil {
			// Writing the socket or reading the file failed (sendfile
			// reports both as one error); either way the frame is cut.
			stopHash()
			return protocol.Trailer{}, sendResult{netErr: err}
		}
	}
	if err := <-hashed; err != nil {
		return protocol.Trailer{Abort: "reading the upload failed: " + err.Error()}, sendResult{localErr: err}
	}
	return protocol.Trailer{Digest: x.alg.Encode(h.Sum(nil))}, sendResult{}
}

// hashPiece is what hashRange hashes between looks at its stop channel:
// a few milliseconds of work.
const hashPiece = 16 << 20

// hashRange is checksum.HashRange in pieces, giving up once stop closes.
func hashRange(h hash.Hash, f *os.File, off, n int64, stop chan struct{}) error {
	for n > 0 {
		if closed(stop) {
			return errors.New("stopped")
		}
		k := min(n, hashPiece)
		if err := checksum.HashRange(h, f, off, k); err != nil {
			return err
		}
		off, n = off+k, n-k
	}
	return nil
}

type receiveResult struct {
	meta     map[string]any
	status   protocol.Status
	localErr error // writing out or the meta hook failed; the body was discarded
	netErr   error // the response did not arrive whole; the connection is done
}

// receive reads one response: Continue when the sender waits for it, an
// optional Response, Data frames hashed as they arrive, and the Status,
// whose digest it checks.
func (c *Conn) receive(out io.Writer, onMeta func(map[string]any) error, x *exchange) (res receiveResult) {
	ew := &errWriter{w: out}
	if out == nil {
		ew.w = io.Discard
	}
	hash := checksum.NewPipe(x.alg.New())
	defer hash.Close()
	gotData := false
	for {
		f, err := c.r.Next()
		if err != nil {
			res.netErr = readErr(err)
			return res
		}
		switch f.Type {
		case protocol.TypeContinue:
			if !x.expect || closed(x.continued) {
				res.netErr = errors.New("protocol error: a continue frame nobody asked for")
				return res
			}
			close(x.continued)
		case protocol.TypeResponse:
			if res.meta != nil || gotData {
				res.netErr = fmt.Errorf("protocol error: a response frame after %s", map[bool]string{true: "data", false: "another response"}[gotData])
				return res
			}
			var r protocol.Response
			if err := protocol.Unmarshal(f.Type, f.Payload, &r); err != nil {
				res.netErr = fmt.Errorf("protocol error: %w", err)
				return res
			}
			res.meta = r.Meta
			if res.meta == nil {
				res.meta = map[string]any{}
			}
			if onMeta != nil && res.localErr == nil {
				res.localErr = onMeta(res.meta)
			}
		case protocol.TypeData:
			gotData = true
			if res.localErr != nil {
				continue // Next skips the payload
			}
			if err := c.copyData(ew, hash); err != nil {
				if ew.err != nil {
					res.localErr = ew.err
					continue // Next skips the rest of the payload
				}
				res.netErr = readErr(err)
				return res
			}
		case protocol.TypeStatus:
			if err := protocol.Unmarshal(f.Type, f.Payload, &res.status); err != nil || res.status.Code == "" {
				res.netErr = fmt.Errorf("protocol error: invalid status frame")
				return res
			}
			if res.status.OK() && res.localErr == nil {
				res.localErr = verifyResponse(res.status, x.alg, hash)
			}
			return res
		default:
			res.netErr = fmt.Errorf("protocol error: unexpected %v frame from the server", f.Type)
			return res
		}
	}
}

// verifyResponse checks an ok Status's size and digest against the body
// received.
func verifyResponse(st protocol.Status, alg checksum.Algorithm, hash *checksum.Pipe) error {
	if st.Size == nil || st.Digest == "" {
		return fmt.Errorf("the server sent no size and digest of its answer: %w", ErrChecksum)
	}
	if *st.Size != hash.Len() {
		return fmt.Errorf("received %d bytes, the server sent %d: %w", hash.Len(), *st.Size, ErrChecksum)
	}
	if got := alg.Encode(hash.Sum()); got != st.Digest {
		return fmt.Errorf("the %d bytes received have %s digest %s, the server sent %s: %w",
			hash.Len(), alg, got, st.Digest, ErrChecksum)
	}
	return nil
}

// copyData copies the current Data frame's payload to w, hashing it beside
// the writes. It does not use protocol.Reader.WriteTo, whose count of the
// payload left goes wrong when w fails after a read, so the next frame could
// not be found.
func (c *Conn) copyData(w io.Writer, hash *checksum.Pipe) error {
	if c.rbuf == nil {
		c.rbuf = make([]byte, max(c.cfg.readSize, 1))
	}
	write := func(b []byte) error { _, err := w.Write(b); return err }
	for {
		n, err := c.r.Read(c.rbuf)
		if n > 0 {
			if werr := hash.Tee(c.rbuf[:n], write); werr != nil {
				return werr
			}
		}
		if errors.Is(err, io.EOF) {
			return nil
		}
		if err != nil {
			return err
		}
	}
}

// readErr turns a read failure into words a user understands.
func readErr(err error) error {
	var fe *protocol.FrameError
	var ne net.Error
	switch {
	case errors.Is(err, io.EOF), errors.Is(err, io.ErrUnexpectedEOF):
		return fmt.Errorf("server closed the connection before the response ended: %w", io.ErrUnexpectedEOF)
	case errors.As(err, &fe):
		return fmt.Errorf("protocol error: %w", err)
	case errors.As(err, &ne) && ne.Timeout():
		return fmt.Errorf("server stopped reading and did not answer: %w", err)
	}
	return fmt.Errorf("read response: %w", err)
}

// errWriter remembers its own failure, so a failed copy can be blamed on the
// local writer or on the connection.
type errWriter struct {
	w   io.Writer
	err error
}

func (e *errWriter) Write(p []byte) (int, error) {
	n, err := e.w.Write(p)
	if err != nil && e.err == nil {
		e.err = err
	}
	return n, err
}

// pathError names the remote path a request was about in its message,
// keeping the error it wraps for errors.Is and errors.As.
type pathError struct {
	path string
	err  error
}

func (e *pathError) Error() string {
	msg := e.err.Error()
	verb, rest, ok := strings.Cut(msg, ": ")
	if !ok || strings.Contains(verb, " ") {
		return msg
	}
	return verb + " " + e.path + ": " + rest
}

func (e *pathError) Unwrap() error { return e.err }
