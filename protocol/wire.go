// Package protocol is the selectftp frame codec shared by the server and its
// clients. docs/PROTOCOL.md is its specification.
//
// Every frame is a 5-byte header — a big-endian uint32 payload length and a
// one-byte type — followed by the payload. Control frames (Hello, Request,
// Response, Status) carry one JSON object and are limited in size; the limit
// is checked against the header before anything is allocated. Data frames
// carry raw body bytes, are never buffered whole, and may be as long as the
// length field allows, so a body can travel as one announced length followed
// by raw bytes. End closes a request body and carries its trailer (the
// digest of the bytes, sent after them); Continue tells a client that asked
// to wait that the command wants its body.
package protocol

import (
	"encoding/binary"
	"errors"
	"fmt"
)

// Version is the protocol version this package speaks.
const Version = 2

// ProtocolName identifies the protocol in Hello frames.
const ProtocolName = "selectftp"

// HeaderLen is the size of every frame header.
const HeaderLen = 5

// DefaultMaxControl is the default limit on a control frame's payload.
const DefaultMaxControl = 64 << 10

// MaxData is the longest payload one Data frame can announce.
const MaxData = 1<<32 - 1

// Type is a frame type.
type Type byte

// Frame types.
const (
	TypeHello    Type = 'H' // JSON Hello, first frame each way
	TypeRequest  Type = 'Q' // JSON Request, client to server
	TypeResponse Type = 'R' // JSON Response metadata, server to client, before body data
	TypeData     Type = 'D' // raw body bytes, either way
	TypeEnd      Type = 'E' // end of a request body, client to server: empty or a JSON Trailer
	TypeStatus   Type = 'S' // JSON Status, last frame of every response
	TypeContinue Type = 'C' // empty, server to client: send the body (answers Request.Expect)
	TypeAuth     Type = 'A' // JSON Auth, one step of a login, either way, between Hello and the first Request
)

// String names the type for messages and logs.
func (t Type) String() string {
	switch t {
	case TypeHello:
		return "hello"
	case TypeRequest:
		return "request"
	case TypeResponse:
		return "response"
	case TypeData:
		return "data"
	case TypeEnd:
		return "end"
	case TypeStatus:
		return "status"
	case TypeContinue:
		return "continue"
	case TypeAuth:
		return "auth"
	}
	return fmt.Sprintf("unknown(0x%02x)", byte(t))
}

// Control reports whether frames of type t carry a JSON payload.
func (t Type) Control() bool {
	switch t {
	case TypeHello, TypeRequest, TypeResponse, TypeStatus, TypeAuth:
		return true
	}
	return false
}

// buffered reports whether a frame's payload is read whole before it is
// handed on: control frames and End, whose payload is an optional trailer.
func (t Type) buffered() bool { return t.Control() || t == TypeEnd }

func (t Type) valid() bool { return t.buffered() || t == TypeData || t == TypeContinue }

// Decoding errors. A *FrameError wraps one of these.
var (
	ErrUnknownType  = errors.New("protocol: unknown frame type")
	ErrTooLarge     = errors.New("protocol: control frame too large")
	ErrNotEmpty     = errors.New("protocol: continue frame with a payload")
	ErrEmptyControl = errors.New("protocol: control frame without a payload")
)

// FrameError describes a malformed frame header.
type FrameError struct {
	Type Type
	Len  uint32
	Err  error
}

// Error describes the bad header.
func (e *FrameError) Error() string {
	return fmt.Sprintf("%v (type %v, length %d)", e.Err, e.Type, e.Len)
}

// Unwrap returns the sentinel behind the error.
func (e *FrameError) Unwrap() error { return e.Err }

// Header is a decoded frame header.
type Header struct {
	Type Type
	Len  uint32
}

// ParseHeader decodes and validates the header at the start of b, which must
// hold at least HeaderLen bytes. maxControl bounds control payloads.
func ParseHeader(b []byte, maxControl int) (Header, error) {
	h := Header{Len: binary.BigEndian.Uint32(b), Type: Type(b[4])}
	switch {
	case !h.Type.valid():
		return h, &FrameError{h.Type, h.Len, ErrUnknownType}
	case h.Type == TypeContinue && h.Len != 0:
		return h, &FrameError{h.Type, h.Len, ErrNotEmpty}
	case h.Type.Control() && h.Len == 0:
		return h, &FrameError{h.Type, h.Len, ErrEmptyControl}
	case h.Type.buffered() && uint64(h.Len) > uint64(maxControl):
		return h, &FrameError{h.Type, h.Len, ErrTooLarge}
	}
	return h, nil
}

// AppendHeader appends a frame header announcing n payload bytes.
func AppendHeader(dst []byte, t Type, n uint32) []byte {
	dst = binary.BigEndian.AppendUint32(dst, n)
	return append(dst, byte(t))
}

// AppendFrame appends a whole frame. Payloads over MaxData are the caller's bug.
func AppendFrame(dst []byte, t Type, payload []byte) []byte {
	dst = AppendHeader(dst, t, uint32(len(payload)))
	return append(dst, payload...)
}
