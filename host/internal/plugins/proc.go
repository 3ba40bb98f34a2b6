package plugins

import (
	"context"
	"errors"
	"os"
	"os/exec"
	"path/filepath"
	"sync"

	"github.com/hashicorp/go-hclog"
	plugin "github.com/hashicorp/go-plugin"

	"github.com/selectftp/selectftp/internal/fdpass"
	"github.com/selectftp/selectftp/internal/pb"
	"github.com/selectftp/selectftp/internal/pluginrpc"
	"github.com/selectftp/selectftp/sdk"
)

// proc is one plugin binary and its current process. It is the sdk.Command
// the host registers: each Run uses the live process, starting a new one
// first if the last one exited.
type proc struct {
	m    *Manager
	path string
	id   fileID
	log  hclog.Logger
	desc sdk.Description

	mu     sync.Mutex
	client *plugin.Client
	remote *pluginrpc.Remote
	dead   bool // killed on purpose: never restart
}

// start launches the process, checks the handshake, loads the description
// and passes the settings. On any failure the process is killed.
func (p *proc) start(ctx context.Context) error {
	c, r, d, err := p.launch(ctx)
	if err != nil {
		return err
	}
	p.client, p.remote, p.desc = c, r, d
	return nil
}

func (p *proc) launch(ctx context.Context) (*plugin.Client, *pluginrpc.Remote, sdk.Description, error) {
	cmd := exec.Command(p.path)
	cmd.Dir = filepath.Dir(p.path)
	// SkipHostEnv keeps the host's secrets from plugins; pass only what a
	// plugin needs to run and log.
	cmd.Env = []string{"PATH=" + os.Getenv("PATH"), sdk.LogLevelEnv + "=" + p.m.cfg.Logger.GetLevel().String()}
	dieWithHost(cmd)
	// The descriptor channel: the plugin hands files to the host on it, so
	// file bytes never cross gRPC. Without it, everything streams.
	files, child, err := fdpass.Pair()
	if err == nil {
		cmd.ExtraFiles = []*os.File{child} // fd 3 in the plugin
		cmd.Env = append(cmd.Env, fdpass.EnvFD+"=3")
		defer child.Close()
	} else if !errors.Is(err, fdpass.ErrUnavailable) {
		p.log.Warn("no descriptor channel; files will stream over gRPC", "error", err)
	}
	client := plugin.NewClient(&plugin.ClientConfig{
		HandshakeConfig:  pb.Handshake,
		Plugins:          plugin.PluginSet{pb.PluginName: &pluginrpc.Plugin{Name: filepath.Base(p.path), Files: files}},
		Cmd:              cmd,
		AllowedProtocols: []plugin.Protocol{plugin.ProtocolGRPC},
		Logger:           p.m.cfg.Logger,
		StartTimeout:     p.m.cfg.StartTimeout,
		GRPCDialOptions:  pluginrpc.DialOptions(),
		SkipHostEnv:      true,
	})
	fail := func(err error) (*plugin.Client, *pluginrpc.Remote, sdk.Description, error) {
		client.Kill()
		if files != nil {
			files.Close()
		}
		return nil, nil, sdk.Description{}, err
	}
	rpc, err := client.Client()
	if err != nil {
		return fail(err)
	}
	raw, err := rpc.Dispense(pb.PluginName)
	if err != nil {
		return fail(err)
	}
	remote, ok := raw.(*pluginrpc.Remote)
	if !ok {
		return fail(errorf("plugin served %T, not a command", raw))
	}
	ctx, cancel := context.WithTimeout(ctx, p.m.cfg.StartTimeout)
	defer cancel()
	d, err := remote.Load(ctx)
	if err != nil {
		return fail(err)
	}
	if p.desc.Verb != "" && d.Verb != p.desc.Verb {
		return fail(errorf("restarted plugin changed its verb from %q to %q", p.desc.Verb, d.Verb))
	}
	if err := remote.Configure(ctx, p.m.settings(d.Verb)); err != nil {
		return fail(err)
	}
	return client, remote, d, nil
}

// Describe returns the description the plugin gave at start.
func (p *proc) Describe() sdk.Description { return p.desc }

// live returns the running process's command, restarting a crashed one.
func (p *proc) live(ctx context.Context) (*pluginrpc.Remote, error) {
	p.mu.Lock()
	defer p.mu.Unlock()
	if p.dead {
		return nil, errors.New("plugin stopped")
	}
	if p.client != nil && !p.client.Exited() {
		return p.remote, nil
	}
	p.log.Warn("plugin process exited; starting it again", "path", p.path)
	if p.client != nil {
		p.client.Kill()
		p.remote.Close()
	}
	c, r, _, err := p.launch(ctx)
	if err != nil {
		p.client, p.remote = nil, nil
		return nil, err
	}
	p.client, p.remote = c, r
	return r, nil
}

// Run serves a request on the live process. A crash mid-request fails this
// request with "unavailable"; the next one starts a new process.
func (p *proc) Run(ctx context.Context, req *sdk.Request, w sdk.ResponseWriter) error {
	r, err := p.live(ctx)
	if err != nil {
		return &sdk.Error{Code: sdk.CodeUnavailable,
			Message: "the " + p.desc.Verb + " plugin is not available: " + err.Error(), Err: err}
	}
	return r.Run(ctx, req, w)
}

func (p *proc) kill() {
	p.mu.Lock()
	p.dead = true
	c, r := p.client, p.remote
	p.client, p.remote = nil, nil
	p.mu.Unlock()
	if c != nil {
		c.Kill()
		r.Close()
	}
}
