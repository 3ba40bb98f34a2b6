package client

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"time"

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
	// size is the body's declared size, for WithOneFrameBodies; 0 with
	// oneFrame false means unknown.
	size     int64
	oneFrame bool
}

// Do sends req with body (nil for none) and copies the response body to out
// (nil to discard it), returning the Response metadata (nil when the server
// sent none).
//
// The body is sent in Data frames while the response is read, because a
// command may answer before it has read the whole body; when it does, the
// rest of the body is not sent. Do returns only after it has stopped
// reading body.
//
// A Status other than ok yields an error wrapping *protocol.StatusError; a
// failure to read body or to write out is returned as is, and the
// connection stays usable. A transport failure, a protocol violation by the
// server or the cancellation of ctx closes the connection.
func (c *Conn) Do(ctx context.Context, req protocol.Request, body io.Reader, out io.Writer) (map[string]any, error) {
	return c.do(ctx, req, body, out, hooks{})
}

func (c *Conn) do(ctx context.Context, req protocol.Request, body io.Reader, out io.Writer, h hooks) (map[string]any, error) {
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
	answered := make(chan struct{})
	sendc := make(chan sendResult, 1)
	go func() {
		if h.oneFrame {
			sendc <- c.sendWhole(q, body, h.size, answered, h.sent)
			return
		}
		sendc <- c.send(q, body, answered, h.sent)
	}()
	res := c.receive(out, h.meta)
	if res.netErr != nil {
		// Unblock the sender before waiting for it: the server may have
		// stopped reading.
		c.fail(res.netErr)
	}
	close(answered)
	sr := <-sendc
	if !stop() {
		c.fail(context.Cause(ctx))
		return res.meta, fmt.Errorf("%s: %w", req.Verb, context.Cause(ctx))
	}
	if res.netErr != nil && sr.localErr != nil {
		// A one-frame body failed mid-frame and broke the connection:
		// the body is to blame, not the server.
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

type sendResult struct {
	localErr error // reading the body failed; the request was ended early
	netErr   error // writing to the server failed
}

// send writes the request frame, the body as Data frames and End. It stops
// sending the body once answered is closed, since the server then discards
// the rest anyway. A Data frame is only started once its whole payload has
// been read, so a failing body still leaves a well-formed frame stream.
func (c *Conn) send(q []byte, body io.Reader, answered <-chan struct{}, sent func(int64)) (res sendResult) {
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
	if body != nil {
		if err := c.bw.Flush(); err != nil {
			return sendResult{netErr: err}
		}
		if c.wbuf == nil {
			c.wbuf = make([]byte, protocol.HeaderLen+c.cfg.chunk)
		}
		var total int64
	loop:
		for {
			select {
			case <-answered:
				break loop
			default:
			}
			n, err := io.ReadFull(body, c.wbuf[protocol.HeaderLen:])
			if n > 0 {
				protocol.AppendHeader(c.wbuf[:0], protocol.TypeData, uint32(n))
				if _, err := c.bw.Write(c.wbuf[:protocol.HeaderLen+n]); err != nil {
					return sendResult{netErr: err}
				}
				total += int64(n)
				if sent != nil {
					sent(total)
				}
			}
			switch {
			case errors.Is(err, io.EOF) || errors.Is(err, io.ErrUnexpectedEOF):
				break loop
			case err != nil:
				res.localErr = err
				break loop
			}
		}
	}
	if _, err := c.bw.Write(protocol.AppendHeader(nil, protocol.TypeEnd, 0)); err != nil {
		return sendResult{netErr: err}
	}
	if err := c.bw.Flush(); err != nil {
		return sendResult{netErr: err}
	}
	return res
}

// sendWhole writes the request frame, the body as Data frames of up to
// protocol.MaxData bytes copied straight into the connection (sendfile for
// a file), and End. It can stop only between frames, and a body shorter
// than size leaves a frame unfinished: the connection is then broken.
func (c *Conn) sendWhole(q []byte, body io.Reader, size int64, answered <-chan struct{}, sent func(int64)) (res sendResult) {
	defer func() {
		if res.netErr != nil {
			c.nc.SetReadDeadline(time.Now().Add(2 * time.Second))
		}
	}()
	if _, err := c.bw.Write(q); err != nil {
		return sendResult{netErr: err}
	}
	var total int64
	for total < size {
		select {
		case <-answered:
			size = total // the server stopped reading: end here
			continue
		default:
		}
		n := min(size-total, int64(protocol.MaxData))
		c.bw.Write(protocol.AppendHeader(nil, protocol.TypeData, uint32(n)))
		if err := c.bw.Flush(); err != nil {
			return sendResult{netErr: err}
		}
		// A *net.TCPConn turns this into sendfile when body is an
		// *os.File (io.CopyN hands it an io.LimitedReader of the file).
		k, err := io.CopyN(c.nc, body, n)
		total += k
		if sent != nil && k > 0 {
			sent(total)
		}
		if errors.Is(err, io.EOF) {
			// Mid-frame: nothing can follow that the server would
			// understand, so the connection ends here.
			err = fmt.Errorf("local data ended %d bytes short of the declared size", size-total)
			c.fail(err)
			return sendResult{localErr: err}
		}
		if err != nil {
			// Writing the socket or reading the file failed (sendfile
			// reports both as one error); either way the frame is cut.
			return sendResult{netErr: err}
		}
	}
	if _, err := c.bw.Write(protocol.AppendHeader(nil, protocol.TypeEnd, 0)); err != nil {
		return sendResult{netErr: err}
	}
	if err := c.bw.Flush(); err != nil {
		return sendResult{netErr: err}
	}
	return res
}

type receiveResult struct {
	meta     map[string]any
	status   protocol.Status
	localErr error // writing out or the meta hook failed; the body was discarded
	netErr   error // the response did not arrive whole; the connection is done
}

// receive reads one response: an optional Response, Data frames, Status.
func (c *Conn) receive(out io.Writer, onMeta func(map[string]any) error) (res receiveResult) {
	ew := &errWriter{w: out}
	if out == nil {
		ew.w = io.Discard
	}
	gotData := false
	for {
		f, err := c.r.Next()
		if err != nil {
			res.netErr = readErr(err)
			return res
		}
		switch f.Type {
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
			if err := c.copyData(ew); err != nil {
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
			return res
		default:
			res.netErr = fmt.Errorf("protocol error: unexpected %v frame from the server", f.Type)
			return res
		}
	}
}

// copyData copies the current Data frame's payload to w. It does not use
// protocol.Reader.WriteTo, whose count of the payload left goes wrong when w
// fails after a read, so the next frame could not be found.
func (c *Conn) copyData(w io.Writer) error {
	if c.rbuf == nil {
		c.rbuf = make([]byte, max(c.cfg.readSize, 1))
	}
	for {
		n, err := c.r.Read(c.rbuf)
		if n > 0 {
			if _, werr := w.Write(c.rbuf[:n]); werr != nil {
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
