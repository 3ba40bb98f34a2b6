package host

import (
	"crypto/sha256"
	"errors"
	"io"
	"os"
	"sync"

	"github.com/selectftp/selectftp/internal/fdpass"
)

// bodyPipe carries a request body from the event loop to the command. The
// loop side never blocks: it stores what fits and asks to be resumed when the
// reader has made room, which is what stops a stalled upload being read off
// its socket. Memory per upload is bounded by the ring's size.
type bodyPipe struct {
	mu       sync.Mutex
	cond     sync.Cond
	ring     []byte // allocated on first write
	size     int
	r, n     int  // read position and bytes held
	eof      bool // the client sent End
	err      error
	done     bool // the command finished: later bytes are discarded
	wantRoom bool // the loop paused and waits for room
	onRoom   func()
	progress func() // called when bytes arrive or are taken; may be nil
	sum      []byte // SHA-256 of what went into a file, once complete
}

func newBodyPipe(size int, onRoom func()) *bodyPipe {
	p := &bodyPipe{size: size, onRoom: onRoom}
	p.cond.L = &p.mu
	return p
}

// room returns how many bytes write will take now. When it is zero it records
// that the loop waits, so the reader calls onRoom once space frees up.
func (p *bodyPipe) room() int {
	p.mu.Lock()
	defer p.mu.Unlock()
	if p.done || p.err != nil {
		return int(^uint(0) >> 1) // discard mode takes everything
	}
	free := p.size - p.n
	if free == 0 {
		p.wantRoom = true
	}
	return free
}

// write stores b, which must fit in room(); the loop calls it.
func (p *bodyPipe) write(b []byte) {
	p.mu.Lock()
	defer p.mu.Unlock()
	if p.done || p.err != nil || len(b) == 0 {
		return
	}
	if p.ring == nil {
		p.ring = make([]byte, p.size)
	}
	for len(b) > 0 && p.n < p.size { // the caller asked room(); never spin
		w := (p.r + p.n) % p.size
		c := copy(p.ring[w:min(p.size, w+p.size-p.n)], b)
		p.n += c
		b = b[c:]
	}
	p.cond.Broadcast()
	if p.progress != nil {
		p.progress()
	}
}

// end marks the body complete (End frame), or failed when err is non-nil.
func (p *bodyPipe) end(err error) {
	p.mu.Lock()
	if err != nil {
		if p.err == nil {
			p.err = err
		}
	} else {
		p.eof = true
	}
	p.cond.Broadcast()
	p.mu.Unlock()
}

// finish is called when the command returned: bytes still arriving are
// dropped, and a paused loop is resumed so it can drain them.
func (p *bodyPipe) finish() {
	p.mu.Lock()
	p.done = true
	p.ring = nil
	p.n = 0
	resume := p.wantRoom
	p.wantRoom = false
	p.cond.Broadcast()
	p.mu.Unlock()
	if resume {
		p.onRoom()
	}
}

// stalled reports whether the body waits on the command, not the client:
// the buffer is full and the loop has stopped reading for it. The minimum
// upload rate does not count such time against the client.
func (p *bodyPipe) stalled() bool {
	p.mu.Lock()
	defer p.mu.Unlock()
	return p.wantRoom || (p.n == p.size && !p.done)
}

// ended reports whether the client sent the whole body.
func (p *bodyPipe) ended() bool {
	p.mu.Lock()
	defer p.mu.Unlock()
	return p.eof
}

// Read gives the command the body; it blocks until bytes, the end, or an
// error arrive.
func (p *bodyPipe) Read(b []byte) (int, error) {
	if len(b) == 0 {
		return 0, nil
	}
	p.mu.Lock()
	for p.n == 0 && !p.eof && p.err == nil && !p.done {
		p.cond.Wait()
	}
	if p.n == 0 {
		err := p.err
		if err == nil {
			err = io.EOF
		}
		p.mu.Unlock()
		return 0, err
	}
	c := copy(b, p.ring[p.r:min(p.size, p.r+p.n)])
	p.consumeAndUnlock(c)
	return c, nil
}

