package loadgen

// ParseRate reads a rate in bytes/s with ParseSize's units (powers of
// 1000, as the bench's tables count) and an optional "/s": "100M",
// "100MB/s", "64MiB". "" and "0" mean unlimited (0). Pacing itself is
// internal/ratelimit's, shared with the CLI's --limit-rate.
func ParseRate(s string) (int64, error) {
	if s == "" {
		return 0, nil
	}
	t := s
	if len(t) > 2 && t[len(t)-2:] == "/s" {
		t = t[:len(t)-2]
	}
	return ParseSize(t)
}
