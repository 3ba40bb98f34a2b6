package wire

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

// StatusOK is the Status code of a successful request.
const StatusOK = "ok"

// Status ends every response: Code is StatusOK or an error code from
// docs/PROTOCOL.md, Message says what went wrong in words.
type Status struct {
	Code    string `json:"code"`
	Message string `json:"message,omitempty"`
}

// OK reports whether the status is a success.
func (s Status) OK() bool { return s.Code == StatusOK }

// Err returns nil for success and a *StatusError otherwise.
func (s Status) Err() error {
	if s.OK() {
		return nil
	}
	return &StatusError{Code: s.Code, Message: s.Message}
}

// StatusError is a failed Status as a Go error.
type StatusError struct {
	Code    string
	Message string
}

// Error says the code and, when there is one, the message.
func (e *StatusError) Error() string {
	if e.Message == "" {
		return e.Code
	}
	return fmt.Sprintf("%s: %s", e.Code, e.Message)
}

// Marshal encodes a control message as a whole frame of type t.
func Marshal(t Type, msg any) ([]byte, error) {
	p, err := json.Marshal(msg)
	if err != nil {
		return nil, fmt.Errorf("wire: encode %v: %w", t, err)
	}
	return AppendFrame(make([]byte, 0, HeaderLen+len(p)), t, p), nil
}

// Unmarshal decodes a control payload into msg, rejecting trailing data.
func Unmarshal(t Type, payload []byte, msg any) error {
	if err := json.Unmarshal(payload, msg); err != nil {
		return fmt.Errorf("invalid %v frame: %w", t, err)
	}
	return nil
}
