package protocol

import (
	"encoding/json"
	"fmt"
)

// Hello is the first frame each way. The client lists the versions it speaks;
// the server answers with the one it chose, or with a Status error.
type Hello struct {
	Protocol string `json:"protocol"`
	Versions []int  `json:"versions,omitempty"` // client to server
	Version  int    `json:"version,omitempty"`  // server to client
	Server   string `json:"server,omitempty"`   // server to client: name/version
	// Checksums lists, server to client, the digest algorithms the server
	// accepts for a transfer, its default first; a client picks one per
	// request (Request.Checksum).
	Checksums []string `json:"checksums,omitempty"`
	// Auth lists, server to client, the login mechanisms the server
	// takes (MechSCRAMSHA256); a client logs in with A frames before its
	// first Request. Empty: the server has no users.
	Auth []string `json:"auth,omitempty"`
	// Anonymous says, server to client, that requests need no login.
	Anonymous bool `json:"anonymous,omitempty"`
}

// Request starts a command. Its body follows as Data frames closed by End,
// at once, or after the server's Continue when Expect is set.
type Request struct {
	Verb   string         `json:"verb"`
	Args   []string       `json:"args,omitempty"`
	Params map[string]any `json:"params,omitempty"`
	// Checksum names the digest algorithm of this request's body (its
	// Trailer) and of its response body (the Status); "" means the
	// server's default, the first of its Hello's Checksums.
	Checksum string `json:"checksum,omitempty"`
	// Size, when set, declares the body's length: the server may refuse
	// the request before the body (too large, no space) and fails it if
	// the body turns out longer or shorter.
	Size *int64 `json:"size,omitempty"`
	// Expect asks the server to answer before the body is sent: with
	// Continue when the command wants the body, or with the Status when
	// it finishes without (a refusal), in which case the client sends no
	// body at all, not even End.
	Expect bool `json:"expect,omitempty"`
}

// Trailer is the payload of End: what is known only after the bytes. An
// End with no payload is the zero Trailer, which only an empty body may
// have.
type Trailer struct {
	// Digest is the body's digest, in the request's algorithm, as
	// lower-case hex; required when the body has any bytes.
	Digest string `json:"digest,omitempty"`
	// Abort, when not empty, says why the client gave the body up (its
	// source failed, the user interrupted it): the command fails with
	// canceled and keeps nothing.
	Abort string `json:"abort,omitempty"`
}

// Response carries a command's metadata, sent before its body data.
type Response struct {
	Meta map[string]any `json:"meta"`
}

// Status ends every response: Code is CodeOK or an error code, Message
// says what went wrong in words.
//
// An ok Status also carries the response body's length and digest, in the
// request's algorithm, so the client verifies the body it received; a
// failed one need not (the body is incomplete anyway).
type Status struct {
	Code    Code   `json:"code"`
	Message string `json:"message,omitempty"`
	Size    *int64 `json:"size,omitempty"`
	Digest  string `json:"digest,omitempty"`
	// Fallback, when set, names the verb that answered in place of the
	// one requested: the server has no command of that name and routed
	// it to its fallback (with the verb prepended to the args). A client
	// says so, so that "rm x" answered "RM X" does not pass for a delete.
	Fallback string `json:"fallback,omitempty"`
	// Data is the last step of a login, in the ok Status that ends it:
	// SCRAM's server-final, the server's proof that it knows the user's
	// keys.
	Data string `json:"data,omitempty"`
}

// OK reports whether the status is a success.
func (s Status) OK() bool { return s.Code == CodeOK }

// Err returns nil for success and a *StatusError otherwise.
func (s Status) Err() error {
	if s.OK() {
		return nil
	}
	return &StatusError{Code: s.Code, Message: s.Message}
}

// StatusError is a failed Status as a Go error.
type StatusError struct {
	Code    Code
	Message string
}

// Error says the code and, when there is one, the message.
func (e *StatusError) Error() string {
	if e.Message == "" {
		return string(e.Code)
	}
	return fmt.Sprintf("%s: %s", e.Code, e.Message)
}

// Is reports whether target is a *StatusError with the same Code, whatever
// its message: a StatusError with only a Code serves as the sentinel for
// that code, so errors.Is(err, &StatusError{Code: CodeNotFound}) asks
// "did the server say not_found?" (the client package exports such
// sentinels).
func (e *StatusError) Is(target error) bool {
	t, ok := target.(*StatusError)
	return ok && t != nil && t.Code == e.Code
}

// Marshal encodes a control message as a whole frame of type t. A control
// frame never exceeds DefaultMaxControl, the limit every reader applies by
// default: a Status that would is cut to fit (see FitStatus), any other
// message that would is an error wrapping ErrTooLarge, so no caller can send
// a frame its peer must refuse.
func Marshal(t Type, msg any) ([]byte, error) {
	p, err := json.Marshal(msg)
	if err != nil {
		return nil, fmt.Errorf("protocol: encode %v: %w", t, err)
	}
	if t.buffered() && len(p) > DefaultMaxControl {
		st, ok := msg.(Status)
		if sp, isPtr := msg.(*Status); isPtr && sp != nil {
			st, ok = *sp, true
		}
		if !ok || t != TypeStatus {
			return nil, fmt.Errorf("protocol: encode %v: %d bytes is over the %d-byte limit of a control frame: %w",
				t, len(p), DefaultMaxControl, ErrTooLarge)
		}
		if p, err = json.Marshal(FitStatus(st, DefaultMaxControl)); err != nil {
			return nil, fmt.Errorf("protocol: encode %v: %w", t, err)
		}
	}
	return AppendFrame(make([]byte, 0, HeaderLen+len(p)), t, p), nil
}

// Unmarshal decodes a control payload into msg. It is strict: invalid UTF-8
// (or an escaped lone surrogate), a key given twice in one object (also in
// another case) and trailing data are errors, where encoding/json would
// quietly pick one meaning.
func Unmarshal(t Type, payload []byte, msg any) error {
	if err := decodeStrict(payload, msg, false); err != nil {
		return fmt.Errorf("invalid %v frame: %w", t, err)
	}
	return nil
}

// EndFrame encodes an End frame carrying t: no payload for the zero
// Trailer, its JSON otherwise.
func EndFrame(t Trailer) ([]byte, error) {
	if t == (Trailer{}) {
		return AppendHeader(nil, TypeEnd, 0), nil
	}
	return Marshal(TypeEnd, t)
}

// DecodeTrailer decodes an End frame's payload, strictly as Unmarshal does;
// an empty payload is the zero Trailer.
func DecodeTrailer(payload []byte) (Trailer, error) {
	var t Trailer
	if len(payload) == 0 {
		return t, nil
	}
	err := Unmarshal(TypeEnd, payload, &t)
	return t, err
}
