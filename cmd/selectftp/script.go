package main

import (
	"bufio"
	"context"
	"errors"
	"fmt"
	"io"
	"os"
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
			s.report(fmt.Sprintf("line %d: ", lineNo), err)
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

// runCommands runs -c's commands, separated by ";" or newlines outside
// quotes, and stops at the first that fails: the exit status is its cause's.
func runCommands(ctx context.Context, s *session, text string) int {
	lines, err := splitCommands(text)
	if err != nil {
		s.report("-c: ", usagef("%v", err))
		return exitUsage
	}
	return runStrict(ctx, s, lines, "command")
}

// runBatch runs -b FILE's lines as sftp -b does: stop at the first failure
// unless the line starts with "-", whose failure is reported and passed.
// FILE "-" is stdin.
func runBatch(ctx context.Context, s *session, file string, stdin io.Reader) int {
	var in io.Reader = stdin
	if file != "-" {
		f, err := os.Open(file)
		if err != nil {
			s.report("", usagef("-b %s: %v", file, errors.Unwrap(err)))
			return exitUsage
		}
		defer f.Close()
		in = f
	}
	s.stdin = nil // put - cannot share the commands' stream or a batch
	var lines []string
	sc := bufio.NewScanner(in)
	sc.Buffer(make([]byte, 64<<10), 1<<20)
	for sc.Scan() {
		lines = append(lines, sc.Text())
	}
	if err := sc.Err(); err != nil {
		fmt.Fprintf(s.stderr, "selectftp: -b %s: %v\n", file, err)
		return exitFailed
	}
	return runStrict(ctx, s, lines, "line")
}

// runStrict runs lines, stopping at the first failure but for lines
// marked with a leading "-".
func runStrict(ctx context.Context, s *session, lines []string, unit string) int {
	s.stdin = nil
	for i, line := range lines {
		line = strings.TrimSpace(line)
		tolerate := strings.HasPrefix(line, "-")
		line = strings.TrimSpace(strings.TrimPrefix(line, "-"))
		if line == "" || strings.HasPrefix(line, "#") {
			continue
		}
		words, err := splitWords(line)
		if err != nil {
			err = usagef("%v", err)
		} else if len(words) == 1 && (words[0] == "quit" || words[0] == "exit") {
			return exitOK
		} else {
			err = s.run(ctx, words)
		}
		if ctx.Err() != nil {
			fmt.Fprintln(s.stderr, "selectftp: interrupted")
			return exitInterrupted
		}
		if err == nil {
			continue
		}
		s.report(fmt.Sprintf("%s %d: ", unit, i+1), err)
		if !tolerate {
			return exitCode(err)
		}
	}
	return exitOK
}

// splitCommands cuts -c's text at ";" and newlines outside quotes (the
// quoting of splitWords), so "put 'a;b'" stays one command.
func splitCommands(text string) ([]string, error) {
	var (
		out   []string
		start int
		quote rune
	)
	rs := []rune(text)
	for i := 0; i < len(rs); i++ {
		r := rs[i]
		switch {
		case quote == '\'':
			if r == '\'' {
				quote = 0
			}
		case quote == '"':
			if r == '\\' {
				i++
			} else if r == '"' {
				quote = 0
			}
		case r == '\\':
			i++
		case r == '\'' || r == '"':
			quote = r
		case r == ';' || r == '\n':
			out = append(out, string(rs[start:i]))
			start = i + 1
		}
	}
	if quote != 0 {
		return nil, fmt.Errorf("unterminated %c quote", quote)
	}
	return append(out, string(rs[min(start, len(rs)):])), nil
}
