package main

import (
	"errors"
	"strings"
	"unicode"
)

// splitWords splits a command line into words the way a POSIX shell does,
// without any expansion, so that names with spaces can be typed:
// whitespace separates words; 'single quotes' keep everything literally;
// "double quotes" keep everything but \" \\ \$ \` (a backslash before any
// other character stays); outside quotes a backslash makes the next
// character literal. "" makes an empty word.
func splitWords(line string) ([]string, error) {
	var (
		words  []string
		cur    strings.Builder
		inWord bool
	)
	rs := []rune(line)
	for i := 0; i < len(rs); i++ {
		r := rs[i]
		switch {
		case unicode.IsSpace(r):
			if inWord {
				words = append(words, cur.String())
				cur.Reset()
				inWord = false
			}
		case r == '\\':
			i++
			if i == len(rs) {
				return nil, errors.New("backslash at the end of the line")
			}
			cur.WriteRune(rs[i])
			inWord = true
		case r == '\'':
			end := i + 1
			for end < len(rs) && rs[end] != '\'' {
				end++
			}
			if end == len(rs) {
				return nil, errors.New("unterminated single quote")
			}
			cur.WriteString(string(rs[i+1 : end]))
			i = end
			inWord = true
		case r == '"':
			i++
			for ; i < len(rs) && rs[i] != '"'; i++ {
				if rs[i] == '\\' && i+1 < len(rs) && strings.ContainsRune("\"\\$`", rs[i+1]) {
					i++
				}
				cur.WriteRune(rs[i])
			}
			if i == len(rs) {
				return nil, errors.New("unterminated double quote")
			}
			inWord = true
		default:
			cur.WriteRune(r)
			inWord = true
		}
	}
	if inWord {
		words = append(words, cur.String())
	}
	return words, nil
}
