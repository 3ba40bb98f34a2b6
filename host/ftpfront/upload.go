package ftpfront

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"sync"
	"time"

	"golang.org/x/sys/unix"
)

// errClientGone aborts an upload whose client left with it: its data ended
// as a finished upload's does, but its control connection ended too.
var errClientGone = errors.New("the client left during the upload: nothing kept")

// upload is STOR's handle. put runs from GetHandle on (a refusal is the
// STOR's 550/552 before any data connection) and reads its body straight
// from the data connection: io.Copy(handle, conn) finds ReadFrom, which
// hands put the connection. The body's end is put's commit, so it is
// given only when the data ended cleanly and the client is still there;
// an error (ABOR, a reset, the library's TransferError) or a client gone
// ends the body with an error, and put keeps nothing.
type upload struct {
	d       *clientDriver
	offset  int64 // REST's: where the library seeks the handle
	ctx     context.Context
	cancel  context.CancelFunc
	srcCh   chan io.Reader
	started chan struct{} // closed when put first reads its body
	startO  sync.Once
	bodyEnd chan struct{} // closed when the body returned its end or an error
	endO    sync.Once
	done    chan struct{} // put returned; res, err hold
	res     result
	err     error

	mu     sync.Mutex
	n      int64
	srcErr error          // why the body failed, if it did
	eof    bool           // the body returned its clean end (put's goroutine only)
	pw     *io.PipeWriter // Write's pipe, if the library writes
}

// keepAll is startUpload's keep for APPE: all of the current file.
const keepAll = -1

// startUpload runs put for STOR (keep 0), REST keep + STOR (the current
// file's first keep bytes, then the data) or APPE (keepAll).
func (d *clientDriver) startUpload(name string, keep int64) (*upload, error) {
	up := &upload{d: d, srcCh: make(chan io.Reader, 1), started: make(chan struct{}),
		bodyEnd: make(chan struct{}), done: make(chan struct{}), offset: max(keep, 0)}
	up.ctx, up.cancel = context.WithCancel(d.ctx)
	size := int64(-1)
	if d.alloSize > 0 && keep == 0 { // ALLO sizes the whole file, not an append's data
		size = d.alloSize
	}
	d.alloSize = 0
	params := map[string]any{"path": name}
	if keep != 0 {
		params["append"] = true
	}
	if keep > 0 {
		params["offset"] = keep
	}
	d.wg.Add(1)
	d.transfers.Add(1)
	go func() {
		defer d.wg.Done()
		defer d.transfers.Add(-1)
		up.res, up.err = d.do(up.ctx, call{Verb: "put", Params: params, Body: (*uploadBody)(up), Size: size})
		close(up.done)
	}()
	select {
	case <-up.started:
		return up, nil
	case <-up.done:
		if up.err != nil {
			return nil, up.err
		}
		return nil, errors.New("put ended before reading the upload")
	}
}

// uploadBody is the body put reads.
type uploadBody upload

func (b *uploadBody) Read(p []byte) (int, error) {
	up := (*upload)(b)
	up.startO.Do(func() { close(up.started) })
	if b.eof {
		return 0, io.EOF
	}
	var src io.Reader
	select {
	case src = <-up.srcCh:
		up.srcCh <- src
	case <-up.ctx.Done():
		return 0, up.fail(up.ctx.Err())
	}
	n, err := src.Read(p)
	up.mu.Lock()
	up.n += int64(n)
	up.mu.Unlock()
	switch {
	case err == io.EOF:
		if gone := up.clientGone(); gone != nil {
			return n, up.fail(gone)
		}
		b.eof = true
		up.endO.Do(func() { close(up.bodyEnd) })
		return n, io.EOF
	case err != nil:
		return n, up.fail(err)
	}
	return n, nil
}

// fail ends the body with err, which aborts put.
func (up *upload) fail(err error) error {
	up.mu.Lock()
	if up.srcErr == nil {
		up.srcErr = err
	}
	up.mu.Unlock()
	up.endO.Do(func() { close(up.bodyEnd) })
	return err
}

