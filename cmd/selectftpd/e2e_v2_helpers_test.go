package main

// Helpers for the protocol v2 end-to-end tests: a client run against any
// address (a proxy's), the put plugin's staged upload, and a TCP proxy that
// counts and can corrupt what crosses it.

import (
	"bytes"
	"encoding/binary"
	"fmt"
	"io"
	"net"
	"os"
	"os/exec"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"
)

// cli is a client process started by startCLI.
type cli struct {
	cmd    *exec.Cmd
	stdin  io.WriteCloser // nil unless asked for
	stdout bytes.Buffer
	stderr bytes.Buffer
	done   chan struct{} // closed when it has exited
}

// startCLI runs selectftp --addr addr args in dir. With pipeIn, the test
// writes its stdin; otherwise stdin is the text in.
func startCLI(t *testing.T, addr, dir string, pipeIn bool, in string, args ...string) *cli {
	t.Helper()
	c := &cli{cmd: exec.Command(bins.client, append([]string{"--addr", addr}, args...)...), done: make(chan struct{})}
	c.cmd.Dir = dir
	c.cmd.Stdout, c.cmd.Stderr = &c.stdout, &c.stderr
	if pipeIn {
		w, err := c.cmd.StdinPipe()
		if err != nil {
			t.Fatal(err)
		}
		c.stdin = w
	} else {
		c.cmd.Stdin = strings.NewReader(in)
	}
	if err := c.cmd.Start(); err != nil {
		t.Fatal(err)
	}
	go func() { c.cmd.Wait(); close(c.done) }()
	t.Cleanup(func() {
		c.cmd.Process.Kill()
		<-c.done
	})
	return c
}

// wait waits (bounded) for the client to exit and returns its exit code.
func (c *cli) wait(t *testing.T) int {
	t.Helper()
	select {
	case <-c.done:
	case <-time.After(60 * time.Second):
		c.cmd.Process.Kill()
		t.Fatalf("client %v did not exit; stderr %q", c.cmd.Args[1:], c.stderr.String())
	}
	return c.cmd.ProcessState.ExitCode()
}

// runCLI runs selectftp --addr addr args in dir with stdin in, to the end.
func runCLI(t *testing.T, addr, dir, in string, args ...string) result {
	t.Helper()
	c := startCLI(t, addr, dir, false, in, args...)
	code := c.wait(t)
	return result{c.stdout.String(), c.stderr.String(), code}
}

// stagedBytes returns the size of the file the put plugin holds open under
// the server's root (its staging file, which may have no name), or -1 when
// it holds none.
func (s *server) stagedBytes() int64 {
	pid := s.pluginPID("put")
	fds, _ := os.ReadDir(fmt.Sprintf("/proc/%d/fd", pid))
	for _, fd := range fds {
		p := fmt.Sprintf("/proc/%d/fd/%s", pid, fd.Name())
		if link, err := os.Readlink(p); err == nil && strings.HasPrefix(link, s.root+"/") {
			if fi, err := os.Stat(p); err == nil && fi.Mode().IsRegular() {
				return fi.Size()
			}
		}
	}
	return -1
}

// proxy forwards each connection it accepts to a target address, counting
// the bytes each way; flipUp and flipDown corrupt one byte inside the first
// large Data frame going to the server and to the client respectively.
type proxy struct {
	addr     string
	flipUp   bool
	flipDown bool

	up, down   atomic.Int64 // bytes forwarded to the server, to the client
	accepted   atomic.Int32
	live, peak atomic.Int32 // connections open now, and the most at once
	flipped    atomic.Int32
	mu         sync.Mutex
	firstAt    time.Time // when the first connection was accepted
}

