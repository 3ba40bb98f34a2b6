package main

import (
	"context"
	"fmt"
	"io"
	"os"
	"path"
	"path/filepath"
	"strings"
	"time"

	"github.com/selectftp/selectftp/client"
	"github.com/selectftp/selectftp/internal/ratelimit"
)

// prepare checks a command's words and does its local work, such as
// spooling stdin, once, however many times the returned action runs.
func (s *session) prepare(ctx context.Context, words []string) (act action, cleanup func(), err error) {
	noop := func() {}
	verb, args := words[0], words[1:]
	if act, ok, err := s.prepareFile(verb, args); ok {
		return act, noop, err
	}
	switch verb {
	case "put":
		return s.put(ctx, args)
	case "get":
		act, err := s.get(args)
		return act, noop, err
	case "mget", "mput":
		if len(args) == 0 {
			return nil, noop, usagef("usage: %s GLOB...", verb)
		}
		if err := noFlags(args); err != nil {
			return nil, noop, err
		}
		return func(ctx context.Context, c *client.Conn) error {
			if verb == "mget" {
				return s.mget(ctx, c, args)
			}
			return s.mput(ctx, c, args)
		}, noop, nil
	case "helps", "help", "?":
		if len(args) > 1 {
			return nil, noop, usagef("usage: helps [VERB]")
		}
		verb := ""
		if len(args) == 1 {
			verb = args[0]
		}
		return func(ctx context.Context, c *client.Conn) error {
			text, err := c.Helps(ctx, verb)
			s.print(text)
			return err
		}, noop, nil
	}
	// upper and every other verb: the server's business, args verbatim.
	return func(ctx context.Context, c *client.Conn) error {
		return s.raw(ctx, c, verb, args)
	}, noop, nil
}

// noFlags refuses file names that look like flags: "put a.txt -q" would
// otherwise store a file named -q. Flags go before the verb; a file whose
// name starts with "-" is written ./-name. "-" alone is stdin or stdout.
func noFlags(names []string) error {
	for _, n := range names {
		if len(n) > 1 && n[0] == '-' {
			return usagef("%s: flags go before the verb (a file named so: ./%s)", n, n)
		}
	}
	return nil
}

// print writes a command's text output, ending it with a newline.
func (s *session) print(text string) {
	if text == "" {
		return
	}
	if !strings.HasSuffix(text, "\n") {
		text += "\n"
	}
	io.WriteString(s.stdout, text)
}

func (s *session) put(ctx context.Context, args []string) (action, func(), error) {
	noop := func() {}
	const usage = "usage: put [-c] [-r] [-p] LOCAL [REMOTE]"
	flags, _, args, err := fileFlags("put", usage, args, "crp")
	if err != nil {
		return nil, noop, err
	}
	if len(args) < 1 || len(args) > 2 {
		return nil, noop, usagef("%s", usage)
	}
	if err := noFlags(args); err != nil {
		return nil, noop, err
	}
	local := args[0]
	remote := ""
	if len(args) == 2 {
		remote = args[1]
	}
	if local == "-" {
		if flags['c'] {
			return nil, noop, usagef("put -c -: stdin cannot be resumed")
		}
		if remote == "" || strings.HasSuffix(remote, "/") {
			return nil, noop, usagef("put -: give the REMOTE name to store stdin as")
		}
		return s.putStdin(ctx, remote)
	}
	if fi, err := os.Stat(local); flags['r'] && err == nil && fi.IsDir() {
		return func(ctx context.Context, c *client.Conn) error {
			return s.putTree(ctx, c, local, s.treeTarget(ctx, c, local, remote), flags['p'], flags['c'])
		}, noop, nil
	} else if err == nil && fi.IsDir() {
		return nil, noop, usagef("put %s: a folder (put -r copies folders)", local)
	}
	switch {
	case remote == "":
		remote = filepath.Base(local)
	case strings.HasSuffix(remote, "/"):
		remote += filepath.Base(local)
	}
	return func(ctx context.Context, c *client.Conn) error {
		return s.transfer(ctx, c, job{verb: "put", local: local, remote: remote, resume: flags['c']}, flags['p'])
	}, noop, nil
}

// putStdin streams stdin to the server as it arrives: the protocol sends
// the digest after the bytes, so nothing is spooled and `tar c dir |
// selectftp put - dir.tar` needs no local disk. The upload is kept only if
// stdin ends normally; an interrupted one leaves nothing under remote.
func (s *session) putStdin(ctx context.Context, remote string) (action, func(), error) {
	noop := func() {}
	if s.stdin == nil {
		return nil, noop, usagef("put -: stdin carries the commands here; put - works only as a single command")
	}
	in := &countingReader{r: newStopReader(ctx, s.stdin)}
	var body io.Reader = in
	if s.rate > 0 {
		body = &ratelimit.Reader{Ctx: ctx, R: in, L: ratelimit.New(s.rate)}
	}
	return func(ctx context.Context, c *client.Conn) error {
		if in.n > 0 {
			// A retry on a new connection cannot send stdin again.
			return fmt.Errorf("put -: the connection failed after %d bytes of stdin were sent; stdin cannot be sent again", in.n)
		}
		start := time.Now()
		update, finish := s.progress("put " + remote)
		err := c.Put(ctx, body, -1, remote, update)
		finish()
		if err == nil {
			s.summary("put", "stdin", remote, in.n, start)
		}
		return err
	}, noop, nil
}

