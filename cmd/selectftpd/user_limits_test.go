package main

import (
	"path/filepath"
	"strings"
	"testing"

	"github.com/selectftp/selectftp/host/auth"
	"github.com/selectftp/selectftp/host/users"
)

// user add takes every limit, sizes with suffixes, and list shows them.
func TestUserAddLimits(t *testing.T) {
	file := filepath.Join(t.TempDir(), "users.json")
	code, _, e := userRun(t, "pw\n", "add", "--users", file, "alice", "--max-conns", "2", "--rate-up", "512K",
		"--rate-down", "1M/s", "--quota-bytes", "1G", "--quota-files", "100", "--max-file-size", "8M")
	if code != 0 {
		t.Fatalf("add: %d %s", code, e)
	}
	f, err := users.Load(file)
	if err != nil {
		t.Fatal(err)
	}
	a, _ := f.Lookup("alice")
	want := auth.Limits{MaxConns: 2, RateUp: 512 << 10, RateDown: 1 << 20, QuotaBytes: 1 << 30, QuotaFiles: 100, MaxFileSize: 8 << 20}
	if a.Limits != want {
		t.Fatalf("limits %+v, want %+v", a.Limits, want)
	}
	_, out, _ := userRun(t, "", "list", "--users", file)
	if !strings.Contains(out, "conns=2 up=512K down=1M quota=1G files=100 max_file=8M") {
		t.Fatalf("list does not show the limits:\n%s", out)
	}
}

// A bad limit is a usage error naming the flag, and adds nobody.
func TestUserAddBadLimits(t *testing.T) {
	file := filepath.Join(t.TempDir(), "users.json")
	for _, tc := range []struct{ flag, value string }{
		{"--max-conns", "-1"}, {"--max-conns", "two"}, {"--quota-files", "1.5"},
		{"--rate-up", "fast"}, {"--quota-bytes", "-5M"}, {"--max-file-size", "8M/s"},
	} {
		code, _, e := userRun(t, "pw\n", "add", "--users", file, "alice", tc.flag, tc.value)
		if code != 2 || !strings.Contains(e, tc.flag) {
			t.Errorf("%s %s: exit %d, %q; want 2 naming the flag", tc.flag, tc.value, code, e)
		}
	}
	if f, err := users.Load(file); err == nil && len(f.List()) != 0 {
		t.Fatal("a refused add left a user")
	}
}
