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
	"github.com/selectftp/selectftp/internal/pluginrpc/plugside"
	"github.com/selectftp/selectftp/sdk"
)

// proc is one plugin binary and its current process. It is the sdk.Command
// the host registers: each Run uses the live process, starting a new one
// first if the last one exited.
type proc struct {
	m    *Manager
	path string
	id   fileID // the checked file's identity; a restart needs the same
	log  hclog.Logger
	desc sdk.Description

	mu   sync.Mutex
	cur  *instance // nil: start one at the next request
	dead bool      // killed on purpose: never restart
}

// start launches the process from the checked file f, checks the
// handshake, loads the description and passes the settings. On any
// failure the process is killed.
func (p *proc) start(ctx context.Context, f *os.File) error {
	in, d, err := p.launch(ctx, f)
	if err != nil {
		return err
	}
	p.cur, p.desc = in, d
	go p.watch(in)
	return nil
}

func (p *proc) launch(ctx context.Context, f *os.File) (*instance, sdk.Description, error) {
	exe, exeFile, err := execPath(f)
	if err != nil {
		return nil, sdk.Description{}, err
	}
	// The process has exec'd (or failed to) once Client returns.
	defer exeFile.Close()
	cmd := exec.Command(exe)
	cmd.Args[0] = p.path // what ps shows; /proc/PID/exe names the file too
	cmd.Dir = filepath.Dir(p.path)
	// SkipHostEnv keeps the host's secrets from plugins; pass only what a
	// plugin needs to run and log.
	cmd.Env = []string{"PATH=" + os.Getenv("PATH"), plugside.LogLevelEnv + "=" + p.m.cfg.Logger.GetLevel().String()}
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
	fail := func(err error) (*instance, sdk.Description, error) {
		hardKill(client, cmd)
		if files != nil {
			files.Close()
		}
		return nil, sdk.Description{}, err
	}
	rpc, err := client.Client()
	if err != nil {
		if isScript(f) {
			err = errorf("%s is a \"#!\" script, and plugins run from the descriptor that was checked, which a script's interpreter cannot open: plugins must be compiled executables (%w)", p.path, err)
		}
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
	return &instance{client: client, remote: remote, cmd: cmd, stop: make(chan struct{})}, d, nil
}

// Describe returns the description the plugin gave at start.
func (p *proc) Describe() sdk.Description { return p.desc }

// live returns the running process, restarting a crashed one from its
// file, opened and checked again. The caller calls in.active.Done() when its
// request ends.
func (p *proc) live(ctx context.Context) (*instance, error) {
	p.mu.Lock()
	defer p.mu.Unlock()
	if p.dead {
		return nil, errors.New("plugin stopped")
	}
	if in := p.cur; in != nil && !in.client.Exited() {
		in.active.Add(1)
		return in, nil
	}
	if p.cur != nil {
		p.log.Warn("plugin process exited; starting it again", "path", p.path)
		go p.cur.retire(true) // its requests may still be ending
		p.cur = nil
	}
	f, id, err := p.m.reopen(p.path)
	if err != nil {
		p.log.Error("plugin not restarted: its file fails the checks", "path", p.path, "error", err)
		return nil, err
	}
	defer f.Close()
	if id != p.id {
		// A legitimate replacement is loaded by the next rescan, as a new
		// plugin; a restart only ever runs the file that was checked.
		err := errorf("%s changed since it was loaded; the rescan will load it", p.path)
		p.log.Warn("plugin not restarted", "path", p.path, "error", err)
		return nil, err
	}
	in, _, err := p.launch(ctx, f)
	if err != nil {
		return nil, err
	}
	p.cur = in
	go p.watch(in)
	in.active.Add(1)
	return in, nil
}

// Run serves a request on the live process. A crash mid-request, or a
// process killed for failing its health check, fails this request with
// "unavailable"; the next one starts a new process.
func (p *proc) Run(ctx context.Context, req *sdk.Request, w sdk.ResponseWriter) error {
	in, err := p.live(ctx)
	if err != nil {
		return &sdk.Error{Code: sdk.CodeUnavailable,
			Message: "the " + p.desc.Verb + " plugin is not available: " + err.Error(), Err: err}
	}
	defer in.active.Done()
	return in.remote.Run(ctx, req, w)
}

// kill stops the plugin for good (removed, replaced or shutting down).
func (p *proc) kill() {
	p.mu.Lock()
	p.dead = true
	in := p.cur
	p.cur = nil
	p.mu.Unlock()
	if in != nil {
		in.retire(false)
	}
}
