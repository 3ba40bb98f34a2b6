package main

import (
	"context"
	"errors"
	"io"
	"testing"
	"time"
)

// A read waiting on a pipe that nobody writes returns once the context
// ends: Ctrl-C during `put -` must not wait for the producer.
func TestStopReaderStopsAWaitingRead(t *testing.T) {
	pr, pw := io.Pipe()
	defer pw.Close()
	ctx, cancel := context.WithCancelCause(context.Background())
	r := newStopReader(ctx, pr)
	go func() { pw.Write([]byte("abc")) }()
	b := make([]byte, 8)
	if n, err := io.ReadAtLeast(r, b, 3); n != 3 || err != nil || string(b[:3]) != "abc" {
		t.Fatalf("read %q %v", b[:n], err)
	}
	cause := errors.New("interrupted")
	done := make(chan error, 1)
	go func() { _, err := r.Read(b); done <- err }()
	time.AfterFunc(50*time.Millisecond, func() { cancel(cause) })
	select {
	case err := <-done:
		if !errors.Is(err, cause) {
			t.Fatalf("read after cancel: %v, want the cause", err)
		}
	case <-time.After(10 * time.Second):
		t.Fatal("the read waited for the pipe past the cancel")
	}
	if _, err := r.Read(b); !errors.Is(err, cause) {
		t.Fatalf("later read: %v", err)
	}
}

// Everything read arrives in order, through reads of varying sizes.
func TestStopReaderPassesEverything(t *testing.T) {
	pr, pw := io.Pipe()
	want := make([]byte, 300_000)
	for i := range want {
		want[i] = byte(i * 7)
	}
	go func() { pw.Write(want); pw.Close() }()
	got, err := io.ReadAll(newStopReader(context.Background(), pr))
	if err != nil || string(got) != string(want) {
		t.Fatalf("got %d bytes, err %v", len(got), err)
	}
}
