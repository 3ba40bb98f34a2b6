package main

// The attacks of the hardening review, replayed against the real server.

import (
	"bufio"
	"fmt"
	"net"
	"os"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/selectftp/selectftp/protocol"
)

// rssCeiling is what the server may grow to under the pipelining attack.
// It idles at about 15 MiB and peaks near 22 MiB under the attack; before
// the fix it grew by about 15 MiB a second (3.1 GiB in 26 s on a quiet
// machine), so five seconds cross this line.
const rssCeiling = 64 << 20

// vmRSS reads a process's resident set size.
func vmRSS(t *testing.T, pid int) int64 {
	t.Helper()
	f, err := os.Open(fmt.Sprintf("/proc/%d/status", pid))
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		var kb int64
		if _, err := fmt.Sscanf(sc.Text(), "VmRSS: %d kB", &kb); err == nil {
			return kb << 10
		}
	}
	t.Fatal("no VmRSS")
	return 0
}

// helloConn dials addr from the local address from ("" for any) and
// completes the handshake.
func helloConn(t *testing.T, addr, from string) net.Conn {
	t.Helper()
	d := net.Dialer{Timeout: 5 * time.Second}
	if from != "" {
		d.LocalAddr = &net.TCPAddr{IP: net.ParseIP(from)}
	}
	c, err := d.Dial("tcp", addr)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { c.Close() })
	hello, _ := protocol.Marshal(protocol.TypeHello, protocol.Hello{Protocol: protocol.ProtocolName, Versions: []int{protocol.Version}})
	c.SetDeadline(time.Now().Add(10 * time.Second))
	if _, err := c.Write(hello); err != nil {
		t.Fatal(err)
	}
	if f, err := protocol.NewReader(c, 0).Next(); err != nil || f.Type != protocol.TypeHello {
		t.Fatalf("hello: %v %v", f.Type, err)
	}
	return c
}

// Pipelined invalid requests from clients that never read: the server's
// memory stays under a fixed ceiling, on both backends, while another
// client is served.
func TestPipelinedRequestsHoldMemory(t *testing.T) {
	for _, backend := range []string{"reactor", "goroutine"} {
		t.Run(backend, func(t *testing.T) {
			s := startServer(t, []string{"--backend", backend}, "upper")
			pid := s.cmd.Process.Pid
			before := vmRSS(t, pid)
			one := append(protocol.AppendFrame(nil, protocol.TypeRequest, []byte("not json")), protocol.AppendHeader(nil, protocol.TypeEnd, 0)...)
			batch := make([]byte, 0, 256<<10)
			for len(batch)+len(one) <= cap(batch) {
				batch = append(batch, one...)
			}
			// Four attackers, each writing for five seconds and reading
			// nothing; the server's RSS is sampled meanwhile.
			stop := time.Now().Add(5 * time.Second)
			var wg sync.WaitGroup
			var mu sync.Mutex
			var sent int64
			for range 4 {
				c := helloConn(t, s.addr, "")
				c.(*net.TCPConn).SetReadBuffer(4096)
				wg.Add(1)
				go func() {
					defer wg.Done()
					for time.Now().Before(stop) {
						c.SetWriteDeadline(time.Now().Add(100 * time.Millisecond))
						n, _ := c.Write(batch)
						mu.Lock()
						sent += int64(n)
						mu.Unlock()
					}
				}()
			}
			peak := before
			for time.Now().Before(stop) {
				peak = max(peak, vmRSS(t, pid))
				time.Sleep(50 * time.Millisecond)
			}
			wg.Wait()
			if r := s.client("", "upper", "still", "served"); r.code != 0 || r.stdout != "STILL SERVED\n" {
				t.Fatalf("another client during the attack: %+v", r)
			}
			peak = max(peak, vmRSS(t, pid))
			t.Logf("%s: %d MiB of requests sent; server RSS %d MiB before, %d MiB at peak",
				backend, sent>>20, before>>20, peak>>20)
			if peak > rssCeiling {
				t.Fatalf("server RSS reached %d MiB; ceiling %d MiB", peak>>20, rssCeiling>>20)
			}
		})
	}
}

// A flood of silent connections from one address takes that address's
// slots only: another address is served at once, and the silent ones are
// closed by the handshake deadline, not after the idle timeout.
func TestSilentConnectionsCannotTakeEverySlot(t *testing.T) {
	s := startServer(t, []string{"--hello-timeout", "1s", "--max-conns-per-ip", "16"}, "upper")
	var conns []net.Conn
	busy := 0
	for range 64 {
		d := net.Dialer{Timeout: 5 * time.Second, LocalAddr: &net.TCPAddr{IP: net.ParseIP("127.0.0.2")}}
		c, err := d.Dial("tcp", s.addr)
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { c.Close() })
		conns = append(conns, c)
	}
	if r := s.client("", "upper", "served"); r.code != 0 || r.stdout != "SERVED\n" {
		t.Fatalf("a client from another address during the flood: %+v", r)
	}
	// Every silent connection ends soon: over the limit ones at once
	// (busy), the rest at the handshake deadline (timeout).
	var wg sync.WaitGroup
	var mu sync.Mutex
	codes := map[string]int{}
	for _, c := range conns {
		wg.Add(1)
		go func() {
			defer wg.Done()
			c.SetReadDeadline(time.Now().Add(10 * time.Second))
			f, err := protocol.NewReader(c, 0).Next()
			code := "none"
			if err == nil && f.Type == protocol.TypeStatus {
				var st protocol.Status
				if protocol.Unmarshal(protocol.TypeStatus, f.Payload, &st) == nil {
					code = string(st.Code)
				}
			} else if err != nil {
				code = "error: " + err.Error()
			}
			mu.Lock()
			codes[code]++
			mu.Unlock()
		}()
	}
	wg.Wait()
	busy = codes["busy"]
	t.Logf("silent connections ended with %v", codes)
	if busy != 64-16 || codes["timeout"] != 16 {
		t.Fatalf("want %d busy and 16 timeout, got %v", 64-16, codes)
	}
	if strings.Contains(s.logText(), "panic") {
		t.Fatal("the server logged a panic")
	}
}