// countingReader counts what it read.
type countingReader struct {
	r io.Reader
	n int64
}

func (c *countingReader) Read(p []byte) (int, error) {
	n, err := c.r.Read(p)
	c.n += int64(n)
	return n, err
}

func (s *session) get(args []string) (action, error) {
	const usage = "usage: get [-c] [-r] [-p] REMOTE [LOCAL]"
	flags, _, args, err := fileFlags("get", usage, args, "crp")
	if err != nil {
		return nil, err
	}
	if len(args) < 1 || len(args) > 2 {
		return nil, usagef("%s", usage)
	}
	if err := noFlags(args); err != nil {
		return nil, err
	}
	remote := args[0]
	base := path.Base(remote)
	local := ""
	if len(args) == 2 {
		local = args[1]
	}
	if local == "-" {
		if flags['c'] {
			return nil, usagef("get -c %s -: stdout cannot be resumed", remote)
		}
		if flags['r'] {
			return nil, usagef("get -r %s -: a folder cannot go to stdout", remote)
		}
		return func(ctx context.Context, c *client.Conn) error {
			update, finish := s.progress("get " + remote)
			defer finish()
			w := s.stdout
			if s.rate > 0 {
				w = &ratelimit.Writer{Ctx: ctx, W: w, L: ratelimit.New(s.rate)}
			}
			return c.Get(ctx, remote, w, update)
		}, nil
	}
	if flags['r'] {
		return func(ctx context.Context, c *client.Conn) error {
			e, err := c.Stat(ctx, remote)
			if err != nil {
				return err
			}
			if !e.IsDir() {
				to := local
				if to == "" || isDir(to) {
					to = filepath.Join(to, path.Base(e.Path))
				}
				return s.transfer(ctx, c, job{verb: "get", remote: remote, local: to, entry: &e, resume: flags['c']}, flags['p'])
			}
			to := local
			switch {
			case to != "" && isDir(to) && e.Path != "/":
				to = filepath.Join(to, path.Base(e.Path))
			case to == "" && e.Path == "/":
				return usagef("get -r %s: give a LOCAL folder", remote)
			case to == "":
				to = path.Base(e.Path)
			}
			return s.getTree(ctx, c, e, to, flags['p'], flags['c'])
		}, nil
	}
	if local == "" || isDir(local) {
		if base == "/" || base == "." || base == ".." {
			return nil, usagef("get %s: give a LOCAL name", remote)
		}
		local = filepath.Join(local, base)
	}
	return func(ctx context.Context, c *client.Conn) error {
		return s.transfer(ctx, c, job{verb: "get", remote: remote, local: local, resume: flags['c']}, flags['p'])
	}, nil
}

// summary tells a watching user where a transfer of n bytes went, and a
// program reading --json output what moved.
func (s *session) summary(verb, from, to string, n int64, start time.Time) {
	s.summaryResumed(verb, from, to, n, start, 0)
}

// summaryResumed is summary for a transfer that resumed from byte
// resumed (0: it did not); --json then says "resumed_from".
func (s *session) summaryResumed(verb, from, to string, n int64, start time.Time, resumed int64) {
	if s.json {
		local, remote := from, to
		if verb == "get" {
			local, remote = to, from
		}
		if fi, err := os.Stat(local); n == 0 && err == nil && local != "stdin" {
			n = fi.Size() // no progress bar counted it
		}
		out := map[string]any{"op": verb, "local": local, "remote": remote, "bytes": n, "seconds": time.Since(start).Seconds()}
		if resumed > 0 {
			out["resumed_from"] = resumed
		}
		s.emit(out)
	}
	if s.tty {
		fmt.Fprintln(s.stderr, renderSummary(verb, from, to, n, time.Since(start)))
	}
}

func isDir(p string) bool {
	fi, err := os.Stat(p)
	return err == nil && fi.IsDir()
}

// treeTarget is where put -r LOCAL [REMOTE] copies the folder, as cp -r
// does: REMOTE itself, or inside it when it ends in "/" or is an existing
// folder; LOCAL's base name in the remote folder without REMOTE. The
// result is absolute, for -P's connections, which start at the top.
func (s *session) treeTarget(ctx context.Context, c *client.Conn, local, remote string) string {
	base := filepath.Base(filepath.Clean(local))
	switch {
	case remote == "":
		return s.abs(base)
	case strings.HasSuffix(remote, "/"):
		return s.abs(remote + base)
	}
	if e, err := c.Stat(ctx, remote); err == nil && e.IsDir() {
		return s.abs(path.Join(remote, base))
	}
	return s.abs(remote)
}
