package host

import (
	"net"
	"net/netip"
	"time"

	"github.com/selectftp/selectftp/protocol"
)

// The session's hooks into the defender and the audit log. Each runs on
// the session's loop unless it says otherwise, and none waits: the
// defender is a map under a short lock, the audit log a bounded queue.

// guard is the defender the server uses: Defender, or a default one made
// at start.
func (s *Server) guard() *Defender { return s.defender }

// startGuard makes the default defender when none is set and routes its
// ban notices to the log and the audit log (start calls it).
func (s *Server) startGuard() {
	s.defender = s.Defender
	if s.defender == nil {
		s.defender = NewDefender(DefenderConfig{})
	}
	log := s.logger()
	s.defender.observeOnce(func(e DefenderEvent) {
		// Called on a loop (a ban) or a timer (its end): log off it.
		if e.Ban {
			go log.Warn("banning an address for failed logins", "ip", e.IP, "for", e.For, "bans", e.Count)
			s.audit(AuditEvent{Event: AuditBan, IP: e.IP, BanFor: e.For, BanCount: e.Count})
		} else {
			go log.Info("ban ended", "ip", e.IP, "after", e.For)
			s.audit(AuditEvent{Event: AuditUnban, IP: e.IP, BanFor: e.For, BanCount: e.Count})
		}
	})
}

// audit hands e to the Auditor, if any, stamped now.
func (s *Server) audit(e AuditEvent) {
	if s.Audit == nil {
		return
	}
	if e.Time.IsZero() {
		e.Time = time.Now()
	}
	s.Audit.Audit(e)
}

// refuseBanned says whether a new connection comes from a banned address
// and what it is told (addSession asks, before counting it).
func (s *Server) refuseBanned(addr net.Addr) (protocol.Code, string, bool) {
	if until, ok := s.guard().Banned(addr); ok {
		return protocol.CodeBanned, banMessage(until), true
	}
	return "", "", false
}

// authBanned refuses a login step from an address banned since the
// connection opened (authStep asks first).
func (ss *session) authBanned() bool {
	until, ok := ss.srv.guard().Banned(ss.c.RemoteAddr())
	if !ok {
		return false
	}
	ss.srv.audit(AuditEvent{Event: AuditLogin, User: ss.loginName(), IP: hostOf(ss.c.RemoteAddr()),
		Session: ss.id(), Result: "banned", Code: string(protocol.CodeBanned)})
	ss.apply(sessEvent{kind: evAuthDone, status: protocol.Status{Code: protocol.CodeBanned, Message: banMessage(until)}})
	return true
}

// finishAuthStep posts a login step's outcome to the loop. It runs on the
// step's worker, which it leaves at once: a failed login's answer waits
// on a timer (the defender's growing delay), holding no goroutine and
// never the loop. A successful login is audited here.
//
// authStep refused a banned address before the step, but other sessions
// of the address may ban it while the step runs: a step that ends after
// the ban is answered banned, right proof or wrong, so a guess sent before
// a ban is never answered after it, and only the failures the defender
// counted are told "authentication failed".
func (ss *session) finishAuthStep(l *login, ev sessEvent, addr net.Addr) {
	s := ss.srv
	post := func() { ss.post(func() { ss.apply(ev) }) }
	banned := func() bool {
		until, ok := s.guard().Banned(addr)
		if ok {
			s.audit(AuditEvent{Event: AuditLogin, User: ss.loginName(), IP: hostOf(addr), Session: ss.id(),
				Result: "banned", Mechanism: l.mech, Code: string(protocol.CodeBanned)})
			ev = sessEvent{kind: evAuthDone, status: protocol.Status{Code: protocol.CodeBanned, Message: banMessage(until)}}
		}
		return ok
	}
	switch {
	case ev.user != nil:
		if banned() {
			break
		}
		s.audit(AuditEvent{Event: AuditLogin, User: ev.user.user, IP: hostOf(addr), Session: ss.id(),
			Result: "ok", Mechanism: l.mech, Code: string(protocol.CodeOK)})
	case ev.status.Code == protocol.CodeAuthFailed:
		d := s.guard().loginDelay(addr)
		l.scored.Store(true)
		if s.guard().record(addr, true) == 0 && banned() {
			break
		}
		if d > 0 {
			time.AfterFunc(d, post)
			return
		}
	}
	post()
}

// guardFinal scores a session that ends before logging in on a server
// with users: a failed login (unless its step scored it already), or a
// protocol error, a request or a timeout before the login (the final
// status says which). A failed or abandoned login is audited.
func (ss *session) guardFinal(st protocol.Status) {
	s := ss.srv
	if s.Users == nil || ss.extra != nil && ss.extra.user != nil {
		return
	}
	var isLogin bool
	switch st.Code {
	case protocol.CodeAuthFailed:
		isLogin = true
	case protocol.CodeProtocol, protocol.CodeBadRequest, protocol.CodeUnauthenticated,
		protocol.CodeTimeout, protocol.CodeTooLarge, protocol.CodeUnsupportedVersion:
	default:
		return // busy, banned, shutting down: not the client's doing
	}
	addr := ss.c.RemoteAddr()
	var l *login
	if ss.extra != nil {
		l = ss.extra.login
	}
	if l == nil || !l.scored.Load() {
		s.guard().record(addr, isLogin)
	}
	if isLogin || l != nil {
		mech := ""
		if l != nil {
			mech = l.mech
		}
		s.audit(AuditEvent{Event: AuditLogin, User: ss.loginName(), IP: hostOf(addr), Session: ss.id(),
			Result: "failed", Mechanism: mech, Code: string(st.Code)})
	}
}

// loginName is the name the session's login under way gave, cut to a
// length a log can hold.
func (ss *session) loginName() string {
	if ss.extra == nil || ss.extra.login == nil {
		return ""
	}
	p := ss.extra.login.name.Load()
	if p == nil {
		return ""
	}
	n := *p
	if len(n) > 128 {
		n = n[:128]
	}
	return n
}

// auditRequest audits a finished request (done calls it, before the
// session releases the request's body).
func (ss *session) auditRequest(verb string, st protocol.Status, r result) {
	s := ss.srv
	if s.Audit == nil {
		return
	}
	e := AuditEvent{Event: AuditRequest, IP: hostOf(ss.c.RemoteAddr()), Session: ss.id(), Verb: verb,
		Args: r.args, Dir: ss.dir(), Code: string(st.Code), Duration: r.took}
	if ss.extra != nil && ss.extra.user != nil {
		e.User = ss.extra.user.user
	}
	if ss.body != nil {
		e.BytesIn = ss.body.received
	}
	e.BytesOut = r.size
	s.audit(e)
}

// hostOf is the address without its port.
func hostOf(a net.Addr) string {
	if ap, err := netip.ParseAddrPort(a.String()); err == nil {
		return ap.Addr().Unmap().String()
	}
	return a.String()
}
