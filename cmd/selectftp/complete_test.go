package main

import (
	"slices"
	"testing"
)

func TestCompleteFirstWord(t *testing.T) {
	cands := completionCandidates([]string{"put", "get", "helps", "upper", "purge"})
	if want := []string{"?", "exit", "get", "help", "helps", "purge", "put", "quit", "upper"}; !slices.Equal(cands, want) {
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
