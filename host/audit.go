package host

import (
	"bufio"
	"encoding/json"
	"io"
	"sync"
	"sync/atomic"
	"time"
)

// Audit event kinds (AuditEvent.Event).
const (
	AuditLogin   = "login"   // a login ended: Result ok, failed or banned
	AuditRequest = "request" // a request ended
	AuditBan     = "ban"     // the defender banned an address
	AuditUnban   = "unban"   // a ban ended
)

// AuditEvent is one line of the audit log. Which fields are set depends
// on Event; AuditLog writes only those.
type AuditEvent struct {
	Time  time.Time
	Event string // AuditLogin, AuditRequest, AuditBan, AuditUnban
	// User is the account; for a failed login, the name the client
	// gave (which may not exist).
	User    string
	IP      string // the client's address without the port
	Session string // the session's id, as in the server's log
	// Result of a login: "ok", "failed" or "banned".
	Result    string
	Mechanism string // of a login
	Code      string // the status code that answered
	// A request's verb, its arguments (paths, flags: as the client sent
	// them) and the session's folder when it ran.
	Verb     string
	Args     []string
	Dir      string
	BytesIn  int64 // request body bytes received
	BytesOut int64 // response body bytes sent
	Duration time.Duration
	// BanFor is a ban's length, BanCount how many bans the address has
	// had lately, this one included.
	BanFor   time.Duration
	BanCount int
}

// Auditor receives the server's audit events. Audit is called on the
// connections' event loops: it must return at once, never waiting on a
// disk or a network (AuditLog queues and drops rather than wait).
type Auditor interface {
	Audit(AuditEvent)
}

// AuditLog is an Auditor that writes JSON lines to a writer from its own
// goroutine. Events wait in a bounded queue; when it is full they are
// dropped and counted (Dropped), and a "dropped" line says how many
// before the next event written. The server never waits for the disk.
type AuditLog struct {
	w       *bufio.Writer
	ch      chan AuditEvent
	stop    chan struct{}
	done    chan struct{}
	once    sync.Once
	dropped atomic.Uint64
	told    uint64 // drops already reported; the writer goroutine's
}

// DefaultAuditBuffer is the events an AuditLog holds while its writer is
// behind: a few seconds of a busy server.
const DefaultAuditBuffer = 8192

// NewAuditLog starts an AuditLog writing to w, holding at most buffer
// events (0: DefaultAuditBuffer). Close it to flush.
func NewAuditLog(w io.Writer, buffer int) *AuditLog {
	if buffer <= 0 {
		buffer = DefaultAuditBuffer
	}
	l := &AuditLog{w: bufio.NewWriterSize(w, 64<<10), ch: make(chan AuditEvent, buffer),
		stop: make(chan struct{}), done: make(chan struct{})}
	go l.run()
	return l
}

// Audit queues e, or drops it if the queue is full.
func (l *AuditLog) Audit(e AuditEvent) {
	select {
	case l.ch <- e:
	default:
		l.dropped.Add(1)
	}
}

// Dropped is how many events were dropped because the queue was full.
func (l *AuditLog) Dropped() uint64 { return l.dropped.Load() }

// Close writes what is queued, flushes and stops the writer. Events
// audited after Close are not written.
func (l *AuditLog) Close() error {
	l.once.Do(func() { close(l.stop) })
	<-l.done
	return nil
}

func (l *AuditLog) run() {
	defer close(l.done)
	for {
		select {
		case e := <-l.ch:
			l.write(e)
			// Flush when the queue is empty: one write per burst.
			for more := true; more; {
				select {
				case e := <-l.ch:
					l.write(e)
				default:
					more = false
				}
			}
			l.w.Flush()
		case <-l.stop:
			for {
				select {
				case e := <-l.ch:
					l.write(e)
				default:
					l.w.Flush()
					return
				}
			}
		}
	}
}

// write writes one event as a JSON line (and first a "dropped" line if
// events were lost since the last).
func (l *AuditLog) write(e AuditEvent) {
	if d := l.dropped.Load(); d != l.told {
		l.line(struct {
			Time    string `json:"time"`
			Event   string `json:"event"`
			Dropped uint64 `json:"dropped"`
		}{stamp(time.Now()), "dropped", d - l.told})
		l.told = d
	}
	l.line(auditLine(e))
}

func (l *AuditLog) line(v any) {
	b, err := json.Marshal(v)
	if err != nil {
		return
	}
	l.w.Write(append(b, '\n'))
}

func stamp(t time.Time) string { return t.UTC().Format(time.RFC3339Nano) }

// auditLine is e in the shape of its kind: a request always carries its
// byte counts, a login its result, even when zero or empty.
func auditLine(e AuditEvent) any {
	switch e.Event {
	case AuditRequest:
		return struct {
			Time       string   `json:"time"`
			Event      string   `json:"event"`
			User       string   `json:"user,omitempty"`
			IP         string   `json:"ip"`
			Session    string   `json:"session"`
			Verb       string   `json:"verb"`
			Args       []string `json:"args"`
			Dir        string   `json:"dir"`
			BytesIn    int64    `json:"bytes_in"`
			BytesOut   int64    `json:"bytes_out"`
			Code       string   `json:"code"`
			DurationMS float64  `json:"duration_ms"`
		}{stamp(e.Time), e.Event, e.User, e.IP, e.Session, e.Verb, nonNil(e.Args), e.Dir,
			e.BytesIn, e.BytesOut, e.Code, ms(e.Duration)}
	case AuditBan, AuditUnban:
		return struct {
			Time       string  `json:"time"`
			Event      string  `json:"event"`
			IP         string  `json:"ip"`
			BanSeconds float64 `json:"ban_seconds"`
			BanCount   int     `json:"ban_count"`
		}{stamp(e.Time), e.Event, e.IP, e.BanFor.Seconds(), e.BanCount}
	}
	return struct {
		Time      string `json:"time"`
		Event     string `json:"event"`
		User      string `json:"user"`
		IP        string `json:"ip"`
		Session   string `json:"session,omitempty"`
		Result    string `json:"result"`
		Mechanism string `json:"mechanism,omitempty"`
		Code      string `json:"code,omitempty"`
	}{stamp(e.Time), e.Event, e.User, e.IP, e.Session, e.Result, e.Mechanism, e.Code}
}

func nonNil(s []string) []string {
	if s == nil {
		return []string{}
	}
	return s
}

// ms is d in milliseconds, to the microsecond.
func ms(d time.Duration) float64 { return float64(d.Microseconds()) / 1000 }