// startProxy listens on loopback and forwards to target until the test ends.
func startProxy(t *testing.T, target string, flipUp, flipDown bool) *proxy {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	p := &proxy{addr: ln.Addr().String(), flipUp: flipUp, flipDown: flipDown}
	var wg sync.WaitGroup
	var cmu sync.Mutex
	var conns []net.Conn
	track := func(c net.Conn) { cmu.Lock(); conns = append(conns, c); cmu.Unlock() }
	t.Cleanup(func() {
		ln.Close()
		cmu.Lock()
		for _, c := range conns {
			c.Close()
		}
		cmu.Unlock()
		wg.Wait()
	})
	wg.Add(1)
	go func() {
		defer wg.Done()
		for {
			cc, err := ln.Accept()
			if err != nil {
				return
			}
			if p.accepted.Add(1) == 1 {
				p.mu.Lock()
				p.firstAt = time.Now()
				p.mu.Unlock()
			}
			sc, err := net.Dial("tcp", target)
			if err != nil {
				cc.Close()
				continue
			}
			track(cc)
			track(sc)
			for n := p.live.Add(1); ; {
				if m := p.peak.Load(); n <= m || p.peak.CompareAndSwap(m, n) {
					break
				}
			}
			var halves atomic.Int32 // the connection is gone when both pipes end
			end := func() {
				if halves.Add(1) == 2 {
					p.live.Add(-1)
				}
			}
			wg.Add(2)
			go func() { defer wg.Done(); defer end(); p.pipe(sc, cc, &p.up, p.flipUp) }()
			go func() { defer wg.Done(); defer end(); p.pipe(cc, sc, &p.down, p.flipDown) }()
		}
	}()
	return p
}

// connectedAt is when the client connected (zero if it has not).
func (p *proxy) connectedAt() time.Time {
	p.mu.Lock()
	defer p.mu.Unlock()
	return p.firstAt
}

// pipe copies src to dst, counting into n and corrupting one Data byte when
// flip is set; at src's end it half-closes dst, so each side sees the other
// hang up as it would without the proxy.
func (p *proxy) pipe(dst, src net.Conn, n *atomic.Int64, flip bool) {
	var f *frameFlipper
	if flip {
		f = &frameFlipper{p: p}
	}
	buf := make([]byte, 256<<10)
	for {
		k, err := src.Read(buf)
		if k > 0 {
			if f != nil {
				f.process(buf[:k])
			}
			if _, werr := dst.Write(buf[:k]); werr != nil {
				src.Close()
				return
			}
			n.Add(int64(k))
		}
		if err != nil {
			if tc, ok := dst.(*net.TCPConn); ok {
				tc.CloseWrite()
			}
			return
		}
	}
}

// frameFlipper follows the frame stream of one direction (4-byte big-endian
// payload length, 1 type byte, payload) and flips every bit of the byte in
// the middle of the first Data frame of at least 64 KiB: corruption no
// framing check can see, only the digest.
type frameFlipper struct {
	p      *proxy
	hdr    [5]byte
	nh     int    // header bytes collected
	left   uint32 // payload bytes of the current frame still to come
	pos    uint32 // payload bytes of the current frame seen
	flipAt int64  // payload offset to flip in the current frame, or -1
	done   bool
}

func (f *frameFlipper) process(b []byte) {
	for len(b) > 0 {
		if f.left == 0 {
			k := copy(f.hdr[f.nh:], b)
			f.nh += k
			b = b[k:]
			if f.nh < len(f.hdr) {
				return
			}
			f.nh, f.pos, f.flipAt = 0, 0, -1
			f.left = binary.BigEndian.Uint32(f.hdr[:4])
			if !f.done && f.hdr[4] == 'D' && f.left >= 64<<10 {
				f.flipAt = int64(f.left / 2)
			}
			continue
		}
		k := uint32(min(len(b), int(f.left)))
		if f.flipAt >= int64(f.pos) && f.flipAt < int64(f.pos+k) {
			b[f.flipAt-int64(f.pos)] ^= 0xff
			f.done, f.flipAt = true, -1
			f.p.flipped.Add(1)
		}
		f.pos += k
		f.left -= k
		b = b[k:]
	}
}
