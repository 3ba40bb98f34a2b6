package host

import (
	"context"
	"io"
	"os"
	"sync"
	"sync/atomic"
	"time"

	"github.com/selectftp/selectftp/sdk"
)

// deadlineReader is a body source whose blocked Read a cancelled call can
// interrupt: a net.Conn, or a front's upload body over one.
type deadlineReader interface {
	io.Reader
	SetReadDeadline(time.Time) error
}

// directBody is a Local call's body when its source can be interrupted
// and no upload rate paces it: a command that writes the body into a file
// (WriteBodyTo, put's path) reads the source itself, hashes and writes in
// one goroutine, with no body buffer between.
//
// Why: through the buffer a 1 GiB FTP STOR moved each chunk from the
// pumping goroutine to the writing one and to the hashing one; on the
// bench's 2-core VM those hand-offs (futex wake-ups, context switches,
// the runtime taking the P back from a long pwrite) cost selectftpd 1.3 to
// 2.6 s of CPU per GiB against pure-ftpd's 0.65 s for the same two copies
// (socket to memory, memory to file), and the put row sat at 0.5x.
//
// Everything else is requestBody's: quota and largest file per chunk
// (limit), the digest, progress, the end checks. A command that reads the
// body any other way first gets the buffer as before.
type directBody struct {
	*requestBody
	ctx      context.Context
	src      deadlineReader
	declared int64 // -1: none
	received *atomic.Int64
}

// directBody returns the body a Local call's command gets: body, or a
// directBody over c.Body when that can be used.
func (l *Local) directBody(ctx context.Context, c Call, body *requestBody, received *atomic.Int64) io.Reader {
	src, ok := c.Body.(deadlineReader)
	if !ok || (l.user != nil && l.user.limits != nil && l.user.limits.up != nil) {
		return body
	}
	declared := int64(-1)
	if c.Size >= 0 {
		declared = c.Size
	}
	return &directBody{requestBody: body, ctx: ctx, src: src, declared: declared, received: received}
}

var directBufs = sync.Pool{New: func() any { b := make([]byte, 1<<20); return &b }}

// WriteBodyTo is requestBody's (see pluginrpc.BodyFileWriter), reading
// the source directly when the body was not started another way.
func (d *directBody) WriteBodyTo(f *os.File, off, limit int64) (int64, []byte, bool, error) {
	b := d.requestBody
	claimed := false
	// Taking the body's start without its ask: the buffer's pump is
	// never started, so only this goroutine reads the source.
	b.asked.Do(func() { b.h = b.alg.New(); claimed = true })
	if !claimed {
		return b.WriteBodyTo(f, off, limit)
	}
	if err := b.lim.startFile(off); err != nil {
		return 0, nil, false, err
	}
	done := make(chan struct{})
	defer close(done)
	stop := context.AfterFunc(d.ctx, func() { d.interrupt(done) })
	defer stop()
	n, over, err := d.copy(f, off, limit)
	if err != nil {
		b.ended, b.endErr = true, err
		return n, nil, false, err
	}
	return n, b.h.Sum(nil), over, nil
}

// interrupt ends a Read blocked on the source once the call is cancelled.
// A source that cannot take a deadline yet (a front whose data connection
// is not open) is asked again until the copy returns.
func (d *directBody) interrupt(done <-chan struct{}) {
	t := time.NewTicker(50 * time.Millisecond)
	defer t.Stop()
	for {
		if d.src.SetReadDeadline(time.Unix(1, 0)) == nil {
			return
		}
		select {
		case <-done:
			return
		case <-t.C:
		}
	}
}

// copy moves the body into f at off, at most limit bytes (limit < 0:
// all), and reports whether a byte followed the limit.
func (d *directBody) copy(f *os.File, off, limit int64) (int64, bool, error) {
	b := d.requestBody
	bp := directBufs.Get().(*[]byte)
	defer directBufs.Put(bp)
	buf := *bp
	var n int64
	for {
		if d.ctx.Err() != nil {
			return n, false, &sdk.Error{Code: sdk.CodeCanceled, Message: "the request was cancelled"}
		}
		want := int64(len(buf))
		if limit >= 0 {
			want = max(min(want, limit-n), 1) // at the limit: one byte tells whether more follows
		}
		k, rerr := d.src.Read(buf[:want])
		if limit >= 0 && n == limit && k > 0 {
			return n, true, nil
		}
		if d.declared >= 0 && b.n+int64(k) > d.declared {
			return n, false, sdk.Errorf(sdk.CodeChecksum, "the body is longer than the %d bytes its request declared", d.declared)
		}
		if k > 0 {
			if err := b.limit(k); err != nil {
				return n, false, err
			}
			b.h.Write(buf[:k])
			if _, err := f.WriteAt(buf[:k], off+n); err != nil {
				return n, false, err
			}
			n += int64(k)
			b.n += int64(k)
			d.received.Store(b.n)
			b.progress()
		}
		switch {
		case rerr == io.EOF && d.declared >= 0 && b.n < d.declared:
			return n, false, sdk.Errorf(sdk.CodeChecksum, "the body ended after %d bytes, short of the %d its request declared", b.n, d.declared)
		case rerr == io.EOF:
			if err := b.atEnd(); err != io.EOF {
				return n, false, err
			}
			return n, false, nil
		case rerr != nil && d.ctx.Err() != nil:
			return n, false, &sdk.Error{Code: sdk.CodeCanceled, Message: "the request was cancelled"}
		case rerr != nil:
			return n, false, &sdk.Error{Code: sdk.CodeCanceled, Message: "the upload was aborted: " + rerr.Error()}
		}
	}
}
