//go:build linux

package main

import (
	"bytes"
	"crypto/rand"
	"os"
	"os/exec"
	"regexp"
	"strings"
	"testing"
	"time"
)

// put - on a terminal shows a progress line with the bytes sent and the
// rate, though the total is unknown, and then a summary line saying how
// much went and how fast; stdin is a pipe, stderr the terminal.
func TestStreamProgressOnATerminal(t *testing.T) {
	srv := newServer(t)
	master, slave, err := openPTY(24, 100)
	if err != nil {
		t.Skipf("no pseudo-terminal: %v", err)
	}
	pr, pw, err := os.Pipe()
	if err != nil {
		t.Fatal(err)
	}
	cmd := exec.Command(os.Args[0], "--addr", srv.Addr, "put", "-", "s.bin")
	gorace := strings.TrimSpace(os.Getenv("GORACE") + " atexit_sleep_ms=0")
	cmd.Env = append(os.Environ(), ptyChildEnv+"=1", "GORACE="+gorace)
	cmd.Stdin, cmd.Stdout, cmd.Stderr = pr, nil, slave
	err = cmd.Start()
	slave.Close()
	pr.Close()
	if err != nil {
		master.Close()
		t.Fatal(err)
	}
	p := &ptyShell{t: t, master: master, cmd: cmd, notify: make(chan struct{}, 1),
		readDone: make(chan struct{}), exited: make(chan struct{})}
	go p.read()
	go func() { cmd.Wait(); close(p.exited) }()
	t.Cleanup(func() {
		pw.Close()
		cmd.Process.Kill()
		<-p.exited
		master.Close()
		<-p.readDone
	})

	var sent bytes.Buffer
	chunk := make([]byte, 64<<10)
	write := func() {
		rand.Read(chunk)
		sent.Write(chunk)
		if _, err := pw.Write(chunk); err != nil {
			t.Fatal(err)
		}
	}
	// A slow producer: the bar redraws on progress, and shows a rate once
	// 200 ms have passed, so keep feeding until it does (bounded).
	rateRE := regexp.MustCompile(`put s\.bin  [0-9.]+ [KMG]iB  [0-9.]+ [KMG]?i?B/s`)
	deadline := time.Now().Add(ptyWait)
	for !rateRE.MatchString(p.output()) {
		if time.Now().After(deadline) {
			t.Fatalf("no progress line with bytes and rate; output:\n%q", p.output())
		}
		write()
		time.Sleep(20 * time.Millisecond) // pacing the producer, not synchronising
	}
	pw.Close()
	p.expectRE(regexp.MustCompile(`put: stdin -> s\.bin \([0-9.]+ [KM]iB in [0-9.]+m?s, [0-9.]+ [KMG]?i?B/s\)\n`))
	p.expectExit(0)
	if got, _ := srv.ReadFile("s.bin"); !bytes.Equal(got, sent.Bytes()) {
		t.Fatalf("stored %d bytes, sent %d", len(got), sent.Len())
	}
}
