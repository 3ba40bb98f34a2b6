package host

import (
	"context"
	"fmt"
	"net"
	"sync"

	"github.com/selectftp/selectftp/protocol"
	"github.com/selectftp/selectftp/sdk"
)

// A front end (the FTP front) keeps its own connections, but they are the
// server's clients all the same: they take the same slots as native
// sessions, are refused when their address is banned, and their calls are
// drained by Shutdown like native requests. This file is the server's side
// of that: Admit for connections, the running Local calls for Shutdown.

// frontState is what the server keeps of front ends; s.mu guards it.
type frontState struct {
	conns int                     // admitted front connections, counted with sessions in MaxConns
	calls map[*localCall]struct{} // running Local calls
	idle  chan struct{}           // made by drainLocal; closed when the last call ends
}

// Admit counts a front end's client connection from remote in the
// server's connection limits: MaxConns and MaxConnsPerIP hold native
// sessions and admitted connections together, so a host cannot take more
// slots by speaking FTP. A banned address, a full server and a server that
// is not serving (or is shutting down) are refused with an *sdk.Error
// whose code (banned, busy, shutting_down) and message say why; a front
// answers the client and closes. release gives the slot back when the
// connection ends; it may be called more than once.
func (s *Server) Admit(remote net.Addr) (release func(), err error) {
	if code, msg, banned := s.refuseBanned(remote); banned {
		return nil, &sdk.Error{Code: code, Message: msg}
	}
	ip := peerIP(remote)
	s.mu.Lock()
	defer s.mu.Unlock()
	if !s.serving && !s.closing.Load() {
		return nil, &sdk.Error{Code: protocol.CodeShuttingDown, Message: "the server is not serving yet"}
	}
	if code, msg, full := s.overLimits(ip); full {
		return nil, &sdk.Error{Code: code, Message: msg}
	}
	s.fronts.conns++
	s.perIP[ip]++
	var once sync.Once
	return func() { once.Do(func() { s.unadmit(ip) }) }, nil
}

// overLimits says whether one more connection from ip would be over the
// server's limits (or the server is closing), and what it is told; s.mu
// is held. Native sessions (addSession) and admitted front connections
// share it.
func (s *Server) overLimits(ip string) (protocol.Code, string, bool) {
	switch {
	case s.closing.Load():
		return protocol.CodeShuttingDown, "the server is shutting down", true
	case len(s.sessions)+s.fronts.conns >= s.maxConns():
		return protocol.CodeBusy, fmt.Sprintf("too many connections (limit %d); try again later", s.maxConns()), true
	case s.maxConnsPerIP() > 0 && s.perIP[ip] >= s.maxConnsPerIP():
		return protocol.CodeBusy, fmt.Sprintf("too many connections from %s (limit %d); try again later", ip, s.maxConnsPerIP()), true
	}
	return "", "", false
}

// unadmit gives back an admitted connection's slots.
func (s *Server) unadmit(ip string) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.fronts.conns--
	if s.perIP[ip]--; s.perIP[ip] <= 0 {
		delete(s.perIP, ip)
	}
}

// ProtocolError scores a front end's client that broke its protocol
// before logging in (an unknown command, a command that needs a login, no
// login within the front's deadline) as a native connection's protocol
// error before its login is scored: on a server with Users, remote's
// address costs DefenderConfig.ProtocolScore, and enough of them ban it.
// Without Users there is no login to guess, so nothing is scored, as for
// native clients. It reports whether remote is banned now, so the front
// can close the connection.
func (s *Server) ProtocolError(remote net.Addr) (banned bool) {
	if s.Users == nil || s.guard() == nil {
		return false
	}
	s.guard().record(remote, false)
	_, banned = s.guard().Banned(remote)
	return banned
}

// beginLocal records a Local call that starts, or refuses it once
// Shutdown or Close began: a draining server takes no new work.
func (s *Server) beginLocal(lc *localCall) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.closing.Load() || !s.serving {
		return ErrServerClosed
	}
	if s.fronts.calls == nil {
		s.fronts.calls = map[*localCall]struct{}{}
	}
	s.fronts.calls[lc] = struct{}{}
	return nil
}

// endLocal forgets a finished Local call, and tells a waiting Shutdown
// when it was the last.
func (s *Server) endLocal(lc *localCall) {
	s.mu.Lock()
	defer s.mu.Unlock()
	delete(s.fronts.calls, lc)
	if s.fronts.idle != nil && len(s.fronts.calls) == 0 {
		close(s.fronts.idle)
		s.fronts.idle = nil
	}
}

// drainLocal waits until no Local call runs, or ctx ends. Shutdown calls
// it after setting closing, so no call starts meanwhile.
func (s *Server) drainLocal(ctx context.Context) error {
	s.mu.Lock()
	if len(s.fronts.calls) == 0 {
		s.mu.Unlock()
		return nil
	}
	if s.fronts.idle == nil {
		s.fronts.idle = make(chan struct{})
	}
	idle := s.fronts.idle
	s.mu.Unlock()
	select {
	case <-idle:
		return nil
	case <-ctx.Done():
		return ctx.Err()
	}
}

// cancelLocal cancels every running Local call (Close, or a Shutdown
// whose ctx ended): each returns ErrServerClosed.
func (s *Server) cancelLocal() {
	s.mu.Lock()
	running := make([]*localCall, 0, len(s.fronts.calls))
	for lc := range s.fronts.calls {
		running = append(running, lc)
	}
	s.mu.Unlock()
	for _, lc := range running {
		lc.cancel(ErrServerClosed)
	}
}
