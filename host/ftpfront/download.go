package ftpfront

import (
	"context"
	"errors"
	"io"
	"net"
	"os"
	"sync"
)

// download is RETR's handle. get runs from GetHandle on, so that a refusal
// (not found, permission) is the RETR's 550 before any data connection; its
// first byte waits until the library copies the handle to the data
// connection: io.Copy finds WriteTo, which hands get the connection itself,
// and the descriptor get passes to Out.SendFile goes to sendfile(2) on that
// socket (a plain copy under PROT P, where the bytes must be encrypted).
type download struct {
	d      *clientDriver
	offset int64
	ctx    context.Context
	cancel context.CancelFunc
	sinkCh chan io.Writer // the destination, once
	first  chan struct{}  // closed when get first writes (or ends)
	firstO sync.Once
	done   chan struct{} // closed when get returned; res and err then hold
	res    result
	err    error
	moved  int64          // bytes written to the sink (get's goroutine only)
	pr     *io.PipeReader // Read's pipe, if the library reads
}

func (d *clientDriver) startDownload(name string, offset int64) (*download, error) {
	dl := &download{d: d, offset: offset, sinkCh: make(chan io.Writer, 1), first: make(chan struct{}), done: make(chan struct{})}
	dl.ctx, dl.cancel = context.WithCancel(d.ctx)
	params := map[string]any{"path": name}
	if offset > 0 {
		params["offset"] = offset
	}
	d.wg.Add(1)
	d.transfers.Add(1)
	go func() {
		defer d.wg.Done()
		defer d.transfers.Add(-1)
		dl.res, dl.err = d.do(dl.ctx, call{Verb: "get", Params: params, Size: -1, Out: dl})
		close(dl.done)
	}()
	select {
	case <-dl.first:
		return dl, nil
	case <-dl.done:
		if dl.err != nil {
			return nil, dl.err
		}
		return dl, nil // an empty file: nothing to wait for
	}
}

// sink waits for the data connection.
func (dl *download) sink() (io.Writer, error) {
	dl.firstO.Do(func() { close(dl.first) })
	select {
	case w := <-dl.sinkCh:
		dl.sinkCh <- w // keep it for the next write
		return w, nil
	case <-dl.ctx.Done():
		return nil, dl.ctx.Err()
	}
}

// Write is get's output when it streams (Output).
func (dl *download) Write(p []byte) (int, error) {
	w, err := dl.sink()
	if err != nil {
		return 0, err
	}
	n, err := w.Write(p)
	dl.moved += int64(n)
	return n, err
}

// SendFile is get's file (Output): zero copy to a plain TCP connection
// whose client is on another machine; a copy to a loopback client (see
// zeroCopy) and under PROT P.
func (dl *download) SendFile(f *os.File, off, n int64) (int64, error) {
	w, err := dl.sink()
	if err != nil {
		return 0, err
	}
	var m int64
	if tc, ok := w.(*net.TCPConn); ok && zeroCopy(tc) {
		m, err = sendfile(tc, f, off, n)
	} else {
		m, err = copyRange(w, f, off, n)
	}
	dl.moved += m
	return m, err
}

// WriteTo is the library's io.Copy(dataConn, handle).
func (dl *download) WriteTo(w io.Writer) (int64, error) {
	dl.sinkCh <- w
	<-dl.done
	if dl.err != nil {
		return dl.moved, dl.err
	}
	return dl.moved, nil
}

// Read serves a library path that does not use WriteTo (none in binary
// mode): get writes into a pipe read here.
func (dl *download) Read(p []byte) (int, error) {
	if dl.pr == nil {
		pr, pw := io.Pipe()
		dl.pr = pr
		dl.sinkCh <- pw
		go func() { <-dl.done; pw.CloseWithError(dl.err) }()
	}
	return dl.pr.Read(p)
}

// Seek accepts the library's seek to the REST offset GetHandle was given.
func (dl *download) Seek(off int64, whence int) (int64, error) {
	if whence == io.SeekStart && off == dl.offset {
		return off, nil
	}
	return 0, errors.New("seek: a download starts at its REST offset only")
}

// TransferError: the data connection failed or the client aborted.
func (dl *download) TransferError(error) { dl.cancel() }

// Close ends get (cancelled if still running) and waits for it.
func (dl *download) Close() error {
	dl.cancel()
	if dl.pr != nil {
		dl.pr.CloseWithError(errors.New("download closed"))
	}
	<-dl.done
	return nil
}
