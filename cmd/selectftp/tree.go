package main

import (
	"context"
	"fmt"
	"io/fs"
	"os"
	"path"
	"path/filepath"
	"strings"

	"github.com/selectftp/selectftp/client"
)

// getTree copies the remote folder remote (as Stat described it, e) to
// the local folder local, made with its parents: every folder, then the
// files, each verified and renamed into place whole. A symbolic link is
// skipped with a note (the server keeps links inside the tree, but a
// copy of it here would point anywhere); a failing file is reported and
// the rest go on. With resume, each file is resumed as get -c does.
func (s *session) getTree(ctx context.Context, c *client.Conn, e client.Entry, local string, keep, resume bool) error {
	b := &batch{s: s, what: "get -r " + e.Path}
	if err := os.MkdirAll(local, 0o777); err != nil {
		return fmt.Errorf("get -r %s: %w", e.Path, err)
	}
	top := strings.TrimSuffix(e.Path, "/") + "/"
	var jobs []job
	err := c.Walk(ctx, e.Path, func(f client.Entry) error {
		rel, ok := strings.CutPrefix(f.Path, top)
		// A listing is the server's word: a path outside the folder, or
		// one that would climb out of local, is refused, not written.
		if !ok || !filepath.IsLocal(filepath.FromSlash(rel)) {
			b.fail(fmt.Errorf("get -r %s: the server listed %q, which is not inside it", e.Path, f.Path))
			return nil
		}
		to := filepath.Join(local, filepath.FromSlash(rel))
		switch f.Type {
		case "dir":
			if err := os.MkdirAll(to, 0o777); err != nil {
				b.fail(fmt.Errorf("get -r %s: %w", f.Path, err))
			}
		case "file":
			f := f
			jobs = append(jobs, job{verb: "get", remote: f.Path, local: to, entry: &f, resume: resume})
		default:
			s.note("get -r: skipping %s (%s, not a file or folder)", f.Path, f.Type)
		}
		return nil
	})
	if err != nil {
		return err
	}
	s.runJobs(ctx, c, jobs, keep, b)
	return b.err()
}

// putTree copies the local folder local to the remote folder remote
// (absolute), made with its parents. Symbolic links are skipped with a
// note and never followed, so nothing outside local is sent. With resume,
// each file is resumed as put -c does.
func (s *session) putTree(ctx context.Context, c *client.Conn, local, remote string, keep, resume bool) error {
	b := &batch{s: s, what: "put -r " + local}
	var jobs []job
	walkErr := filepath.WalkDir(local, func(p string, d fs.DirEntry, err error) error {
		if err != nil {
			b.fail(fmt.Errorf("put -r: %w", err))
			return nil // WalkDir skips what it could not read
		}
		rel, err := filepath.Rel(local, p)
		if err != nil {
			return err
		}
		to := path.Join(remote, filepath.ToSlash(rel))
		switch {
		case d.IsDir():
			if err := c.Mkdir(ctx, true, to); err != nil {
				b.fail(err)
				return fs.SkipDir
			}
		case d.Type().IsRegular():
			jobs = append(jobs, job{verb: "put", local: p, remote: to, resume: resume})
		default:
			s.note("put -r: skipping %s (not a regular file or folder)", p)
		}
		return ctx.Err()
	})
	if walkErr != nil {
		return walkErr
	}
	s.runJobs(ctx, c, jobs, keep, b)
	return b.err()
}

// mget gets the remote files the globs match into the local folder.
// Each glob is expanded by the server (ls); one that matches nothing is
// an error, reported, and the others still go. Folders are skipped, as
// sftp's mget does.
func (s *session) mget(ctx context.Context, c *client.Conn, globs []string) error {
	b := &batch{s: s, what: "mget"}
	seen := map[string]bool{}
	var jobs []job
	for _, g := range globs {
		if !hasGlob(g) {
			// A plain folder name would list what it holds: mget takes
			// files, the folder itself is none.
			if st, err := c.Stat(ctx, g); err == nil && st.IsDir() {
				b.fail(usagef("mget %s: a folder (get -r copies folders)", g))
				continue
			}
		}
		entries, err := c.List(ctx, client.ListOptions{}, g)
		if err != nil {
			b.fail(err)
			continue
		}
		files := 0
		for _, e := range entries {
			if e.Type != "file" || !filepath.IsLocal(e.Name) || strings.ContainsRune(e.Name, '/') {
				s.note("mget: skipping %s (%s)", e.Path, e.Type)
				continue
			}
			files++
			if seen[e.Path] {
				continue
			}
			seen[e.Path] = true
			e := e
			jobs = append(jobs, job{verb: "get", remote: e.Path, local: e.Name, entry: &e})
		}
		if files == 0 {
			b.fail(usagef("mget %s: matches no file", g))
		}
	}
	s.runJobs(ctx, c, jobs, false, b)
	return b.err()
}

// mput puts the local files the globs match into the remote folder, under
// their base names. A glob that matches nothing is an error, reported,
// and the others still go; folders are skipped.
func (s *session) mput(ctx context.Context, c *client.Conn, globs []string) error {
	b := &batch{s: s, what: "mput"}
	seen := map[string]bool{}
	var jobs []job
	for _, g := range globs {
		names, err := filepath.Glob(g)
		if err != nil {
			b.fail(usagef("mput %s: a bad pattern", g))
			continue
		}
		files := 0
		for _, n := range names {
			fi, err := os.Lstat(n)
			if err != nil || !fi.Mode().IsRegular() {
				s.note("mput: skipping %s (not a regular file)", n)
				continue
			}
			files++
			if !seen[n] {
				seen[n] = true
				jobs = append(jobs, job{verb: "put", local: n, remote: s.abs(filepath.Base(n))})
			}
		}
		if files == 0 {
			b.fail(fmt.Errorf("mput %s: no local file matches", g))
		}
	}
	s.runJobs(ctx, c, jobs, false, b)
	return b.err()
}

// hasGlob reports whether p's last element is a pattern, as ls sees it.
func hasGlob(p string) bool {
	return strings.ContainsAny(path.Base(p), "*?[")
}

// note tells a watching user about something passed over; it is not a
// failure, so it goes to stderr without changing the exit status.
func (s *session) note(format string, args ...any) {
	outMu.Lock()
	defer outMu.Unlock()
	fmt.Fprintf(s.stderr, "selectftp: "+format+"\n", args...)
}
