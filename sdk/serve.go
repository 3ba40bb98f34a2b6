package sdk

import (
	"context"
	"encoding/json"
	"errors"

	"github.com/selectftp/selectftp/internal/pluginrpc/plugside"
)

// Serve runs cmd as a plugin process and returns when the host is done with
// it. Call it from main; print nothing to stdout before it, since stdout
// carries the handshake with the host. Run the binary from the host, not by
// hand. The transport behind it is internal to this module.
func Serve(cmd Command) { plugside.Serve(handler{cmd}) }

// handler adapts a Command to the plugin runtime: the runtime speaks its
// own types, so it does not import this package, and this package shows no
// transport.
type handler struct{ cmd Command }

func (h handler) Describe() plugside.Description {
	d := h.cmd.Describe()
	pd := plugside.Description{Verb: d.Verb, Summary: d.Summary, Usage: d.Usage}
	if len(d.Access) > 0 {
		// Plain data: it cannot fail to encode.
		pd.Access, _ = json.Marshal(accessWire{Options: d.Options, Access: d.Access})
	}
	return pd
}

// accessWire is how a plugin's access declaration travels to the host
// (pluginrpc decodes the same field names into these types).
type accessWire struct {
	Options []Option
	Access  []Access
}

// userOf is the runtime's user as a Request carries it.
func userOf(u *plugside.User) *User {
	if u == nil {
		return nil
	}
	out := &User{Name: u.Name, Perms: perms(u.Perms)}
	if len(u.PathPerms) > 0 {
		out.PathPerms = make(map[string][]Perm, len(u.PathPerms))
		for k, ps := range u.PathPerms {
			out.PathPerms[k] = perms(ps)
		}
	}
	return out
}

func perms(names []string) []Perm {
	out := make([]Perm, len(names))
	for i, n := range names {
		out[i] = Perm(n)
	}
	return out
}

func (h handler) Configure(ctx context.Context, settings map[string]any) error {
	if c, ok := h.cmd.(Configurer); ok {
		return c.Configure(ctx, settings)
	}
	return nil
}

func (h handler) Run(ctx context.Context, c *plugside.Call) error {
	req := &Request{
		Verb: c.Verb, Args: c.Args, Params: c.Params, Body: c.Body, Root: c.Root,
		Checksum: c.Checksum, BodySize: c.BodySize, Dir: c.Dir,
		Host: remoteHost{c.Host}, Log: c.Log, SessionID: c.SessionID, RemoteAddr: c.RemoteAddr,
		User: userOf(c.User),
	}
	return h.cmd.Run(WithProgress(ctx, c.Out.Progress), req, c.Out)
}

func (h handler) Status(err error) (Code, string) {
	if err == nil {
		return CodeOK, ""
	}
	return CodeOf(err), MessageOf(err)
}

// remoteHost is the Host of a plugin process: it asks over the RPC.
type remoteHost struct{ h *plugside.Host }

func (r remoteHost) Commands(ctx context.Context) ([]Description, error) {
	if r.h == nil {
		return nil, errors.New("sdk: no host")
	}
	ds, err := r.h.Commands(ctx)
	if err != nil {
		return nil, err
	}
	out := make([]Description, len(ds))
	for i, d := range ds {
		out[i] = Description{Verb: d.Verb, Summary: d.Summary, Usage: d.Usage}
	}
	return out, nil
}
