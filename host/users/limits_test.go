package users

import (
	"path/filepath"
	"strings"
	"testing"

	"github.com/selectftp/selectftp/host/auth"
)

// Limits survive a save and a load, and an account without limits writes
// no "limits" object (files from before limits stay byte for byte).
func TestLimitsRoundTrip(t *testing.T) {
	path := filepath.Join(t.TempDir(), "users.json")
	f := New(path)
	a := account(t, "alice", "pw")
	want := auth.Limits{MaxConns: 2, RateUp: 512 << 10, RateDown: 1 << 20, QuotaBytes: 1 << 30, QuotaFiles: 100, MaxFileSize: 8 << 20}
	a.Limits = want
	if err := f.Add(a); err != nil {
		t.Fatal(err)
	}
	if err := f.Add(account(t, "bob", "pw")); err != nil {
		t.Fatal(err)
	}
	if err := f.Save(); err != nil {
		t.Fatal(err)
	}
	g, err := Load(path)
	if err != nil {
		t.Fatal(err)
	}
	got, _ := g.Lookup("alice")
	if got.Limits != want {
		t.Fatalf("alice's limits came back as %+v, want %+v", got.Limits, want)
	}
	bob, _ := g.Lookup("bob")
	if !bob.Limits.IsZero() {
		t.Fatalf("bob got limits %+v", bob.Limits)
	}
	if p := validUser(t, "bob"); strings.Contains(p, "limits") {
		t.Fatalf("an account without limits writes them: %s", p)
	}
}

// A typo in a limit's name or a negative limit refuses the file: a
// skipped "quota_byte" would silently give the user no quota.
func TestLimitsParseRefuses(t *testing.T) {
	good := validUser(t, "alice")
	with := func(limits string) string {
		return `{"users":[` + strings.Replace(good, `"perms"`, `"limits": `+limits+`, "perms"`, 1) + `]}`
	}
	if _, err := Parse([]byte(with(`{"quota_bytes": 1024, "max_conns": 1}`))); err != nil {
		t.Fatalf("valid limits refused: %v", err)
	}
	for _, tc := range []struct{ name, limits, want string }{
		{"unknown limit", `{"quota_byte": 1024}`, `"quota_byte"`},
		{"negative", `{"rate_up": -1}`, "rate_up"},
		{"not a number", `{"max_file_size": "8M"}`, "max_file_size"},
	} {
		_, err := Parse([]byte(with(tc.limits)))
		if err == nil || !strings.Contains(err.Error(), tc.want) {
			t.Errorf("%s: err = %v, want one naming %s", tc.name, err, tc.want)
		}
	}
}
