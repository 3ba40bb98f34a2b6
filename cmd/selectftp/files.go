package main

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"time"

	"github.com/selectftp/selectftp/client"
)

// fileVerbs are the verbs of issue 9 the CLI decodes itself. When the
// server does not serve one, the command goes out as typed and whatever
// answers (the fallback) is printed, as before these verbs existed.
var fileVerbs = map[string]bool{"ls": true, "stat": true, "rm": true, "mkdir": true, "mv": true, "sum": true, "cd": true, "pwd": true}

// fileFlags splits the leading flags of a file verb from its paths. allowed
// maps each one-letter flag to the usage line; "--" ends the flags.
// Letters may be grouped ("-la"). --checksum ALG is taken by sum only.
func fileFlags(verb, usage string, args []string, letters string) (flags map[byte]bool, checksum string, paths []string, err error) {
	flags = map[byte]bool{}
	for len(args) > 0 {
		a := args[0]
		if a == "--" {
			args = args[1:]
			break
		}
		if verb == "sum" && (a == "--checksum" || strings.HasPrefix(a, "--checksum=")) {
			if v, ok := strings.CutPrefix(a, "--checksum="); ok {
				checksum = v
				args = args[1:]
				continue
			}
			if len(args) < 2 {
				return nil, "", nil, usagef("%s: --checksum needs an algorithm (xxh128, sha256, blake3)", verb)
			}
			checksum, args = args[1], args[2:]
			continue
		}
		if len(a) < 2 || a[0] != '-' || a[1] == '-' {
			if strings.HasPrefix(a, "--") {
				return nil, "", nil, usagef("%s: unknown flag %s; %s", verb, a, usage)
			}
			break
		}
		for i := 1; i < len(a); i++ {
			if !strings.ContainsRune(letters, rune(a[i])) {
				return nil, "", nil, usagef("%s: unknown flag -%c; %s", verb, a[i], usage)
			}
			flags[a[i]] = true
		}
		args = args[1:]
	}
	return flags, checksum, args, nil
}

// prepareFile builds the action of a file verb; ok is false for other verbs.
func (s *session) prepareFile(verb string, args []string) (act action, ok bool, err error) {
	if !fileVerbs[verb] {
		return nil, false, nil
	}
	usages := map[string]string{
		"ls": "usage: ls [-l] [-a] [PATH|GLOB...]", "stat": "usage: stat PATH", "rm": "usage: rm [-r] PATH...",
		"mkdir": "usage: mkdir [-p] PATH...", "mv": "usage: mv [-n] FROM TO", "sum": "usage: sum [--checksum ALG] PATH...",
		"cd": "usage: cd PATH", "pwd": "usage: pwd",
	}
	letters := map[string]string{"ls": "la", "rm": "rR", "mkdir": "p", "mv": "n"}[verb]
	usage := usages[verb]
	flags, alg, paths, err := fileFlags(verb, usage, args, letters)
	if err != nil {
		return nil, true, err
	}
	n := len(paths)
	switch {
	case (verb == "stat" || verb == "cd") && n != 1,
		verb == "mv" && n != 2,
		verb == "pwd" && n != 0,
		(verb == "rm" || verb == "mkdir" || verb == "sum") && n == 0:
		return nil, true, usagef("%s", usage)
	}
	typed := func(ctx context.Context, c *client.Conn) error {
		switch verb {
		case "ls":
			return s.ls(ctx, c, client.ListOptions{Long: flags['l'], All: flags['a']}, paths)
		case "stat":
			e, err := c.Stat(ctx, paths[0])
			if err != nil {
				return err
			}
			if s.json {
				return s.emit(e)
			}
			s.printStat(e)
			return nil
		case "rm":
			return s.done(verb, paths, c.Remove(ctx, flags['r'] || flags['R'], paths...))
		case "mkdir":
			return s.done(verb, paths, c.Mkdir(ctx, flags['p'], paths...))
		case "mv":
			return s.done(verb, paths, c.Rename(ctx, paths[0], paths[1], flags['n']))
		case "sum":
			sums, err := c.Sum(ctx, alg, paths...)
			for _, d := range sums {
				if s.json {
					s.emit(map[string]any{"path": d.Path, "algorithm": d.Algorithm, "digest": d.Digest})
				} else {
					fmt.Fprintf(s.stdout, "%s  %s\n", d.Digest, d.Path)
				}
			}
			return err
		case "cd":
			dir, err := c.Cd(ctx, paths[0])
			if err != nil {
				return err
			}
			s.dir = dir
			if s.json {
				return s.emit(map[string]any{"op": "cd", "dir": dir})
			}
			return nil
		default: // pwd
			dir, err := c.Pwd(ctx)
			if err != nil {
				return err
			}
			if s.json {
				return s.emit(map[string]any{"op": "pwd", "dir": dir})
			}
			s.print(dir)
			return nil
		}
	}
	return func(ctx context.Context, c *client.Conn) error {
		served, known := s.served(ctx, c, verb)
		if known && !served {
			// No such verb here: the fallback answers, as it always did.
			return s.raw(ctx, c, verb, args)
		}
		err := typed(ctx, c)
		if fe := (*client.FallbackError)(nil); errors.As(err, &fe) {
			// A server that does not list its verbs routed this one to
			// its fallback, which did none of it: show what the
			// fallback says, as for any verb the server lacks.
			return s.raw(ctx, c, verb, args)
		}
		return err
	}, true, nil
}

