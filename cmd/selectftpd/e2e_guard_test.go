package main

// End-to-end tests of the defender and the audit log (issue 10): the
// real server with --users, --defender-* and --audit-log; a flood of
// failed logins through the public client; the real CLI.

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"net"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"sync/atomic"
	"syscall"
	"testing"
	"time"

	"github.com/selectftp/selectftp/client"
	"github.com/selectftp/selectftp/protocol"
)

// fromAddr dials from a chosen loopback source address: 127.0.0.2 is
// another client as far as the server can tell.
func fromAddr(src string) client.Option {
	d := net.Dialer{LocalAddr: &net.TCPAddr{IP: net.ParseIP(src)}}
	return client.WithDialFunc(d.DialContext)
}

// auditLines reads the audit log; a line that is not JSON fails the test.
func auditLines(t *testing.T, path string) []map[string]any {
	t.Helper()
	b, err := os.ReadFile(path)
	if err != nil && !os.IsNotExist(err) {
		t.Fatal(err)
	}
	var out []map[string]any
	for _, line := range strings.Split(strings.TrimSpace(string(b)), "\n") {
		if line == "" {
			continue
		}
		var m map[string]any
		if err := json.Unmarshal([]byte(line), &m); err != nil {
			t.Fatalf("audit line %q: %v", line, err)
		}
		out = append(out, m)
	}
	return out
}

// findLine is the first audit line with every wanted field, or nil.
func findLine(lines []map[string]any, want map[string]any) map[string]any {
	for _, l := range lines {
		ok := true
		for k, v := range want {
			if l[k] != v {
				ok = false
				break
			}
		}
		if ok {
			return l
		}
	}
	return nil
}

// 1,000 failed logins from 127.0.0.1: banned after a handful, refused at
// once from then on (the CLI says why and exits 4), while alice at
// 127.0.0.2 logs in, uploads and downloads throughout; the ban ends; the
// audit log has the logins, the transfers with their bytes, and the ban.
func TestE2EDefenderFloodAndAudit(t *testing.T) {
	needBinaries(t)
	usersFile := filepath.Join(t.TempDir(), "users.json")
	addUser(t, usersFile, "alice", "alice-pw")
	audit := filepath.Join(t.TempDir(), "audit.jsonl")
	s := startServer(t, []string{"--users", usersFile, "--audit-log", audit,
		"--defender-delay", "5ms", "--defender-max-delay", "20ms", "--defender-ban-time", "3s"}, verbs...)
	ctx := context.Background()

	var failed, banned atomic.Int32
	var wg sync.WaitGroup
	next := make(chan int)
	bad := client.WithUser("alice", "guess") // one option: PBKDF2 once
	for range 16 {
		wg.Go(func() {
			for range next {
				c, err := client.Dial(ctx, s.addr, bad, fromAddr("127.0.0.1"))
				switch {
				case err == nil:
					c.Close()
					t.Errorf("a wrong password logged in")
				case errors.Is(err, client.ErrAuth):
					failed.Add(1)
				case client.Code(err) == protocol.CodeBanned:
					banned.Add(1)
				case errors.Is(err, syscall.ECONNRESET):
					banned.Add(1) // refused before our Hello arrived
				default:
					t.Errorf("flood login: %v", err)
				}
			}
		})
	}
	flooded := make(chan struct{})
	begin := time.Now()
	go func() {
		for i := range 1000 {
			next <- i
		}
		close(next)
		wg.Wait()
		close(flooded)
	}()

	// alice at 127.0.0.2 puts and gets 1 MiB, again and again, until the
	// flood is over.
	dir := t.TempDir()
	payload := bytes.Repeat([]byte("0123456789abcdef"), 64<<10)
	local := filepath.Join(dir, "up.bin")
	os.WriteFile(local, payload, 0o600)
	good := client.WithUser("alice", "alice-pw")
	rounds := 0
	var slowest time.Duration
	for done := false; !done; {
		select {
		case <-flooded:
			done = rounds >= 2
		default:
		}
		t0 := time.Now()
		c, err := client.Dial(ctx, s.addr, good, fromAddr("127.0.0.2"))
		if err != nil {
			t.Fatalf("alice at 127.0.0.2 during the flood: %v", err)
		}
		if err := c.PutFile(ctx, local, "up.bin", nil); err != nil {
			t.Fatalf("put during the flood: %v", err)
		}
		if err := c.GetFile(ctx, "up.bin", filepath.Join(dir, "down.bin"), nil); err != nil {
			t.Fatalf("get during the flood: %v", err)
		}
		c.Close()
		slowest = max(slowest, time.Since(t0))
		rounds++
	}
	t.Logf("1000 failed logins in %v: %d auth_failed, %d banned; alice at 127.0.0.2: %d put+get rounds of 1 MiB, slowest %v",
		time.Since(begin), failed.Load(), banned.Load(), rounds, slowest)
	if got, _ := os.ReadFile(filepath.Join(dir, "down.bin")); !bytes.Equal(got, payload) {
		t.Fatal("alice's download differs from her upload")
	}
	// 8 failures ban (score 15); a ban that ends mid-flood lets 8 more.
	if banned.Load() < 900 || failed.Load() > 100 {
		t.Errorf("%d banned, %d failed of 1000: the flood was not stopped", banned.Load(), failed.Load())
	}
	if slowest > 10*time.Second {
		t.Errorf("alice's slowest round took %v during the flood", slowest)
	}

	// The CLI from a banned address says why, and exits 4 (the flood's
	// ban may have ended: wrong passwords from the CLI bring a new one).
	var r result
	for i := 0; i < 12 && !strings.Contains(r.stderr, "too many failed logins"); i++ {
		r = s.as("alice", "not-alices", "", "ls")
	}
	if r.code != 4 || !strings.Contains(r.stderr, "too many failed logins") {
		t.Errorf("CLI while banned: exit %d, %q; want 4 and the reason", r.code, r.stderr)
	}
	// The ban ends: the right password works again from 127.0.0.1.
	deadline := time.Now().Add(30 * time.Second)
	for {
		r := s.as("alice", "alice-pw", "", "ls")
		if r.code == 0 {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("still refused after the ban: %d %s", r.code, r.stderr)
		}
		time.Sleep(200 * time.Millisecond)
	}

	var lines []map[string]any
	waitFor(t, "the audit lines", func() bool {
		lines = auditLines(t, audit)
		return findLine(lines, map[string]any{"event": "request", "verb": "ls", "ip": "127.0.0.1"}) != nil
	})
	checks := []map[string]any{
		{"event": "login", "result": "failed", "user": "alice", "ip": "127.0.0.1", "code": "auth_failed"},
		{"event": "login", "result": "ok", "user": "alice", "ip": "127.0.0.2", "mechanism": "SCRAM-SHA-256"},
		{"event": "request", "verb": "put", "user": "alice", "ip": "127.0.0.2", "code": "ok", "bytes_in": float64(len(payload))},
		{"event": "request", "verb": "get", "user": "alice", "ip": "127.0.0.2", "code": "ok", "bytes_out": float64(len(payload))},
		{"event": "ban", "ip": "127.0.0.1", "ban_seconds": float64(3)},
		{"event": "unban", "ip": "127.0.0.1"},
	}
	for _, want := range checks {
		if findLine(lines, want) == nil {
			t.Errorf("no audit line with %v", want)
		}
	}
	if !strings.Contains(s.logText(), "banning an address") {
		t.Error("the server's log does not say it banned an address")
	}
}

