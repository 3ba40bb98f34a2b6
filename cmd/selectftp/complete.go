package main

import (
	"slices"
	"strings"
	"unicode"
)

// shellVerbs are the words the shell knows besides the server's verbs.
var shellVerbs = []string{"help", "?", "quit", "exit", "lcd", "lpwd", "lls"}

// completionCandidates merges the server's verbs with the shell's own.
func completionCandidates(serverVerbs []string) []string {
	c := slices.Concat(serverVerbs, shellVerbs)
	slices.Sort(c)
	return slices.Compact(c)
}

// completeFirstWord completes the command word at the cursor. It returns
// the new line and cursor, and the candidates to list when the word is
// ambiguous and cannot be extended. ok is false when the cursor is not in
// the first word, so the key is left alone.
func completeFirstWord(line string, pos int, cands []string) (newLine string, newPos int, list []string, ok bool) {
	before := line[:pos]
	word := strings.TrimLeftFunc(before, unicode.IsSpace)
	if strings.ContainsFunc(word, unicode.IsSpace) {
		return line, pos, nil, false
	}
	var matches []string
	for _, c := range cands {
		if strings.HasPrefix(c, word) {
			matches = append(matches, c)
		}
	}
	insert := ""
	switch len(matches) {
	case 0:
		return line, pos, nil, true
	case 1:
		insert = matches[0][len(word):]
		if pos == len(line) || !unicode.IsSpace(rune(line[pos])) {
			insert += " "
		}
	default:
		prefix := matches[0]
		for _, m := range matches[1:] {
			for !strings.HasPrefix(m, prefix) {
				prefix = prefix[:len(prefix)-1]
			}
		}
		insert = prefix[len(word):]
		if insert == "" {
			list = matches
		}
	}
	return before + insert + line[pos:], pos + len(insert), list, true
}
