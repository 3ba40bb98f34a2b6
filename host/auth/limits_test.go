package auth

import "testing"

func TestParseSize(t *testing.T) {
	for in, want := range map[string]int64{"0": 0, "4096": 4096, "8M": 8 << 20, "1.5G": 3 << 29, "512k": 512 << 10, "2MiB": 2 << 20} {
		if got, err := ParseSize(in); err != nil || got != want {
			t.Errorf("ParseSize(%q) = %d, %v; want %d", in, got, err, want)
		}
	}
	for _, bad := range []string{"", "-1", "8X", "8M/s", "lots"} {
		if _, err := ParseSize(bad); err == nil {
			t.Errorf("ParseSize(%q) took it", bad)
		}
	}
	if got, err := ParseRate("512K/s"); err != nil || got != 512<<10 {
		t.Errorf("ParseRate(512K/s) = %d, %v", got, err)
	}
	for n, want := range map[int64]string{8 << 20: "8M", 1000: "1000", 3 << 29: "1536M", 1 << 40: "1T"} {
		if got := FormatSize(n); got != want {
			t.Errorf("FormatSize(%d) = %q, want %q", n, got, want)
		}
	}
	l := Limits{MaxConns: 2, RateUp: 512 << 10, QuotaBytes: 1 << 30}
	if s := l.String(); s != "conns=2 up=512K quota=1G" {
		t.Errorf("String = %q", s)
	}
	if err := (Limits{QuotaFiles: -1}).Check(); err == nil {
		t.Error("a negative quota passed Check")
	}
}
