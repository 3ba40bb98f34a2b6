package fileop

import (
	"maps"
	"slices"
	"strings"
	"testing"

	"github.com/selectftp/selectftp/sdk"
)

// One-letter options group as in ls -la, for the options each verb has;
// anything else is a bad request that names the letter.
func TestParseGroupedFlags(t *testing.T) {
	ls := []Flag{{Short: "-l", Param: "long"}, {Short: "-a", Param: "all"}}
	sum := []Flag{{Short: "-c", Param: "checksum", Value: true}, {Short: "-q", Param: "quiet"}}
	for _, tc := range []struct {
		verb  string
		flags []Flag
		args  []string
		set   string // "param=value" sorted, space-separated
		paths []string
		err   string // part of the message of a bad_request
	}{
		{"ls", ls, []string{"-la", "d"}, "all=true long=true", []string{"d"}, ""},
		{"ls", ls, []string{"-al"}, "all=true long=true", nil, ""},
		{"ls", ls, []string{"-l", "-a", "x", "y"}, "all=true long=true", []string{"x", "y"}, ""},
		{"ls", ls, []string{"-ll"}, "long=true", nil, ""},
		{"ls", ls, []string{"--", "-la"}, "", []string{"-la"}, ""},
		{"ls", ls, []string{"--long", "-"}, "long=true", []string{"-"}, ""},
		{"ls", ls, []string{"-lx"}, "", nil, `unknown option "-x" in "-lx"`},
		{"ls", ls, []string{"-lé"}, "", nil, `unknown option "-é" in "-lé"`},
		{"ls", ls, []string{"-x"}, "", nil, `unknown option "-x"`},
		{"ls", ls, []string{"--lx"}, "", nil, `unknown option "--lx"`},
		{"mkdir", []Flag{{Short: "-p", Param: "parents"}}, []string{"-pp", "a/b"}, "parents=true", []string{"a/b"}, ""},
		{"rm", []Flag{{Short: "-r", Param: "recursive"}}, []string{"-rf", "d"}, "", nil, `rm: unknown option "-f" in "-rf"`},
		{"rm", []Flag{{Short: "-r", Param: "recursive"}}, []string{"-r", "d"}, "recursive=true", []string{"d"}, ""},
		{"mv", []Flag{{Short: "-n", Param: "no_clobber"}}, []string{"-nl", "a", "b"}, "", nil, `mv: unknown option "-l" in "-nl"`},
		{"sum", sum, []string{"-qc", "sha256", "f"}, "checksum=sha256 quiet=true", []string{"f"}, ""},
		{"sum", sum, []string{"-cq", "sha256", "f"}, "", nil, `-c takes a value, so it must end the group "-cq"`},
		{"sum", sum, []string{"-qc"}, "", nil, `sum: -c needs a value`},
	} {
		a, err := Parse(&sdk.Request{Args: tc.args}, tc.verb, tc.flags...)
		if tc.err != "" {
			if sdk.CodeOf(err) != sdk.CodeBadRequest || !strings.Contains(sdk.MessageOf(err), tc.err) {
				t.Errorf("%s %q: %v, want bad_request with %q", tc.verb, tc.args, err, tc.err)
			}
			continue
		}
		if err != nil {
			t.Errorf("%s %q: %v", tc.verb, tc.args, err)
			continue
		}
		var set []string
		for _, k := range slices.Sorted(maps.Keys(a.set)) {
			set = append(set, k+"="+a.set[k])
		}
		if strings.Join(set, " ") != tc.set || !slices.Equal(a.Paths, tc.paths) {
			t.Errorf("%s %q: options %q, paths %q; want %q, %q", tc.verb, tc.args, set, a.Paths, tc.set, tc.paths)
		}
	}
}
