package main

import (
	"context"
	"errors"
	"os"
	"path"
	"slices"
	"strings"
	"time"
	"unicode"

	"github.com/selectftp/selectftp/client"
)

// pathEntry is one name a folder listing offers for completion.
type pathEntry struct {
	name string
	dir  bool
}

// lister lists the folder dir ("" for the current one) for completion,
// giving at most maxCompletions entries whose names start with prefix.
type lister func(dir, prefix string) ([]pathEntry, error)

// maxCompletions bounds what one Tab lists: a folder of a million names
// must not stall the prompt or flood the screen.
const maxCompletions = 1000

// completer completes the word at the cursor: verbs first, then remote or
// local paths depending on the verb and the argument's place.
type completer struct {
	verbs         []string
	remote, local lister
}

// argKind says what a verb's n-th argument (flags not counted) names.
type argKind int

const (
	argNone argKind = iota
	argRemote
	argLocal
	argLocalDir
	argVerb
)

func kindOf(verb string, n int) argKind {
	switch verb {
	case "get":
		if n == 0 {
			return argRemote
		}
		return argLocal
	case "put":
		if n == 0 {
			return argLocal
		}
		return argRemote
	case "mput", "lls":
		return argLocal
	case "lcd":
		return argLocalDir
	case "ls", "stat", "rm", "mkdir", "mv", "sum", "cd", "mget":
		return argRemote
	case "helps", "help", "?":
		return argVerb
	}
	return argNone
}

// complete is the terminal's completion: it returns the new line and
// cursor, and the candidates to list when Tab cannot extend the word. ok
// false leaves the key to the terminal.
func (c *completer) complete(line string, pos int) (newLine string, newPos int, list []string, ok bool) {
	before := line[:pos]
	words, start, cur, parsed := partialWords(before)
	if !parsed {
		return line, pos, nil, true
	}
	if len(words) == 0 {
		return completeFirstWord(line, pos, c.verbs)
	}
	n := 0
	for _, w := range words[1:] {
		if !strings.HasPrefix(w, "-") || w == "-" {
			n++
		}
	}
	if strings.HasPrefix(cur, "-") {
		return line, pos, nil, true
	}
	var cands []string // whole words; a folder ends in /
	switch kind := kindOf(words[0], n); kind {
	case argVerb:
		for _, v := range c.verbs {
			if strings.HasPrefix(v, cur) {
				cands = append(cands, v)
			}
		}
	case argRemote, argLocal, argLocalDir:
		ls := c.remote
		if kind != argRemote {
			ls = c.local
		}
		if ls == nil {
			return line, pos, nil, true
		}
		dir, base := "", cur
		if i := strings.LastIndexByte(cur, '/'); i >= 0 {
			dir, base = cur[:i+1], cur[i+1:]
		}
		entries, err := ls(dir, base)
		if err != nil {
			return line, pos, nil, true
		}
		for _, e := range entries {
			if kind == argLocalDir && !e.dir {
				continue
			}
			w := dir + e.name
			if e.dir {
				w += "/"
			}
			cands = append(cands, w)
		}
	default:
		return line, pos, nil, true
	}
	slices.Sort(cands)
	word, show := extend(cur, cands)
	if word == cur {
		if len(show) > 1 {
			for i, c := range show {
				show[i] = displayName(c)
			}
			return line, pos, show, true
		}
		return line, pos, nil, true
	}
	insert := escapeWord(word)
	if len(cands) == 1 && !strings.HasSuffix(word, "/") {
		insert += " "
	}
	return before[:start] + insert + line[pos:], start + len(insert), nil, true
}

// extend returns the longest word all candidates start with, and the
// candidates themselves when there are several.
func extend(cur string, cands []string) (string, []string) {
	if len(cands) == 0 {
		return cur, nil
	}
	prefix := cands[0]
	for _, m := range cands[1:] {
		for !strings.HasPrefix(m, prefix) {
			prefix = prefix[:len(prefix)-1]
		}
	}
	if len(prefix) < len(cur) {
		prefix = cur
	}
	if len(cands) == 1 {
		return prefix, nil
	}
	return prefix, cands
}