// clientGone tells whether the control connection ended with the data: a
// killed client's sockets close together, the control one first on
// loopback, so a look at it now, and again after UploadSettle, tells a
// finished upload from an interrupted one.
func (up *upload) clientGone() error {
	st := up.d.st
	check := func() bool {
		select {
		case <-st.gone:
			return true
		default:
		}
		return st.ctl != nil && peerClosed(st.ctl)
	}
	if check() {
		return errClientGone
	}
	if s := up.d.f.cfg.UploadSettle; s > 0 {
		t := time.NewTimer(s)
		defer t.Stop()
		select {
		case <-st.gone:
			return errClientGone
		case <-t.C:
		case <-up.ctx.Done():
			return up.ctx.Err()
		}
		if check() {
			return errClientGone
		}
	}
	return nil
}

// peerClosed peeks at a socket without taking its bytes: 0 bytes readable
// means the peer closed it (or reset it).
func peerClosed(c *net.TCPConn) bool {
	rc, err := c.SyscallConn()
	if err != nil {
		return false
	}
	closed := false
	_ = rc.Control(func(fd uintptr) {
		var b [1]byte
		n, _, err := unix.Recvfrom(int(fd), b[:], unix.MSG_PEEK|unix.MSG_DONTWAIT)
		closed = (n == 0 && err == nil) || errors.Is(err, unix.ECONNRESET)
	})
	return closed
}

// ReadFrom is the library's io.Copy(handle, dataConn): put reads src
// itself; this returns when the body ended or put did.
func (up *upload) ReadFrom(src io.Reader) (int64, error) {
	up.srcCh <- src
	select {
	case <-up.bodyEnd:
	case <-up.done:
	}
	return up.result()
}

// result is the upload's outcome for the library once the body ended.
func (up *upload) result() (int64, error) {
	up.mu.Lock()
	n, srcErr := up.n, up.srcErr
	up.mu.Unlock()
	if srcErr != nil {
		return n, srcErr
	}
	select {
	case <-up.done:
		if up.err != nil { // put failed before the end: say why (552 for a quota)
			return n, up.err
		}
	default: // the body ended cleanly: put commits, Close waits for it
	}
	return n, nil
}

// Write serves a library path that does not use ReadFrom.
func (up *upload) Write(p []byte) (int, error) {
	if up.pw == nil {
		pr, pw := io.Pipe()
		up.pw = pw
		up.srcCh <- pr
	}
	n, err := up.pw.Write(p)
	if err != nil {
		select {
		case <-up.done:
			if up.err != nil {
				return n, up.err
			}
		default:
		}
	}
	return n, err
}

func (up *upload) Read([]byte) (int, error) { return 0, errors.New("an upload is not read") }

// Seek accepts the library's seek to the REST offset: put already keeps
// the bytes before it.
func (up *upload) Seek(off int64, whence int) (int64, error) {
	if off == up.offset && whence == io.SeekStart {
		return off, nil
	}
	return 0, errors.New("seek: an upload starts at its REST offset only")
}

// TransferError: the library saw the data connection fail or the client
// abort; put must keep nothing.
func (up *upload) TransferError(err error) {
	up.fail(fmt.Errorf("upload interrupted: %w", err))
	if up.pw != nil {
		up.pw.CloseWithError(err)
	}
	up.cancel()
}

// Close ends the body (a clean end when the library wrote through Write)
// and waits for put's verdict: the STOR's 226, or its error.
func (up *upload) Close() error {
	if up.pw != nil {
		up.mu.Lock()
		failed := up.srcErr
		up.mu.Unlock()
		if failed == nil {
			up.pw.Close()
		}
	}
	select {
	case <-up.bodyEnd:
	case <-up.done:
	case <-up.ctx.Done():
	}
	up.mu.Lock()
	failed := up.srcErr != nil
	up.mu.Unlock()
	if failed {
		up.cancel()
	}
	<-up.done
	if failed && up.err == nil {
		return errors.New("upload interrupted, yet put kept it") // must not happen: the body failed
	}
	return up.err
}
