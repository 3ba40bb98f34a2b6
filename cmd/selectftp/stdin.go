package main

import (
	"context"
	"io"
)

// stopReader reads r in a goroutine of its own, so that a Read waiting on a
// pipe returns as soon as ctx ends. Ctrl-C during `producer | selectftp put
// -` then ends the upload at once, even when the producer is stalled or
// ignores the signal; a plain Read of the pipe would hold the program until
// the producer wrote or closed. Only one read is in flight, into a buffer of
// the reader's own, so memory stays bounded by one chunk.
type stopReader struct {
	ctx  context.Context
	r    io.Reader
	reqc chan int // bytes wanted
	resc chan readResult
	buf  []byte // the goroutine's between a request and its result
}

type readResult struct {
	n   int
	err error
}

func newStopReader(ctx context.Context, r io.Reader) *stopReader {
	return &stopReader{ctx: ctx, r: r}
}

// Read reads from r unless ctx ends first; then it fails with ctx's cause
// and abandons the read still waiting on r (the program is about to exit).
func (s *stopReader) Read(p []byte) (int, error) {
	if err := s.ctx.Err(); err != nil {
		return 0, context.Cause(s.ctx)
	}
	if len(p) == 0 {
		return 0, nil
	}
	if s.reqc == nil {
		s.reqc, s.resc = make(chan int), make(chan readResult, 1)
		go s.loop()
	}
	if cap(s.buf) < len(p) {
		s.buf = make([]byte, len(p))
	}
	select {
	case s.reqc <- len(p):
	case <-s.ctx.Done():
		return 0, context.Cause(s.ctx)
	}
	select {
	case res := <-s.resc:
		return copy(p, s.buf[:res.n]), res.err
	case <-s.ctx.Done():
		// The read in flight is abandoned with its buffer; every
		// later Read fails above, so the buffer is never touched again.
		return 0, context.Cause(s.ctx)
	}
}

func (s *stopReader) loop() {
	for {
		select {
		case n := <-s.reqc:
			k, err := s.r.Read(s.buf[:n])
			s.resc <- readResult{k, err}
		case <-s.ctx.Done():
			return
		}
	}
}
