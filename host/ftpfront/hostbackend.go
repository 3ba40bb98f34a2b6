package ftpfront

import (
	"context"
	"errors"
	"net"

	"github.com/selectftp/selectftp/host"
)

// New makes an FTP front for srv: each FTP client logs in with
// srv.LoginPlain and every command is a call on its host.Local. srv must be
// serving (its Serve running) before clients log in.
func New(srv *host.Server, cfg Config) (*Front, error) {
	if srv == nil {
		return nil, errors.New("ftpfront: no server")
	}
	return newFront(hostBackend{srv}, cfg)
}

type hostBackend struct{ srv *host.Server }

func (b hostBackend) LoginPlain(ctx context.Context, remote net.Addr, user, password string) (session, error) {
	l, err := b.srv.LoginPlain(ctx, remote, user, password)
	if err != nil {
		return nil, err
	}
	return hostSession{l}, nil
}

type hostSession struct{ l *host.Local }

func (s hostSession) Call(ctx context.Context, c call) (result, error) {
	hc := host.Call{Verb: c.Verb, Args: c.Args, Params: c.Params, Body: c.Body, Size: c.Size}
	if c.Out != nil {
		hc.Out = c.Out
	}
	r, err := s.l.Call(ctx, hc)
	return result{Meta: r.Meta, Status: r.Status}, err
}

func (s hostSession) Close() { s.l.Close() }

// Anonymous: a server without users serves everyone anonymously.
func (b hostBackend) Anonymous() bool { return b.srv.Users == nil }

// Admit counts an FTP control connection in the server's connection
// limits and refuses a banned address (host.Server.Admit).
func (b hostBackend) Admit(remote net.Addr) (func(), error) { return b.srv.Admit(remote) }

// ProtocolError scores a client's protocol error before its login
// (host.Server.ProtocolError).
func (b hostBackend) ProtocolError(remote net.Addr) bool { return b.srv.ProtocolError(remote) }
