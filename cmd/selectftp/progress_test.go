package main

import (
	"testing"
	"time"
)

func TestRenderProgress(t *testing.T) {
	const MiB = 1 << 20
	tests := []struct {
		label       string
		done, total int64
		elapsed     time.Duration
		width       int
		want        string
	}{
		{
			"put a.bin", 50 * MiB, 100 * MiB, 5 * time.Second, 80,
			"put a.bin  [========>       ]   50%  50.0 MiB / 100.0 MiB  10.0 MiB/s  ETA 0:05",
		},
		{
			"get x", 0, 2048, 0, 60,
			"get x  [>           ]    0%  0 B / 2.0 KiB  --/s  ETA --:--",
		},
		{
			"get x", 2048, 2048, time.Second, 60,
			"get x  100%  2.0 KiB / 2.0 KiB  2.0 KiB/s  ETA 0:00",
		},
		{
			"get empty", 0, 0, time.Second, 60,
			"get empty  [============]  100%  0 B / 0 B  0 B/s  ETA 0:00",
		},
		{
			"put big", 1 * MiB, 8192 * MiB, 10 * time.Second, 120,
			"put big  [>                                       ]    0%  1.0 MiB / 8.0 GiB  102.4 KiB/s  ETA 22:45:10",
		},
		{
			"put -", 3 * MiB, -1, 2 * time.Second, 80,
			"put -  3.0 MiB  1.5 MiB/s",
		},
		{ // too narrow for a bar: it goes first
			"put a.bin", 50 * MiB, 100 * MiB, 5 * time.Second, 60,
			"put a.bin   50%  50.0 MiB / 100.0 MiB  10.0 MiB/s  ETA 0:05",
		},
		{ // then the label shrinks
			"put a-very-long-file-name.bin", 50 * MiB, 100 * MiB, 5 * time.Second, 60,
			"put a-ve…   50%  50.0 MiB / 100.0 MiB  10.0 MiB/s  ETA 0:05",
		},
		{ // wide characters count twice
			"put 文件文件文件文件文件文件", 50 * MiB, 100 * MiB, 5 * time.Second, 64,
			"put 文件文件…   50%  50.0 MiB / 100.0 MiB  10.0 MiB/s  ETA 0:05",
		},
		{ // and in the end only the numbers are left, cut
			"put a.bin", 50 * MiB, 100 * MiB, 5 * time.Second, 20,
			" 50%  50.0 MiB / 10",
		},
		{
			"get 文件", 1536, 3072, time.Second, 70,
			"get 文件  [=====>     ]   50%  1.5 KiB / 3.0 KiB  1.5 KiB/s  ETA 0:01",
		},
	}
	for _, tt := range tests {
		got := renderProgress(tt.label, tt.done, tt.total, tt.elapsed, tt.width)
		if got != tt.want {
			t.Errorf("renderProgress(%q, %d, %d, %v, %d) =\n%q, want\n%q", tt.label, tt.done, tt.total, tt.elapsed, tt.width, got, tt.want)
		}
		if n := columns(got); n >= tt.width {
			t.Errorf("%q is %d columns, not under %d", got, n, tt.width)
		}
	}
}

func TestFormatSize(t *testing.T) {
	for n, want := range map[int64]string{0: "0 B", 1023: "1023 B", 1024: "1.0 KiB", 1536: "1.5 KiB", 5 << 30: "5.0 GiB", 3 << 40: "3.0 TiB", 5000 << 40: "5000.0 TiB"} {
		if got := formatSize(n); got != want {
			t.Errorf("formatSize(%d) = %q, want %q", n, got, want)
		}
	}
}

// A stream's summary says how much went and how fast, since no bar showed
// a total.
func TestRenderSummary(t *testing.T) {
	got := renderSummary("put", "stdin", "dir.tar", 3<<20, 2*time.Second)
	if want := "put: stdin -> dir.tar (3.0 MiB in 2s, 1.5 MiB/s)"; got != want {
		t.Errorf("got  %q\nwant %q", got, want)
	}
}
