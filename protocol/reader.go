package protocol

import (
	"bufio"
	"errors"
	"fmt"
	"io"
)

// Frame is a frame read by Reader. Payload is set for control frames and
// End only; a Data frame's payload is read from the Reader itself.
type Frame struct {
	Type    Type
	Len     uint32
	Payload []byte
}

// Reader reads frames from a blocking stream, for clients and tests.
type Reader struct {
	br   *bufio.Reader
	max  int
	left int64 // unread bytes of the current Data frame
}

// NewReader reads frames from r; maxControl <= 0 means DefaultMaxControl.
func NewReader(r io.Reader, maxControl int) *Reader {
	if maxControl <= 0 {
		maxControl = DefaultMaxControl
	}
	return &Reader{br: bufio.NewReaderSize(r, 64<<10), max: maxControl}
}

// Next skips what is left of the current Data frame and reads the next
// frame's header, and for a control frame its payload.
func (r *Reader) Next() (Frame, error) {
	if r.left > 0 {
		if _, err := r.br.Discard(int(r.left)); err != nil {
			return Frame{}, unexpected(err)
		}
		r.left = 0
	}
	var hb [HeaderLen]byte
	if _, err := io.ReadFull(r.br, hb[:]); err != nil {
		if errors.Is(err, io.ErrUnexpectedEOF) {
			return Frame{}, fmt.Errorf("protocol: connection closed inside a frame header")
		}
		return Frame{}, err
	}
	h, err := ParseHeader(hb[:], r.max)
	if err != nil {
		return Frame{}, err
	}
	f := Frame{Type: h.Type, Len: h.Len}
	if h.Type.buffered() {
		f.Payload = make([]byte, h.Len)
		if _, err := io.ReadFull(r.br, f.Payload); err != nil {
			return Frame{}, unexpected(err)
		}
	} else if h.Type == TypeData {
		r.left = int64(h.Len)
	}
	return f, nil
}

// Read reads the current Data frame's payload, returning io.EOF at its end.
func (r *Reader) Read(p []byte) (int, error) {
	if r.left == 0 {
		return 0, io.EOF
	}
	if int64(len(p)) > r.left {
		p = p[:r.left]
	}
	n, err := r.br.Read(p)
	r.left -= int64(n)
	if err != nil {
		return n, unexpected(err)
	}
	return n, nil
}

// WriteTo copies the current Data frame's payload to w.
// Bytes are counted as they are read, so a failing w does not throw the
// reader out of step with the frame stream.
func (r *Reader) WriteTo(w io.Writer) (int64, error) {
	var written int64
	for r.left > 0 {
		b, err := r.br.Peek(int(min(r.left, int64(r.br.Size()))))
		if len(b) == 0 && err != nil {
			return written, unexpected(err)
		}
		if len(b) == 0 {
			b, err = r.br.Peek(1)
			if err != nil {
				return written, unexpected(err)
			}
		}
		n, werr := w.Write(b)
		r.br.Discard(len(b))
		r.left -= int64(len(b))
		written += int64(n)
		if werr == nil && n < len(b) {
			werr = io.ErrShortWrite
		}
		if werr != nil {
			return written, werr
		}
	}
	return written, nil
}

func unexpected(err error) error {
	if errors.Is(err, io.EOF) {
		return io.ErrUnexpectedEOF
	}
	return err
}
