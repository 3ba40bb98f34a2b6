package main

import (
	"context"
	"fmt"
	"slices"
	"strings"

	"github.com/selectftp/selectftp/client"
)

// served reports whether the server serves verb, asking helps once per
// connection (the answer is cached with the connection). known is false
// when the server would not say (no helps verb, or it failed): the caller
// then assumes the verb is served.
func (s *session) served(ctx context.Context, c *client.Conn, verb string) (served, known bool) {
	if s.verbsOf != c {
		s.verbsOf, s.verbs = c, nil
		verbs, err := c.Verbs(ctx)
		if err == nil && slices.Contains(verbs, "helps") {
			s.verbs = verbs
		}
	}
	if s.verbs == nil {
		return false, false
	}
	return slices.Contains(s.verbs, verb), true
}

// noteFallback tells a user at a terminal that verb was answered by the
// server's fallback, not by a command of that name: "rm x" answered "RM X"
// with success must not pass for a delete. On a pipe the output stays
// exactly what it always was. fallback is the verb the server says
// answered; a server that does not say is asked for its verbs instead.
func (s *session) noteFallback(ctx context.Context, c *client.Conn, verb string, args []string, text, fallback string) {
	if !s.stdoutTTY || verb == "helps" {
		return
	}
	if fallback != "" {
		fmt.Fprintf(s.stderr, "note: the server has no verb %q; its fallback %q answered\n", verb, fallback)
		return
	}
	served, known := s.served(ctx, c, verb)
	if !known || served {
		return
	}
	fmt.Fprintln(s.stderr, fallbackNote(verb, args, text, s.verbs))
}

// fallbackNote names the fallback of a server that does not say which verb
// answered (older than the Status's fallback field): upper's answer is the
// command upper-cased, which nothing else would answer by chance.
func fallbackNote(verb string, args []string, text string, verbs []string) string {
	echo := strings.ToUpper(strings.Join(append([]string{verb}, args...), " ")) + "\n"
	if slices.Contains(verbs, "upper") && text == echo {
		return fmt.Sprintf("note: the server has no verb %q; its fallback %q answered", verb, "upper")
	}
	return fmt.Sprintf("note: the server has no verb %q; its fallback answered", verb)
}