// consumeAndUnlock frees c bytes at the read position, unlocks, and resumes
// a paused loop once half the ring is free.
func (p *bodyPipe) consumeAndUnlock(c int) {
	p.r = (p.r + c) % p.size
	p.n -= c
	if p.n == 0 {
		p.r = 0
	}
	resume := p.wantRoom && p.size-p.n >= p.size/2
	if resume {
		p.wantRoom = false
	}
	progress := p.progress
	p.mu.Unlock()
	if progress != nil {
		progress()
	}
	if resume {
		p.onRoom()
	}
}

// drain hands the body to write in place, a contiguous piece of the ring at
// a time, saving the copy Read makes. It stops after limit bytes (limit < 0:
// none), reporting whether more followed.
func (p *bodyPipe) drain(write func([]byte) error, limit int64) (n int64, over bool, err error) {
	for {
		p.mu.Lock()
		for p.n == 0 && !p.eof && p.err == nil && !p.done {
			p.cond.Wait()
		}
		if p.n == 0 {
			err := p.err
			p.mu.Unlock()
			if err == nil && p.done {
				err = errors.New("host: request finished")
			}
			return n, false, err // nil at the end of the body
		}
		if limit >= 0 && n == limit {
			p.mu.Unlock()
			return n, true, nil
		}
		seg := p.ring[p.r:min(p.size, p.r+p.n)]
		if limit >= 0 {
			seg = seg[:min(int64(len(seg)), limit-n)]
		}
		p.mu.Unlock()
		// The loop only writes into free space, so seg is stable until
		// it is released below.
		if err := write(seg); err != nil {
			return n, false, err
		}
		n += int64(len(seg))
		p.mu.Lock()
		if p.done { // finish emptied the ring under us
			p.mu.Unlock()
			return n, false, errors.New("host: request finished")
		}
		p.consumeAndUnlock(len(seg))
	}
}

// WriteBodyTo writes the rest of the body into f at off, hashing it: the
// plugin upload path (see pluginrpc.BodyFileWriter).
func (p *bodyPipe) WriteBodyTo(f *os.File, off, limit int64) (int64, []byte, bool, error) {
	return p.drainHashed(func(b []byte) error {
		_, err := f.WriteAt(b, off)
		off += int64(len(b))
		return err
	}, limit)
}

// WriteTo serves io.Copy from the body for in-process commands; into a
// regular file it also records the SHA-256 (see sdk.BodySHA256).
func (p *bodyPipe) WriteTo(w io.Writer) (int64, error) { return p.WriteToLimit(w, -1) }

// WriteToLimit is WriteTo of at most limit bytes (sdk.LimitBody uses it).
func (p *bodyPipe) WriteToLimit(w io.Writer, limit int64) (int64, error) {
	write := func(b []byte) error { _, err := w.Write(b); return err }
	if _, isFile := fdpass.TargetFile(w); !isFile {
		n, _, err := p.drain(write, limit)
		return n, err
	}
	n, _, _, err := p.drainHashed(write, limit)
	return n, err
}

// drainHashed is drain that also hashes the body, each piece on another
// goroutine while write runs (the hash is an upload's slowest step), and
// records the digest for DeliveredSHA256.
func (p *bodyPipe) drainHashed(write func([]byte) error, limit int64) (int64, []byte, bool, error) {
	h := sha256.New()
	pieces := make(chan []byte)
	hashed := make(chan struct{})
	go func() {
		for b := range pieces {
			h.Write(b)
			hashed <- struct{}{}
		}
	}()
	defer close(pieces)
	n, over, err := p.drain(func(b []byte) error {
		pieces <- b
		err := write(b)
		<-hashed // the piece is released once both are through
		return err
	}, limit)
	if err != nil {
		return n, nil, over, err
	}
	sum := h.Sum(nil)
	p.mu.Lock()
	p.sum = sum
	p.mu.Unlock()
	return n, sum, over, nil
}

// DeliveredSHA256 is the SHA-256 of what WriteBodyTo or WriteTo wrote into
// a file.
func (p *bodyPipe) DeliveredSHA256() ([]byte, bool) {
	p.mu.Lock()
	defer p.mu.Unlock()
	return p.sum, p.sum != nil
}
