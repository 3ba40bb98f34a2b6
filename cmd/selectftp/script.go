package main

import (
	"bufio"
	"context"
	"fmt"
	"io"
	"strings"
)

// runScript runs the commands read from in, one per line, and carries on
// past failures, so a script reports every problem at once; the exit code
// says whether any command failed.
func runScript(ctx context.Context, s *session, in io.Reader) int {
	sc := bufio.NewScanner(in)
	sc.Buffer(make([]byte, 64<<10), 1<<20)
	failed := false
	for lineNo := 1; sc.Scan(); lineNo++ {
		line := strings.TrimSpace(sc.Text())
		if line == "" || strings.HasPrefix(line, "#") {
			continue
		}
		words, err := splitWords(line)
		if err == nil && (words[0] == "quit" || words[0] == "exit") && len(words) == 1 {
			break
		}
		if err == nil {
			err = s.run(ctx, words)
		}
		if ctx.Err() != nil {
			fmt.Fprintln(s.stderr, "selectftp: interrupted")
			return exitInterrupted
		}
		if err != nil {
			fmt.Fprintf(s.stderr, "selectftp: line %d: %v\n", lineNo, err)
			failed = true
		}
	}
	if err := sc.Err(); err != nil {
		fmt.Fprintf(s.stderr, "selectftp: read commands: %v\n", err)
		return exitFailed
	}
	if failed {
		return exitFailed
	}
	return exitOK
}
