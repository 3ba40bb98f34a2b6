package auth

import (
	"fmt"
	"strconv"
	"strings"

	"github.com/selectftp/selectftp/internal/ratelimit"
)

// Limits bound what one user may take of the server. Every field's zero
// is "no limit", so an account without limits is unchanged. The host
// enforces them, not the commands: it counts the user's sessions at
// login, paces every byte of their bodies and downloads, and writes every
// upload body itself, so no plugin can store more than a quota allows.
type Limits struct {
	// MaxConns is how many sessions the user may have logged in at once.
	MaxConns int
	// RateUp and RateDown are bytes per second, shared by all the user's
	// sessions: a second connection does not double the rate.
	RateUp, RateDown int64
	// QuotaBytes and QuotaFiles bound what the user's tree holds: the
	// bytes of its regular files and their number.
	QuotaBytes, QuotaFiles int64
	// MaxFileSize is the largest file an upload may make.
	MaxFileSize int64
}

// IsZero reports whether l limits nothing.
func (l Limits) IsZero() bool { return l == Limits{} }

// HasQuota reports whether l bounds the user's stored bytes or files, so
// the host must know their usage.
func (l Limits) HasQuota() bool { return l.QuotaBytes > 0 || l.QuotaFiles > 0 }

// Check refuses a negative limit, naming it.
func (l Limits) Check() error {
	for _, f := range []struct {
		name string
		v    int64
	}{{"max_conns", int64(l.MaxConns)}, {"rate_up", l.RateUp}, {"rate_down", l.RateDown},
		{"quota_bytes", l.QuotaBytes}, {"quota_files", l.QuotaFiles}, {"max_file_size", l.MaxFileSize}} {
		if f.v < 0 {
			return fmt.Errorf("limits: %s is %d; want 0 (no limit) or more", f.name, f.v)
		}
	}
	return nil
}

// String is the limits as `user list` prints them: "conns=2 up=512K
// quota=1G", "-" for none.
func (l Limits) String() string {
	var s []string
	add := func(name string, v int64, size bool) {
		if v > 0 {
			t := strconv.FormatInt(v, 10)
			if size {
				t = FormatSize(v)
			}
			s = append(s, name+"="+t)
		}
	}
	add("conns", int64(l.MaxConns), false)
	add("up", l.RateUp, true)
	add("down", l.RateDown, true)
	add("quota", l.QuotaBytes, true)
	add("files", l.QuotaFiles, false)
	add("max_file", l.MaxFileSize, true)
	if len(s) == 0 {
		return "-"
	}
	return strings.Join(s, " ")
}

// ParseSize reads a byte count as the CLI takes it: a number with an
// optional K, M, G or T suffix (powers of 1024, either case, an optional
// "B" or "iB"): "8M", "1.5G", "4096". "0" is no limit.
func ParseSize(s string) (int64, error) {
	if strings.HasSuffix(strings.TrimSpace(s), "/s") {
		return 0, fmt.Errorf("invalid size %q: want bytes such as 8M or 1G", s)
	}
	n, err := ratelimit.Parse(s)
	if err != nil {
		return 0, fmt.Errorf("invalid size %q: want bytes such as 8M or 1G", s)
	}
	return n, nil
}

// ParseRate reads bytes per second as ParseSize reads bytes, "/s"
// allowed: "512K", "8M/s".
func ParseRate(s string) (int64, error) {
	return ratelimit.Parse(s)
}

// FormatSize is ParseSize's inverse for exact multiples: 8388608 is "8M",
// 1000 stays "1000".
func FormatSize(n int64) string {
	for _, u := range []struct {
		suffix string
		shift  uint
	}{{"T", 40}, {"G", 30}, {"M", 20}, {"K", 10}} {
		if n >= 1<<u.shift && n%(1<<u.shift) == 0 {
			return strconv.FormatInt(n>>u.shift, 10) + u.suffix
		}
	}
	return strconv.FormatInt(n, 10)
}
