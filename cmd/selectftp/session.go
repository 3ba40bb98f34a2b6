package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"slices"
	"strings"

	"github.com/selectftp/selectftp/client"
)

// session runs commands over one connection, dialled on first use and
// again after it drops.
type session struct {
	addr string
	// checksum is the digest algorithm asked for with --checksum, or ""
	// for the server's default.
	checksum string
	stdin    io.Reader // read by `put -`; nil when it carries the commands
	stdout   io.Writer
	stderr   io.Writer
	// tty is set when stderr is a terminal and -q was not given: transfers
	// then show a progress bar and a summary line.
	tty   bool
	width func() int
	// bars draws the progress lines when tty is set (progress).
	bars *barSet
	// json prints one JSON object per result on stdout (--json).
	json bool
	// stdoutTTY is set when stdout is a terminal: only then is a user told
	// that the fallback answered (a pipe gets the bare output).
	stdoutTTY bool
	// dir is the remote folder the last cd reached ("" for none): a new
	// connection starts at the top, so connect goes back there.
	dir string
	// parallel is -P: transfers at once for get -r, put -r, mget, mput;
	// rate is --limit-rate in bytes/s per transfer (0: none).
	parallel int
	rate     int64
	// quiet is -q: no notices either (resume restarts).
	quiet bool

	// login is --user's option (nil: none), shared by every connection.
	login client.Option

	conn *client.Conn
	// verbs caches helps' list for the connection verbsOf.
	verbsOf *client.Conn
	verbs   []string
}

// usageError is a command typed wrong, as opposed to one that failed.
type usageError struct{ msg string }

func (e *usageError) Error() string { return e.msg }

func usagef(format string, args ...any) error {
	return &usageError{fmt.Sprintf(format, args...)}
}

// action is the network part of a command, which may run twice: when the
// connection turns out to be dead before anything was sent, it is run again
// on a new connection.
type action func(ctx context.Context, c *client.Conn) error

// run executes one command line, already split into words.
func (s *session) run(ctx context.Context, words []string) error {
	act, cleanup, err := s.prepare(ctx, words)
	if err != nil {
		return err
	}
	defer cleanup()
	c, err := s.connect(ctx)
	if err != nil {
		return err
	}
	err = act(ctx, c)
	if errors.Is(err, client.ErrClosed) {
		// The server closed the idle connection (timeout, restart):
		// nothing was sent, so try once more on a new one.
		s.drop()
		if c, err = s.connect(ctx); err != nil {
			return err
		}
		err = act(ctx, c)
	}
	if s.conn != nil && s.conn.Err() != nil {
		s.drop() // the next command starts on a new connection
	}
	return err
}

func (s *session) connect(ctx context.Context) (*client.Conn, error) {
	if s.conn == nil {
		// Large reads: a download moves in a quarter of the system
		// calls and hand-overs to the hashing goroutine.
		opts := []client.Option{client.WithReadSize(1 << 20)}
		if s.checksum != "" {
			opts = append(opts, client.WithChecksum(s.checksum))
		}
		if s.login != nil {
			opts = append(opts, s.login)
		}
		c, err := client.Dial(ctx, s.addr, opts...)
		if err != nil {
			return nil, err
		}
		// Say it once, plainly, before any command: the library's error
		// for each request would call it a checksum mismatch.
		if took := c.Server().Checksums; s.checksum != "" && len(took) > 0 && !slices.Contains(took, s.checksum) {
			c.Close()
			return nil, fmt.Errorf("the server at %s does not accept --checksum %s; it takes %s",
				s.addr, s.checksum, strings.Join(took, ", "))
		}
		if s.dir != "" && s.dir != "/" {
			// The session's folder lives in the server's session, which
			// ended with the old connection.
			if _, err := c.Cd(ctx, s.dir); err != nil {
				c.Close()
				return nil, fmt.Errorf("back to %s on a new connection: %w", s.dir, err)
			}
		}
		s.conn = c
	}
	return s.conn, nil
}

func (s *session) drop() {
	if s.conn != nil {
		s.conn.Close()
		s.conn = nil
	}
}

// progress returns a Progress for a transfer and the function that ends
// it, returning the bytes moved, or no-ops when no terminal is watching.
func (s *session) progress(label string) (client.Progress, func() int64) {
	if !s.tty || s.bars == nil {
		return nil, func() int64 { return 0 }
	}
	return s.bars.add(label)
}
