package main

import (
	"os"
	"sync/atomic"
	"testing"
	"time"

	"golang.org/x/sys/unix"
)

// packetPair is two connected files that keep message boundaries, as a
// TUN device does.
func packetPair(t *testing.T) (*os.File, *os.File) {
	t.Helper()
	fds, err := unix.Socketpair(unix.AF_UNIX, unix.SOCK_SEQPACKET|unix.SOCK_NONBLOCK|unix.SOCK_CLOEXEC, 0)
	if err != nil {
		t.Skip("socketpair:", err)
	}
	return os.NewFile(uintptr(fds[0]), "a"), os.NewFile(uintptr(fds[1]), "b")
}

// TestDelayLine sends packets through the delay line and checks that each
// arrives whole, in order, and no sooner than the delay; with loss 100 %
// none arrives.
func TestDelayLine(t *testing.T) {
	inW, inR := packetPair(t)
	outW, outR := packetPair(t)
	defer inW.Close()
	defer outR.Close()
	var dropped atomic.Int64
	done := make(chan struct{})
	go func() {
		delayLine(inR, outW, netemProfile{delay: 30 * time.Millisecond, limit: 100}, &dropped)
		close(done)
	}()
	sent := time.Now()
	for i := range 5 {
		inW.Write([]byte{byte(i), 'p', 'k', 't'})
	}
	outR.SetReadDeadline(time.Now().Add(5 * time.Second))
	buf := make([]byte, 64)
	for i := range 5 {
		n, err := outR.Read(buf)
		if err != nil {
			t.Fatal(err)
		}
		if n != 4 || buf[0] != byte(i) {
			t.Fatalf("packet %d arrived as %q", i, buf[:n])
		}
	}
	if d := time.Since(sent); d < 30*time.Millisecond {
		t.Errorf("arrived after %v, before the 30ms delay", d)
	}
	inR.Close() // ends the line
	select {
	case <-done:
	case <-time.After(5 * time.Second):
		t.Fatal("the delay line did not stop when its input closed")
	}
	outW.Close()

	inW2, inR2 := packetPair(t)
	outW2, outR2 := packetPair(t)
	defer inW2.Close()
	defer outR2.Close()
	go func() { delayLine(inR2, outW2, netemProfile{loss: 1, limit: 100}, &dropped); outW2.Close() }()
	for range 10 {
		inW2.Write([]byte("lost"))
	}
	deadline := time.Now().Add(5 * time.Second)
	for dropped.Load() < 10 && time.Now().Before(deadline) {
		time.Sleep(time.Millisecond)
	}
	if dropped.Load() != 10 {
		t.Errorf("dropped %d of 10 at loss 100 %%", dropped.Load())
	}
	inR2.Close()
	outR2.SetReadDeadline(time.Now().Add(time.Second))
	if n, err := outR2.Read(buf); err == nil && n > 0 {
		t.Errorf("a packet came through at loss 100 %%: %q", buf[:n])
	}
}
