package host

import (
	"errors"
	"io"
	"sync"

	"github.com/selectftp/selectftp/protocol"
)

// errBodyFinished is what a reader of the body gets once its request has
// finished and the buffer was let go.
var errBodyFinished = errors.New("host: request finished")

// bodyBuf is the bounded buffer between the event loop (the writer) and the
// command (the reader) for one request body. The loop never blocks on it:
// it asks room() and writes no more; when room is zero the buffer remembers
// that the loop waits and calls onRoom once the reader has freed half. That
// is what stops a stalled upload being read off its socket: memory per
// upload is bounded by size.
type bodyBuf struct {
	mu       sync.Mutex
	cond     sync.Cond
	ring     []byte // allocated on first write
	size     int
	r, n     int  // read position and bytes held
	eof      bool // the client sent End
	trailer  protocol.Trailer
	err      error // the body failed (the connection went away)
	done     bool  // the request finished: later bytes are discarded
	wantRoom bool  // the loop paused and waits for room
	filling  bool  // the loop reads into the space free gave: the write position must hold
	onRoom   func()
	onFinish func()      // called once by finish, if set
	deepen   func() bool // may the buffer be bigBodyBuffer deep? asked once, on the loop, before the ring is made

	// The loop's own, without the lock: the size the request declared
	// (-1: none) and the bytes received, which must match it.
	declared, received int64
}

func newBodyBuf(size int, onRoom func()) *bodyBuf {
	b := &bodyBuf{size: size, onRoom: onRoom}
	b.cond.L = &b.mu
	return b
}

// room returns how many bytes write takes now. When it is zero it records
// that the loop waits, so the reader calls onRoom once space frees up.
func (b *bodyBuf) room() int {
	b.mu.Lock()
	defer b.mu.Unlock()
	if b.done || b.err != nil {
		return int(^uint(0) >> 1) // discard mode takes everything
	}
	free := b.size - b.n
	if free == 0 {
		b.wantRoom = true
	}
	return free
}

// write stores p, which must fit in room(); the loop calls it.
func (b *bodyBuf) write(p []byte) {
	b.mu.Lock()
	defer b.mu.Unlock()
	if b.done || b.err != nil || len(p) == 0 {
		return
	}
	b.alloc()
	for len(p) > 0 && b.n < b.size { // the caller asked room(); never spin
		w := (b.r + b.n) % b.size
		c := copy(b.ring[w:min(b.size, w+b.size-b.n)], p)
		b.n += c
		p = p[c:]
	}
	b.cond.Broadcast()
}

// alloc makes the ring, deep if deepen allows; b.mu is held, on the loop.
func (b *bodyBuf) alloc() {
	if b.ring != nil {
		return
	}
	if b.deepen != nil && b.deepen() {
		b.size = bigBodyBuffer
	}
	b.ring = make([]byte, b.size)
}

// free returns the contiguous free space where the next bytes go, at most
// max, for the loop to read into directly (see commit); nil when there is
// none or the buffer discards. The reader never touches that space.
func (b *bodyBuf) free(max int) []byte {
	b.mu.Lock()
	defer b.mu.Unlock()
	if b.done || b.err != nil || b.n == b.size {
		return nil
	}
	b.alloc()
	w := (b.r + b.n) % b.size
	b.filling = true
	return b.ring[w : w+min(b.size-w, b.size-b.n, max)]
}

// commit makes n bytes the loop read into free's space readable (n = 0:
// the read brought nothing).
func (b *bodyBuf) commit(n int) {
	b.mu.Lock()
	defer b.mu.Unlock()
	b.filling = false
	if b.done || b.err != nil || n <= 0 {
		return
	}
	b.n += n
	b.cond.Broadcast()
}

// end marks the body complete (End frame, with its trailer), or failed
// when err is non-nil. Bytes already held are read before either.
func (b *bodyBuf) end(t protocol.Trailer, err error) {
	b.mu.Lock()
	if err == nil {
		b.eof, b.trailer = true, t
	} else if b.err == nil {
		b.err = err
	}
	b.cond.Broadcast()
	b.mu.Unlock()
}

// endTrailer is the trailer End brought; valid once next returned io.EOF.
func (b *bodyBuf) endTrailer() protocol.Trailer {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.trailer
}

// finish is called when the command returned: bytes still arriving are
// dropped, and a paused loop is resumed so it can drain them.
func (b *bodyBuf) finish() {
	b.mu.Lock()
	if b.onFinish != nil {
		b.onFinish()
		b.onFinish = nil
	}
	b.done = true
	b.ring = nil
	b.n = 0
	resume := b.wantRoom
	b.wantRoom = false
	b.cond.Broadcast()
	b.mu.Unlock()
	if resume {
		b.onRoom()
	}
}

// stalled reports whether the body waits on the command, not the client:
// the buffer is full and the loop has stopped reading for it. The minimum
// upload rate does not count such time against the client.
func (b *bodyBuf) stalled() bool {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.wantRoom || (b.n == b.size && !b.done)
}

// next waits for bytes and returns the contiguous piece at the read
// position, at most max bytes (max >= 1). The piece stays valid, and
// unread, until release: the loop writes only into free space. At the end
// of the body it returns io.EOF.
func (b *bodyBuf) next(max int) ([]byte, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	for b.n == 0 && !b.eof && b.err == nil && !b.done {
		b.cond.Wait()
	}
	switch {
	case b.n > 0:
		return b.ring[b.r : b.r+min(b.size-b.r, b.n, max)], nil
	case b.err != nil:
		return nil, b.err
	case b.done:
		return nil, errBodyFinished
	}
	return nil, io.EOF
}

// release frees the first c bytes that next returned, and resumes a paused
// loop once half the buffer is free. It fails if the request finished (and
// the buffer was dropped) meanwhile.
func (b *bodyBuf) release(c int) error {
	b.mu.Lock()
	if b.done {
		b.mu.Unlock()
		return errBodyFinished
	}
	b.r = (b.r + c) % b.size
	b.n -= c
	if b.n == 0 && !b.filling {
		b.r = 0 // the next bytes start at the front, in one piece
	}
	resume := b.wantRoom && b.size-b.n >= b.size/2
	if resume {
		b.wantRoom = false
	}
	b.mu.Unlock()
	if resume {
		b.onRoom()
	}
	return nil
}
