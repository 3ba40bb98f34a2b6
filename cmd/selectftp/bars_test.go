package main

import (
	"bytes"
	"strings"
	"sync"
	"testing"
	"time"
)

// syncBuffer is a terminal stand-in written by mpb's goroutine.
type syncBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (s *syncBuffer) Write(p []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.Write(p)
}

func (s *syncBuffer) String() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.String()
}

// waitOutput polls, within a bound, until out holds every text.
func waitOutput(t *testing.T, out *syncBuffer, texts ...string) {
	t.Helper()
	deadline := time.Now().Add(5 * time.Second)
	for {
		s := cleanTTY([]byte(out.String()))
		missing := ""
		for _, x := range texts {
			if !strings.Contains(s, x) {
				missing = x
				break
			}
		}
		if missing == "" {
			return
		}
		if time.Now().After(deadline) {
			t.Fatalf("no %q on the terminal; it shows:\n%s", missing, s)
		}
		time.Sleep(10 * time.Millisecond) // polling mpb's redraws
	}
}

// Two transfers at once: a line each and a total line summing them; a
// stream's line has bytes and no fraction; output written meanwhile goes
// above the bars; the last finish stops drawing.
func TestBarSetTwoTransfersAndTotal(t *testing.T) {
	var out syncBuffer
	b := newBarSet(&out, func() int { return 100 })
	up1, fin1 := b.add("get a.bin")
	up2, fin2 := b.add("put -")
	up1(1<<20, 4<<20)
	up2(3<<20, -1)
	waitOutput(t, &out, "get a.bin  [", "25%  1.0 MiB / 4.0 MiB", "put -  3.0 MiB  ", "total (2 running)  4.0 MiB  ")

	w := b.writer()
	if _, err := w.Write([]byte("put: x -> y (1 B in 1ms, 1.0 KiB/s)\n")); err != nil {
		t.Fatal(err)
	}
	waitOutput(t, &out, "put: x -> y (1 B")

	up1(4<<20, 4<<20)
	if n := fin1(); n != 4<<20 {
		t.Errorf("finish returned %d", n)
	}
	if fin1() != 4<<20 {
		t.Error("a second finish changed the count")
	}
	if fin2() != 3<<20 {
		t.Error("stream's finish count")
	}
	if b.p != nil {
		t.Fatal("the container still runs after the last transfer")
	}
	// Now nothing is drawn: a write goes straight through.
	before := out.String()
	w.Write([]byte("after\n"))
	if out.String() != before+"after\n" {
		t.Fatalf("write after the bars: %q", strings.TrimPrefix(out.String(), before))
	}
}

// One transfer: no total line.
func TestBarSetOneTransferNoTotal(t *testing.T) {
	var out syncBuffer
	b := newBarSet(&out, func() int { return 100 })
	up, fin := b.add("get only")
	up(10, 100)
	waitOutput(t, &out, "get only  [")
	fin()
	if strings.Contains(out.String(), "total") {
		t.Fatalf("a total line for one transfer:\n%s", cleanTTY([]byte(out.String())))
	}
}
