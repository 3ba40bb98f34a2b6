package main

import (
	"fmt"
	"strings"
	"time"

	"golang.org/x/text/width"
)

// progressInterval limits redraws: a terminal redrawn more often than ten
// times a second only flickers and costs time on slow links.
const progressInterval = 100 * time.Millisecond

// renderSummary is the line left after a transfer: where it went, how much
// and how fast, which a stream's user has no other way to learn.
//
//	put: stdin -> dir.tar (1.2 GiB in 3.456s, 355.6 MiB/s)
func renderSummary(verb, from, to string, n int64, elapsed time.Duration) string {
	rate := ""
	if elapsed > 0 {
		rate = ", " + formatSize(int64(float64(n)/elapsed.Seconds())) + "/s"
	}
	return fmt.Sprintf("%s: %s -> %s (%s in %s%s)", verb, from, to, formatSize(n), elapsed.Round(time.Millisecond), rate)
}

// renderProgress formats the bar for a terminal width columns wide:
//
//	put big.iso  [=======>      ]  52%  1.0 GiB / 2.0 GiB  110.0 MiB/s  ETA 0:09
//
// The result is kept under width so the terminal never wraps it: the bar
// shrinks or goes first, then the label is shortened.
func renderProgress(label string, done, total int64, elapsed time.Duration, width int) string {
	rate := 0.0
	if elapsed > 0 {
		rate = float64(done) / elapsed.Seconds()
	}
	rateText := "--/s"
	if elapsed >= 200*time.Millisecond { // earlier rates are noise
		rateText = formatSize(int64(rate)) + "/s"
	}
	var stats string
	frac := -1.0
	if total >= 0 {
		frac = 1
		if total > 0 {
			frac = min(float64(done)/float64(total), 1)
		}
		eta := "--:--"
		if done >= total {
			eta = formatETA(0)
		} else if rateText != "--/s" && rate > 0 {
			eta = formatETA(time.Duration(float64(max(total-done, 0)) / rate * float64(time.Second)))
		}
		stats = fmt.Sprintf("%3d%%  %s / %s  %s  ETA %s", int(frac*100), formatSize(done), formatSize(total), rateText, eta)
	} else {
		stats = fmt.Sprintf("%s  %s", formatSize(done), rateText)
	}

	room := width - 1 // the last column would make some terminals wrap
	labelLen := columns(label)
	if barLen := room - labelLen - len(stats) - 4 - 2; frac >= 0 && barLen >= 10 {
		return label + "  " + bar(frac, min(barLen, 40)) + "  " + stats
	}
	if labelLen+2+len(stats) <= room {
		return label + "  " + stats
	}
	if keep := room - 2 - len(stats) - 1; keep >= 4 {
		return truncateColumns(label, keep) + "…  " + stats
	}
	return truncateColumns(stats, max(room, 0))
}

// bar draws frac (0..1) as [====>    ] with inner characters in all.
func bar(frac float64, inner int) string {
	filled := int(frac * float64(inner))
	var b strings.Builder
	b.WriteByte('[')
	b.WriteString(strings.Repeat("=", filled))
	if filled < inner {
		b.WriteByte('>')
		b.WriteString(strings.Repeat(" ", inner-filled-1))
	}
	b.WriteByte(']')
	return b.String()
}

// columns is how many terminal columns s takes: East Asian wide characters
// (file names in Chinese or Japanese, say) take two.
func columns(s string) int {
	n := 0
	for _, r := range s {
		n += runeColumns(r)
	}
	return n
}

func runeColumns(r rune) int {
	switch width.LookupRune(r).Kind() {
	case width.EastAsianWide, width.EastAsianFullwidth:
		return 2
	}
	return 1
}

// truncateColumns cuts s to at most n columns.
func truncateColumns(s string, n int) string {
	used := 0
	for i, r := range s {
		used += runeColumns(r)
		if used > n {
			return s[:i]
		}
	}
	return s
}

// formatSize prints a byte count with binary units, one decimal.
func formatSize(n int64) string {
	if n < 1024 {
		return fmt.Sprintf("%d B", n)
	}
	v := float64(n)
	for _, unit := range []string{"KiB", "MiB", "GiB", "TiB"} {
		v /= 1024
		if v < 1024 || unit == "TiB" {
			return fmt.Sprintf("%.1f %s", v, unit)
		}
	}
	panic("unreachable")
}

// formatETA prints m:ss, or h:mm:ss from an hour up.
func formatETA(d time.Duration) string {
	s := int64(d.Round(time.Second) / time.Second)
	if s >= 3600 {
		return fmt.Sprintf("%d:%02d:%02d", s/3600, s/60%60, s%60)
	}
	return fmt.Sprintf("%d:%02d", s/60, s%60)
}