// SIGHUP reopens the audit log: after logrotate moves it away, new lines
// go to a new file at the same path.
func TestE2EAuditLogReopensOnHUP(t *testing.T) {
	needBinaries(t)
	usersFile := filepath.Join(t.TempDir(), "users.json")
	addUser(t, usersFile, "alice", "alice-pw")
	audit := filepath.Join(t.TempDir(), "audit.jsonl")
	s := startServer(t, []string{"--users", usersFile, "--audit-log", audit}, verbs...)
	if r := s.as("alice", "alice-pw", "", "upper", "one"); r.code != 0 {
		t.Fatalf("upper: %d %s", r.code, r.stderr)
	}
	waitFor(t, "the first request's line", func() bool {
		return findLine(auditLines(t, audit), map[string]any{"verb": "upper"}) != nil
	})
	if fi, err := os.Stat(audit); err != nil || fi.Mode().Perm() != 0o600 {
		t.Errorf("audit log mode: %v %v, want 0600", fi.Mode(), err)
	}
	if err := os.Rename(audit, audit+".1"); err != nil {
		t.Fatal(err)
	}
	s.signal(syscall.SIGHUP)
	waitFor(t, "a new audit file", func() bool { _, err := os.Stat(audit); return err == nil })
	if r := s.as("alice", "alice-pw", "", "upper", "two"); r.code != 0 {
		t.Fatalf("upper: %d %s", r.code, r.stderr)
	}
	waitFor(t, "the second request's line in the new file", func() bool {
		l := findLine(auditLines(t, audit), map[string]any{"verb": "upper"})
		return l != nil && l["args"].([]any)[0] == "two"
	})
	if l := findLine(auditLines(t, audit+".1"), map[string]any{"verb": "upper"}); l == nil || l["args"].([]any)[0] != "one" {
		t.Errorf("the rotated file's line: %v", l)
	}
}
