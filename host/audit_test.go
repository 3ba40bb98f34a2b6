package host

import (
	"bytes"
	"encoding/json"
	"io"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/selectftp/selectftp/protocol"
)

// auditBuffer is a bytes.Buffer the audit writer and the test share.
type auditBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (l *auditBuffer) Write(p []byte) (int, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.b.Write(p)
}

// lines parses every line written so far; a line that is not a JSON
// object fails the test.
func (l *auditBuffer) lines(t *testing.T) []map[string]any {
	t.Helper()
	l.mu.Lock()
	text := l.b.String()
	l.mu.Unlock()
	var out []map[string]any
	for _, line := range strings.Split(strings.TrimSuffix(text, "\n"), "\n") {
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

// waitLines polls until n lines were written.
func (l *auditBuffer) waitLines(t *testing.T, n int) []map[string]any {
	t.Helper()
	deadline := time.Now().Add(10 * time.Second)
	for {
		got := l.lines(t)
		if len(got) >= n {
			return got
		}
		if time.Now().After(deadline) {
			t.Fatalf("%d audit lines, want %d: %v", len(got), n, got)
		}
		time.Sleep(5 * time.Millisecond)
	}
}

// check fails the test unless line has the wanted fields (numbers as
// JSON decodes them: float64).
func checkLine(t *testing.T, line map[string]any, want map[string]any) {
	t.Helper()
	for k, v := range want {
		if line[k] != v {
			t.Errorf("audit line %v: %s = %v, want %v", line, k, line[k], v)
		}
	}
	if _, err := time.Parse(time.RFC3339Nano, line["time"].(string)); err != nil {
		t.Errorf("audit line %v: time: %v", line, err)
	}
}

// The audit log has a line for each login (ok, a wrong password, an
// unknown user) and each request, with the user, the address, the verb,
// the args, the bytes each way, the code and the duration.
func TestAuditLoginsAndRequests(t *testing.T) {
	forEachBackend(t, func(t *testing.T, backend string) {
		var buf auditBuffer
		log := NewAuditLog(&buf, 0)
		defer log.Close()
		_, addr := startUsersServer(t, backend, func(s *Server) {
			s.Audit = log
			s.Defender = NewDefender(DefenderConfig{LoginDelay: -1})
		})
		if st, _ := tryLogin(t, "127.0.0.1", addr, scramClient(t, "alice", "wrong")); st.Code != protocol.CodeAuthFailed {
			t.Fatalf("wrong password: %+v", st)
		}
		if st, _ := tryLogin(t, "127.0.0.1", addr, scramClient(t, "mallory", "x")); st.Code != protocol.CodeAuthFailed {
			t.Fatalf("unknown user: %+v", st)
		}
		st, c := tryLogin(t, "127.0.0.2", addr, scramClient(t, "alice", "alice-pw"))
		if !st.OK() {
			t.Fatalf("login: %+v", st)
		}
		body := bytes.Repeat([]byte("x"), 300<<10)
		if r := c.request("echo", []string{"a.txt", "-r"}, nil, body); !r.status.OK() {
			t.Fatalf("echo: %+v", r.status)
		}
		if r := c.request("upper", []string{"hi"}, nil, nil); !r.status.OK() {
			t.Fatalf("upper: %+v", r.status)
		}
		lines := buf.waitLines(t, 5)
		checkLine(t, lines[0], map[string]any{"event": "login", "user": "alice", "ip": "127.0.0.1",
			"result": "failed", "code": "auth_failed", "mechanism": "SCRAM-SHA-256"})
		checkLine(t, lines[1], map[string]any{"event": "login", "user": "mallory", "ip": "127.0.0.1",
			"result": "failed", "code": "auth_failed"})
		checkLine(t, lines[2], map[string]any{"event": "login", "user": "alice", "ip": "127.0.0.2",
			"result": "ok", "mechanism": "SCRAM-SHA-256"})
		checkLine(t, lines[3], map[string]any{"event": "request", "user": "alice", "ip": "127.0.0.2",
			"verb": "echo", "dir": "/", "code": "ok", "bytes_in": float64(len(body)), "bytes_out": float64(len(body))})
		if args, _ := lines[3]["args"].([]any); len(args) != 2 || args[0] != "a.txt" || args[1] != "-r" {
			t.Errorf("echo's args = %v", lines[3]["args"])
		}
		if d, ok := lines[3]["duration_ms"].(float64); !ok || d <= 0 {
			t.Errorf("echo's duration_ms = %v", lines[3]["duration_ms"])
		}
		checkLine(t, lines[4], map[string]any{"event": "request", "verb": "upper", "bytes_in": float64(0),
			"bytes_out": float64(3), "code": "ok"}) // "HI\n"
		if lines[2]["session"] == "" || lines[2]["session"] != lines[3]["session"] {
			t.Errorf("the login and the request name different sessions: %v, %v", lines[2]["session"], lines[3]["session"])
		}
	})
}

// A ban and its end are audited.
func TestAuditBans(t *testing.T) {
	var buf auditBuffer
	log := NewAuditLog(&buf, 0)
	defer log.Close()
	_, addr := startUsersServer(t, BackendGoroutine, func(s *Server) {
		s.Audit = log
		s.Defender = NewDefender(DefenderConfig{Threshold: 2, LoginDelay: -1, BanTime: 200 * time.Millisecond})
	})
	tryLogin(t, "127.0.0.1", addr, scramClient(t, "alice", "wrong"))
	lines := buf.waitLines(t, 3)
	var kinds []string
	for _, l := range lines {
		kinds = append(kinds, l["event"].(string))
	}
	if strings.Join(kinds, ",") != "ban,login,unban" && strings.Join(kinds, ",") != "login,ban,unban" {
		t.Fatalf("audit events %v, want the login, the ban and its end", kinds)
	}
	for _, l := range lines {
		if l["event"] == "ban" {
			checkLine(t, l, map[string]any{"ip": "127.0.0.1", "ban_seconds": 0.2, "ban_count": float64(1)})
		}
	}
}

// blockingWriter blocks every write until released.
type blockingWriter struct {
	release chan struct{}
	w       io.Writer
}

func (b blockingWriter) Write(p []byte) (int, error) {
	<-b.release
	return b.w.Write(p)
}

// A writer that does not keep up never makes Audit wait: events beyond
// the queue are dropped, counted, and said to be dropped once it does.
func TestAuditLogNeverBlocks(t *testing.T) {
	var buf auditBuffer
	bw := blockingWriter{release: make(chan struct{}), w: &buf}
	log := NewAuditLog(bw, 4)
	begin := time.Now()
	for i := range 1000 {
		log.Audit(AuditEvent{Event: AuditRequest, Verb: "get", Args: []string{strings.Repeat("a", i%7)}, Time: time.Now()})
	}
	if d := time.Since(begin); d > time.Second {
		t.Fatalf("1000 audits took %v with a stuck writer", d)
	}
	// The writer took what it took before its flush blocked; the rest
	// waited in the queue of 4 or was dropped.
	if n := log.Dropped(); n < 900 {
		t.Fatalf("dropped %d, want at least 900", n)
	}
	close(bw.release)
	deadline := time.Now().Add(10 * time.Second)
	for len(log.ch) > 0 && time.Now().Before(deadline) {
		time.Sleep(5 * time.Millisecond) // the writer drains the queue
	}
	log.Audit(AuditEvent{Event: AuditRequest, Verb: "after", Time: time.Now()})
	log.Close()
	lines := buf.lines(t)
	var dropped float64
	for _, l := range lines {
		if l["event"] == "dropped" {
			dropped += l["dropped"].(float64)
		}
	}
	if uint64(dropped) != log.Dropped() || lines[len(lines)-1]["verb"] != "after" {
		t.Fatalf("dropped lines say %v of %d; last line %v", dropped, log.Dropped(), lines[len(lines)-1])
	}
}
