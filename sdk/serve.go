package sdk

import (
	"context"
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
	return plugside.Description{Verb: d.Verb, Summary: d.Summary, Usage: d.Usage}
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
		out[i] = Description(d)
	}
	return out, nil
}