// displayName is what a listing of candidates shows: the last part of a
// path, folders still marked.
func displayName(w string) string {
	trimmed := strings.TrimSuffix(w, "/")
	if i := strings.LastIndexByte(trimmed, '/'); i >= 0 {
		return w[i+1:]
	}
	return w
}

// partialWords splits the line up to the cursor as splitWords does,
// returning the finished words, where the word at the cursor starts in
// before, and that word unquoted. A quote still open at the cursor is part
// of the word being typed. parsed is false for a line ending in a lone
// backslash.
func partialWords(before string) (words []string, start int, cur string, parsed bool) {
	var (
		b      strings.Builder
		inWord bool
		quote  rune
	)
	start = len(before)
	for i, r := range before {
		switch {
		case quote != 0:
			if r == quote {
				quote = 0
				continue
			}
			b.WriteRune(r)
		case unicode.IsSpace(r) && !escaped(before, i):
			if inWord {
				words = append(words, b.String())
				b.Reset()
				inWord = false
			}
		case r == '\\' && !escaped(before, i):
			if !inWord {
				inWord, start = true, i
			}
		case (r == '\'' || r == '"') && !escaped(before, i):
			if !inWord {
				inWord, start = true, i
			}
			quote = r
		default:
			if !inWord {
				inWord, start = true, i
			}
			b.WriteRune(r)
		}
	}
	if !inWord {
		return words, len(before), "", true
	}
	if quote == 0 && strings.HasSuffix(before, "\\") && !escaped(before, len(before)-1) {
		return nil, 0, "", false
	}
	return words, start, b.String(), true
}

// escaped reports whether the byte at i follows an odd number of
// backslashes (outside quotes, which is all partialWords asks about).
func escaped(s string, i int) bool {
	n := 0
	for i > 0 && s[i-1] == '\\' {
		n++
		i--
	}
	return n%2 == 1
}

// escapeWord writes w so that splitWords reads it back: the characters it
// treats specially get a backslash.
func escapeWord(w string) string {
	var b strings.Builder
	for _, r := range w {
		if unicode.IsSpace(r) || strings.ContainsRune(`\'"`, r) {
			b.WriteByte('\\')
		}
		b.WriteRune(r)
	}
	return b.String()
}

// localLister lists a local folder for completion.
func localLister(dir, prefix string) ([]pathEntry, error) {
	d := dir
	if d == "" {
		d = "."
	}
	entries, err := os.ReadDir(d)
	if err != nil {
		return nil, err
	}
	var out []pathEntry
	for _, e := range entries {
		name := e.Name()
		if !strings.HasPrefix(name, prefix) || (strings.HasPrefix(name, ".") && !strings.HasPrefix(prefix, ".")) {
			continue
		}
		out = append(out, pathEntry{name, dirMark(path.Join(d, name), e) == "/"})
		if len(out) == maxCompletions {
			break
		}
	}
	return out, nil
}

// errEnough stops a listing once enough names are in.
var errEnough = errors.New("enough names")

// remoteLister lists a remote folder through the server's ls verb. It
// runs while the user waits at the prompt, so it gives up after a few
// seconds.
func (s *session) remoteLister(dir, prefix string) ([]pathEntry, error) {
	if s.verbs != nil && !slices.Contains(s.verbs, "ls") {
		return nil, errors.New("the server has no ls")
	}
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	c, err := s.connect(ctx)
	if err != nil {
		return nil, err
	}
	var paths []string
	if dir != "" {
		paths = []string{dir}
	}
	var out []pathEntry
	err = c.ListFunc(ctx, client.ListOptions{All: strings.HasPrefix(prefix, ".")}, func(e client.Entry) error {
		if !strings.HasPrefix(e.Name, prefix) {
			return nil
		}
		out = append(out, pathEntry{e.Name, e.Type == "dir"})
		if len(out) == maxCompletions {
			return errEnough
		}
		return nil
	}, paths...)
	if c.Err() != nil {
		s.drop()
	}
	if err != nil && !errors.Is(err, errEnough) {
		return nil, err
	}
	return out, nil
}
