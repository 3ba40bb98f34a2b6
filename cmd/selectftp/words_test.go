package main

import (
	"slices"
	"testing"
)

func TestSplitWords(t *testing.T) {
	tests := []struct {
		in      string
		want    []string
		wantErr string
	}{
		{in: "", want: nil},
		{in: "   \t ", want: nil},
		{in: "put a.txt", want: []string{"put", "a.txt"}},
		{in: "  put\t a.txt   b  ", want: []string{"put", "a.txt", "b"}},
		{in: `put "my file.txt"`, want: []string{"put", "my file.txt"}},
		{in: `put 'my file.txt' remote`, want: []string{"put", "my file.txt", "remote"}},
		{in: `put my\ file.txt`, want: []string{"put", "my file.txt"}},
		{in: `a"b c"d`, want: []string{"ab cd"}},
		{in: `'it''s'`, want: []string{"its"}},
		{in: `"it's"`, want: []string{"it's"}},
		{in: `'say "hi"'`, want: []string{`say "hi"`}},
		{in: `"say \"hi\""`, want: []string{`say "hi"`}},
		{in: `"back\\slash"`, want: []string{`back\slash`}},
		{in: `"keep \n"`, want: []string{`keep \n`}},
		{in: `'no \escape'`, want: []string{`no \escape`}},
		{in: `\'quoted\'`, want: []string{`'quoted'`}},
		{in: `upper "" x`, want: []string{"upper", "", "x"}},
		{in: `upper ''`, want: []string{"upper", ""}},
		{in: "get 文件.txt 'ファイル 名'", want: []string{"get", "文件.txt", "ファイル 名"}},
		{in: `é\ü "ß"`, want: []string{"éü", "ß"}},
		{in: `put "unterminated`, wantErr: "unterminated double quote"},
		{in: `put 'unterminated`, wantErr: "unterminated single quote"},
		{in: `put "a\"`, wantErr: "unterminated double quote"},
		{in: `put a\`, wantErr: "backslash at the end of the line"},
	}
	for _, tt := range tests {
		got, err := splitWords(tt.in)
		if tt.wantErr != "" {
			if err == nil || err.Error() != tt.wantErr {
				t.Errorf("splitWords(%q) error = %v, want %q", tt.in, err, tt.wantErr)
			}
			continue
		}
		if err != nil || !slices.Equal(got, tt.want) {
			t.Errorf("splitWords(%q) = %q, %v; want %q", tt.in, got, err, tt.want)
		}
	}
}
