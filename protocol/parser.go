package protocol

import (
	"fmt"
	"math"
)

// EventKind says what a Parser found.
type EventKind int

// Event kinds.
const (
	EventNone    EventKind = iota // more input needed
	EventControl                  // a whole control frame: Type and Payload
	EventData                     // a piece of a Data frame's payload
	EventEnd                      // an End frame; Payload is its trailer (may be empty)
)

// Event is one thing a Parser found. Payload aliases the parser's buffer or
// the caller's input and is valid only until the next call to Next.
type Event struct {
	Kind    EventKind
	Type    Type
	Payload []byte
	// Last is set on the Data event that completes its frame (also for an
	// empty Data frame, which yields one empty Last event).
	Last bool
}

// Parser decodes a frame stream pushed to it in pieces of any size: the
// length prefix itself may arrive split, and one piece may hold many frames.
// It buffers at most a header and one control payload, never a Data payload.
// Its zero value uses DefaultMaxControl.
type Parser struct {
	// MaxControl bounds control payloads; 0 means DefaultMaxControl.
	MaxControl int

	hdr     [HeaderLen]byte
	hn      int // header bytes held
	cur     Header
	inFrame bool   // header parsed, payload pending
	left    uint32 // payload bytes still to come
	ctl     []byte // control payload gathered across inputs, nil until needed
	err     error
}

// Pending reports whether the parser holds part of a frame, which the
// server's half-sent-frame timer watches.
func (p *Parser) Pending() bool { return p.hn > 0 || p.inFrame }

// InData reports whether the parser is inside a Data frame's payload.
func (p *Parser) InData() bool { return p.inFrame && p.cur.Type == TypeData }

// DataLeft is how many payload bytes of the current Data frame are still to
// come; 0 outside a Data frame.
func (p *Parser) DataLeft() int64 {
	if !p.InData() {
		return 0
	}
	return int64(p.left)
}

// SkipData counts n payload bytes of the current Data frame as consumed
// without the parser seeing them: the caller read them from the stream
// itself, straight into its own buffer. n must not exceed DataLeft.
func (p *Parser) SkipData(n int) {
	if n <= 0 || !p.InData() || uint64(n) > uint64(p.left) {
		return
	}
	p.left -= uint32(n)
	if p.left == 0 {
		p.inFrame = false
	}
}

// Next consumes bytes from in and returns at most one event and how many
// bytes it consumed. It returns EventNone with n == len(in) when in held no
// complete event. After an error every call returns that error.
func (p *Parser) Next(in []byte) (ev Event, n int, err error) {
	return p.NextLimit(in, math.MaxInt)
}

// NextLimit is Next, but hands out at most maxData bytes of Data payload, so
// a caller whose body buffer is nearly full consumes no more than it can
// store. With maxData == 0 inside a Data frame it returns EventNone having
// consumed only what precedes the payload.
func (p *Parser) NextLimit(in []byte, maxData int) (ev Event, n int, err error) {
	if p.err != nil {
		return Event{}, 0, p.err
	}
	for !p.inFrame {
		if p.hn == 0 && len(in)-n >= HeaderLen {
			if err := p.start(in[n : n+HeaderLen]); err != nil {
				return Event{}, n, err
			}
			n += HeaderLen
			break
		}
		c := copy(p.hdr[p.hn:], in[n:])
		p.hn += c
		n += c
		if p.hn < HeaderLen {
			return Event{}, n, nil
		}
		p.hn = 0
		if err := p.start(p.hdr[:]); err != nil {
			return Event{}, n, err
		}
	}
	switch {
	case p.cur.Type == TypeEnd && p.cur.Len == 0, p.cur.Type == TypeContinue:
		p.inFrame = false
		return Event{Kind: p.kind(), Type: p.cur.Type}, n, nil
	case p.cur.Type == TypeData:
		take := uint32(min(uint64(len(in)-n), uint64(p.left), uint64(maxData)))
		if take == 0 && p.left > 0 {
			return Event{}, n, nil
		}
		p.left -= take
		ev = Event{Kind: EventData, Type: TypeData, Payload: in[n : n+int(take)], Last: p.left == 0}
		if ev.Last {
			p.inFrame = false
		}
		return ev, n + int(take), nil
	}
	// Control frame or trailer: serve straight from in when it is all there.
	if p.left == p.cur.Len && uint32(len(in)-n) >= p.left {
		end := n + int(p.left)
		p.inFrame = false
		return Event{Kind: p.kind(), Type: p.cur.Type, Payload: in[n:end]}, end, nil
	}
	c := uint32(min(uint64(len(in)-n), uint64(p.left)))
	if p.ctl == nil {
		p.ctl = make([]byte, 0, p.cur.Len)
	}
	p.ctl = append(p.ctl, in[n:n+int(c)]...)
	p.left -= c
	n += int(c)
	if p.left > 0 {
		return Event{}, n, nil
	}
	p.inFrame = false
	payload := p.ctl
	p.ctl = nil // the event owns the bytes; start afresh next time
	return Event{Kind: p.kind(), Type: p.cur.Type, Payload: payload}, n, nil
}

// kind is the event a whole buffered frame of the current type makes.
func (p *Parser) kind() EventKind {
	if p.cur.Type == TypeEnd {
		return EventEnd
	}
	return EventControl // Continue too: only a server sends it, and a server's parser refuses it as a control frame out of place
}

func (p *Parser) start(b []byte) error {
	maxc := p.MaxControl
	if maxc <= 0 {
		maxc = DefaultMaxControl
	}
	h, err := ParseHeader(b, maxc)
	if err != nil {
		p.err = err
		return err
	}
	p.cur, p.left, p.inFrame = h, h.Len, true
	return nil
}

// String describes the parser state for debugging.
func (p *Parser) String() string {
	return fmt.Sprintf("parser{hn:%d inFrame:%v type:%v left:%d}", p.hn, p.inFrame, p.cur.Type, p.left)
}
