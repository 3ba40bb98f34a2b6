package main

import (
	"slices"
	"strings"
	"testing"
)

func TestCompleteFirstWord(t *testing.T) {
	cands := completionCandidates([]string{"put", "get", "helps", "upper", "purge"})
	if want := []string{"?", "exit", "get", "help", "helps", "lcd", "lls", "lpwd", "purge", "put", "quit", "upper"}; !slices.Equal(cands, want) {
		t.Fatalf("candidates = %q", cands)
	}
	tests := []struct {
		line     string
		pos      int
		wantLine string
		wantPos  int
		wantList []string
		wantOK   bool
	}{
		{"ge", 2, "get ", 4, nil, true},
		{"  up", 4, "  upper ", 8, nil, true},
		{"pu", 2, "pu", 2, []string{"purge", "put"}, true},
		{"pur", 3, "purge ", 6, nil, true},
		{"h", 1, "help", 4, nil, true}, // common prefix of help, helps
		{"help", 4, "help", 4, []string{"help", "helps"}, true},
		{"", 0, "", 0, cands, true},
		{"zz", 2, "zz", 2, nil, true},            // nothing matches: swallow the Tab
		{"get fi", 6, "get fi", 6, nil, false},   // not the first word
		{"ge file", 2, "get file", 3, nil, true}, // cursor inside the line
		{"qu", 2, "quit ", 5, nil, true},
	}
	for _, tt := range tests {
		line, pos, list, ok := completeFirstWord(tt.line, tt.pos, cands)
		if line != tt.wantLine || pos != tt.wantPos || !slices.Equal(list, tt.wantList) || ok != tt.wantOK {
			t.Errorf("completeFirstWord(%q, %d) = %q, %d, %q, %v; want %q, %d, %q, %v",
				tt.line, tt.pos, line, pos, list, ok, tt.wantLine, tt.wantPos, tt.wantList, tt.wantOK)
		}
	}
}

// fakeLister serves folders from a map, recording what it was asked.
type fakeLister struct {
	dirs  map[string][]pathEntry
	asked []string
}

func (f *fakeLister) list(dir, prefix string) ([]pathEntry, error) {
	f.asked = append(f.asked, dir)
	var out []pathEntry
	for _, e := range f.dirs[dir] {
		if strings.HasPrefix(e.name, prefix) {
			out = append(out, e)
		}
	}
	return out, nil
}

func TestCompletePaths(t *testing.T) {
	remote := &fakeLister{dirs: map[string][]pathEntry{
		"":     {{"sub", true}, {"small.txt", false}, {"smaller.txt", false}, {"my file", false}},
		"sub/": {{"file.txt", false}, {"deep", true}},
		"/":    {{"sub", true}},
	}}
	local := &fakeLister{dirs: map[string][]pathEntry{
		"":    {{"local.txt", false}, {"ldir", true}},
		"../": {{"up.txt", false}},
	}}
	c := &completer{verbs: completionCandidates([]string{"get", "put", "ls", "upper", "helps"}), remote: remote.list, local: local.list}
	tests := []struct {
		line, wantLine string
		wantList       []string
	}{
		{"get sub/fi", "get sub/file.txt ", nil},
		{"get sub/", "get sub/", []string{"deep/", "file.txt"}},
		{"get s", "get s", []string{"small.txt", "smaller.txt", "sub/"}},
		{"get sm", "get small", nil}, // the common prefix
		{"ls -l su", "ls -l sub/", nil},
		{"get /s", "get /sub/", nil},
		{"get my", `get my\ file `, nil},                            // a space is escaped
		{`get "my f`, `get my\ file `, nil},                         // an open quote is rewritten
		{"get sub/file.txt lo", "get sub/file.txt local.txt ", nil}, // get's LOCAL
		{"put lo", "put local.txt ", nil},
		{"put ../u", "put ../up.txt ", nil},
		{"put local.txt su", "put local.txt sub/", nil}, // put's REMOTE
		{"lcd l", "lcd ldir/", nil},                     // folders only
		{"lls lo", "lls local.txt ", nil},
		{"helps up", "helps upper ", nil},
		{"upper sm", "upper sm", nil}, // not a path: nothing asked
		{"get zz", "get zz", nil},
		{"get -", "get -", nil},
		{"lp", "lpwd ", nil},
	}
	for _, tt := range tests {
		line, pos, list, ok := c.complete(tt.line, len(tt.line))
		if line != tt.wantLine || pos != len(tt.wantLine) || !slices.Equal(list, tt.wantList) || !ok {
			t.Errorf("complete(%q) = %q, %d, %q, %v; want %q, %q", tt.line, line, pos, list, ok, tt.wantLine, tt.wantList)
		}
	}
	for _, d := range remote.asked {
		if d == "upper" {
			t.Errorf("upper's argument was listed")
		}
	}
	// The cursor in the middle: the rest of the line stays.
	line, pos, _, _ := c.complete("get sub/fi x", 10)
	if line != "get sub/file.txt  x" || pos != 17 {
		t.Errorf("mid-line: %q %d", line, pos)
	}
}

func TestPartialWords(t *testing.T) {
	tests := []struct {
		in    string
		words []string
		start int
		cur   string
		ok    bool
	}{
		{"get a", []string{"get"}, 4, "a", true},
		{"get ", []string{"get"}, 4, "", true},
		{`get a\ b`, []string{"get"}, 4, "a b", true},
		{`get 'a b`, []string{"get"}, 4, "a b", true},
		{`put "x y" z`, []string{"put", "x y"}, 10, "z", true},
		{`get a\`, nil, 0, "", false},
		{"", nil, 0, "", true},
	}
	for _, tt := range tests {
		words, start, cur, ok := partialWords(tt.in)
		if !slices.Equal(words, tt.words) || start != tt.start || cur != tt.cur || ok != tt.ok {
			t.Errorf("partialWords(%q) = %q, %d, %q, %v", tt.in, words, start, cur, ok)
		}
	}
}
