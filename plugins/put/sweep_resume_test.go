package put

import (
	"os"
	"testing"
	"time"

	"github.com/selectftp/selectftp/plugins/internal/staging"
	"github.com/selectftp/selectftp/sdk"
	"github.com/selectftp/selectftp/sdk/sdktest"
)

// A resumable upload's partial waits resume_ttl for its resume: sweeps
// (the first of a root too, which takes any unheld ordinary staging file)
// remove it only once it is older and nobody holds it; 0s keeps it for
// ever. Ordinary staging files keep their rule.
func TestSweepResumable(t *testing.T) {
	type file struct {
		name string
		age  time.Duration
		held bool
		kept bool
	}
	r := staging.ResumeName
	tests := []struct {
		name     string
		settings map[string]any
		files    []file
	}{
		{"default 24h", nil, []file{
			{r("old"), 25 * time.Hour, false, false},
			{r("day"), 23 * time.Hour, false, true},
			{r("fresh"), 0, false, true},
			{r("live"), 48 * time.Hour, true, true},
			{staging.Name(), 0, false, false}, // today's rule: any unheld one at start-up
		}},
		{"2h", map[string]any{"resume_ttl": "2h"}, []file{
			{r("stale"), 3 * time.Hour, false, false},
			{r("fresh"), time.Hour, false, true},
			{r("live"), 3 * time.Hour, true, true},
		}},
		{"0s keeps them for ever", map[string]any{"resume_ttl": "0s"}, []file{
			{r("ancient"), 1000 * time.Hour, false, true},
			{staging.Name(), 0, false, false},
		}},
	}
	for _, tt := range tests {
		cmd := New()
		if err := cmd.(sdk.Configurer).Configure(t.Context(), tt.settings); err != nil {
			t.Fatal(err)
		}
		dir := t.TempDir()
		want := []string{"x"}
		for _, f := range tt.files {
			mkStaged(t, dir, f.name, f.age, f.held)
			if f.kept {
				want = append(want, f.name)
			}
		}
		req := uploadReq("x", []byte("x")) // the first put to the root sweeps it
		req.Root = dir
		if res := sdktest.Run(t, cmd, req); res.Err != nil {
			t.Fatal(res.Err)
		}
		t.Run(tt.name, func(t *testing.T) { expectFiles(t, dir, want...) })
	}
}

// A periodic sweep (not the first of a root) keeps the same rule.
func TestPeriodicSweepResumable(t *testing.T) {
	dir := t.TempDir()
	mkStaged(t, dir, staging.ResumeName("stale"), 3*time.Hour, false)
	mkStaged(t, dir, staging.ResumeName("fresh"), time.Hour, false)
	mkStaged(t, dir, staging.ResumeName("live"), 3*time.Hour, true)
	root, err := os.OpenRoot(dir)
	if err != nil {
		t.Fatal(err)
	}
	defer root.Close()
	if r := sweep(root, sweepOpts{now: time.Now(), budget: 100, resumeTTL: 2 * time.Hour}); r.removed != 1 {
		t.Errorf("removed %d, want 1", r.removed)
	}
	expectFiles(t, dir, staging.ResumeName("fresh"), staging.ResumeName("live"))
}

func TestResumeTTLSetting(t *testing.T) {
	for _, bad := range []any{"-1h", "soon", true} {
		if err := New().(sdk.Configurer).Configure(t.Context(), map[string]any{"resume_ttl": bad}); err == nil {
			t.Errorf("resume_ttl %v accepted", bad)
		}
	}
}
