package client

import (
	"context"
	"strings"

	"github.com/selectftp/selectftp/protocol"
)

// Helps returns the server's help: with verb == "", one line per verb
// ("verb<TAB>summary"); otherwise that verb's usage.
func (c *Conn) Helps(ctx context.Context, verb string) (string, error) {
	var args []string
	if verb != "" {
		args = []string{verb}
	}
	return c.Command(ctx, "helps", args)
}

// Verbs returns the verbs the server offers, in the order helps lists them.
func (c *Conn) Verbs(ctx context.Context) ([]string, error) {
	text, err := c.Helps(ctx, "")
	if err != nil {
		return nil, err
	}
	return ParseVerbs(text), nil
}

// ParseVerbs extracts the verbs from the text helps answers without args:
// the first field of each non-blank line.
func ParseVerbs(text string) []string {
	var verbs []string
	for line := range strings.Lines(text) {
		verb, _, _ := strings.Cut(line, "\t")
		if f := strings.Fields(verb); len(f) > 0 {
			verbs = append(verbs, f[0])
		}
	}
	return verbs
}

// Command runs any verb with args and no request body, and returns its
// output body as text. Unknown verbs reach the server's fallback, which
// by default upper-cases them with their args.
func (c *Conn) Command(ctx context.Context, verb string, args []string) (string, error) {
	var b strings.Builder
	_, err := c.Do(ctx, protocol.Request{Verb: verb, Args: args}, nil, &b)
	return b.String(), err
}
