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
}

// Request starts a command. Its body follows as Data frames closed by End.
type Request struct {
	Verb   string         `json:"verb"`
	Args   []string       `json:"args,omitempty"`
	Params map[string]any `json:"params,omitempty"`
}

// Response carries a command's metadata, sent before its body data.
type Response struct {
	Meta map[string]any `json:"meta"`
}

// Status ends every response: Code is CodeOK or an error code, Message
// says what went wrong in words.
type Status struct {
	Code    Code   `json:"code"`
	Message string `json:"message,omitempty"`
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
	if t.Control() && len(p) > DefaultMaxControl {
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