// done reports a command with no output: nothing, or one JSON object.
func (s *session) done(verb string, paths []string, err error) error {
	if err == nil && s.json {
		return s.emit(map[string]any{"op": verb, "paths": paths})
	}
	return err
}

// ls prints entries as they arrive: a name per line (folders with a "/"),
// or, with -l, ls -l's columns, or one JSON object each.
func (s *session) ls(ctx context.Context, c *client.Conn, opts client.ListOptions, paths []string) error {
	now := time.Now()
	return c.ListFunc(ctx, opts, func(e client.Entry) error {
		if s.json {
			return s.emit(e)
		}
		name := e.Name
		if len(paths) > 0 && e.Name == "" {
			name = e.Path
		}
		if e.IsDir() {
			name += "/"
		}
		if !opts.Long {
			_, err := fmt.Fprintln(s.stdout, name)
			return err
		}
		_, err := fmt.Fprintf(s.stdout, "%s %12d %s %s\n", e.ModeText, e.Size, lsTime(e.ModTime, now), name)
		return err
	}, paths...)
}

// lsTime is ls -l's date: the time for the last half year, else the year.
func lsTime(t, now time.Time) string {
	t = t.Local()
	if d := now.Sub(t); d < 180*24*time.Hour && d > -24*time.Hour {
		return t.Format("Jan _2 15:04")
	}
	return t.Format("Jan _2  2006")
}

func (s *session) printStat(e client.Entry) {
	w := s.stdout
	fmt.Fprintf(w, "path:  %s\ntype:  %s\nsize:  %d\nmode:  %s\nmtime: %s\n", e.Path, e.Type, e.Size, e.ModeText, e.ModTime.UTC().Format(time.RFC3339Nano))
	for _, alg := range []string{"xxh128", "sha256", "blake3"} {
		if d, ok := e.Digests[alg]; ok {
			fmt.Fprintf(w, "%s: %s\n", alg, d)
		}
	}
}

// raw sends verb and args as typed and prints the text answer, telling a
// watching user when the fallback answered for a verb the server lacks.
func (s *session) raw(ctx context.Context, c *client.Conn, verb string, args []string) error {
	text, fallback, err := c.CommandFallback(ctx, verb, args)
	if err == nil {
		s.noteFallback(ctx, c, verb, args, text, fallback)
	}
	if s.json {
		if err == nil {
			s.emit(map[string]any{"op": verb, "output": text})
		}
		return err
	}
	s.print(text)
	return err
}
