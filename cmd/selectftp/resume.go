package main

import (
	"errors"

	"github.com/selectftp/selectftp/client"
)

// resumeOptions sets what a transfer needs to resume (get -c, put -c) and
// to tell the user about it; the returned value holds the byte it resumed
// from once it is done (0: it did not).
func (s *session) resumeOptions(opts *client.FileOptions, j job) *int64 {
	var from int64
	opts.Resume = j.resume
	opts.Resumed = func(n int64) { from = n }
	opts.Notice = func(msg string) {
		outMu.Lock()
		defer outMu.Unlock()
		s.notice(msg)
	}
	return &from
}

// notice tells the user something worth knowing that is no failure, such
// as a resume starting again from zero: on stderr unless -q, and as
// {"notice": ...} with --json. The caller holds outMu.
func (s *session) notice(msg string) {
	if !s.quiet {
		s.stderr.Write([]byte("selectftp: " + msg + "\n"))
	}
	if s.json {
		s.emit(map[string]any{"notice": msg})
	}
}

// partialKept says so when a download stopped on the way left its part
// for get -c.
func (s *session) partialKept(j job, err error) {
	var pe *client.PartialError
	if j.verb != "get" || !errors.As(err, &pe) {
		return
	}
	outMu.Lock()
	defer outMu.Unlock()
	s.notice("get " + j.remote + ": partial download kept; get -c resumes it")
}
