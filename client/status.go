package client

import (
	"context"
	"fmt"
	"io"
	"strings"

	"github.com/selectftp/selectftp/protocol"
)

// DoStatus is Do that also returns the Status that ended the response, or
// its zero value when none arrived (the connection failed first). Beyond
// success or failure, the Status says which verb answered: Fallback names
// the server's fallback when it had no command of the verb asked for.
func (c *Conn) DoStatus(ctx context.Context, req protocol.Request, body io.Reader, out io.Writer) (map[string]any, protocol.Status, error) {
	var st protocol.Status
	meta, err := c.do(ctx, req, body, out, hooks{size: -1, status: &st})
	return meta, st, err
}

// CommandFallback is Command that also returns the verb that answered in
// place of verb when the server routed it to its fallback ("" when a
// command of that name ran, or when the server does not say).
func (c *Conn) CommandFallback(ctx context.Context, verb string, args []string) (text, fallback string, err error) {
	var b strings.Builder
	_, st, err := c.DoStatus(ctx, protocol.Request{Verb: verb, Args: args}, nil, &b)
	return b.String(), st.Fallback, err
}

// FallbackError is the error of a typed method (List, Stat, Remove, Mkdir,
// Rename, Sum, Cd, Pwd) whose request the server answered with its
// fallback: it has no such verb, so the fallback's success is not the
// operation's ("rm x" answered "RM X" removed nothing). It wraps a
// *protocol.StatusError with code unknown_verb, so errors.Is(err,
// ErrUnknownVerb) holds.
type FallbackError struct {
	Verb     string // the verb asked for
	Fallback string // the verb that answered instead
}

func (e *FallbackError) Error() string {
	return fmt.Sprintf("the server has no verb %q; its fallback %q answered", e.Verb, e.Fallback)
}

// Unwrap makes the error an unknown_verb status for errors.Is and Code.
func (e *FallbackError) Unwrap() error {
	return &protocol.StatusError{Code: protocol.CodeUnknownVerb, Message: e.Error()}
}

// doVerb is Do for a typed method: whatever the server's fallback answered
// for it, the operation did not happen.
func (c *Conn) doVerb(ctx context.Context, req protocol.Request, out io.Writer) (map[string]any, error) {
	meta, st, err := c.DoStatus(ctx, req, nil, out)
	if st.Fallback != "" {
		return nil, fmt.Errorf("%s: %w", req.Verb, &FallbackError{Verb: req.Verb, Fallback: st.Fallback})
	}
	return meta, err
}
