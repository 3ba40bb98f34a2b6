package plugins_test

import (
	"slices"
	"testing"

	"github.com/selectftp/selectftp/plugins"
)

func TestStandardDescribeTheirVerbs(t *testing.T) {
	want := []string{"cd", "get", "helps", "ls", "mkdir", "mv", "put", "pwd", "rm", "stat", "sum", "upper"}
	if got := plugins.Verbs(); !slices.Equal(got, want) {
		t.Fatalf("Verbs() = %v, want %v", got, want)
	}
	cmds := plugins.Standard()
	if len(cmds) != len(want) {
		t.Fatalf("%d commands, want %d", len(cmds), len(want))
	}
	for i, c := range cmds {
		if d := c.Describe(); d.Verb != want[i] || d.Summary == "" || d.Usage == "" {
			t.Errorf("command %d describes itself as %+v", i, d)
		}
		if c2, ok := plugins.New(want[i]); !ok || c2.Describe().Verb != want[i] {
			t.Errorf("New(%q) = %v, %v", want[i], c2, ok)
		}
	}
	if _, ok := plugins.New("chmod"); ok {
		t.Error(`New("chmod") found a verb that is not standard`)
	}
}
