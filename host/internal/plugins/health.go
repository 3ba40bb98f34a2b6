package plugins

import (
	"os/exec"
	"sync"
	"time"

	plugin "github.com/hashicorp/go-plugin"

	"github.com/selectftp/selectftp/internal/pluginrpc"
)

// killGrace bounds a graceful stop: go-plugin's Kill asks the plugin to
// shut down and waits for an answer that a stopped process never gives.
const killGrace = 5 * time.Second

// instance is one process of a plugin.
type instance struct {
	client *plugin.Client
	remote *pluginrpc.Remote
	cmd    *exec.Cmd
	active sync.WaitGroup // requests running on it; Add only under proc.mu
	stop   chan struct{}  // closed when retired: its watcher returns
	once   sync.Once
}

// healthRetry is how soon a ping follows a missed one: a plugin that is
// really stuck is then killed within about HealthInterval + HealthFailures
// × HealthTimeout + (HealthFailures-1) × healthRetry (16s by default), not
// HealthFailures full intervals.
const healthRetry = time.Second

// watch pings in every HealthInterval until it is retired or exits. A
// process that misses HealthFailures pings in a row (stopped, hung, out of
// threads) is killed, which fails its requests with "unavailable"; the
// next request starts a new process. One missed ping is not enough: on a
// loaded machine a healthy plugin can miss one (a GC pause, an fsync). A
// process that exited is left to live, which restarts it.
func (p *proc) watch(in *instance) {
	cfg := p.m.cfg
	if cfg.HealthInterval < 0 {
		return
	}
	retry := min(cfg.HealthInterval, healthRetry)
	t := time.NewTimer(cfg.HealthInterval)
	defer t.Stop()
	missed := 0
	for {
		select {
		case <-in.stop:
			return
		case <-t.C:
		}
		if in.client.Exited() {
			return
		}
		err := ping(in.client, cfg.HealthTimeout)
		if err == nil {
			if missed > 0 {
				p.log.Info("plugin process answers its health check again", "path", p.path, "missed", missed)
			}
			missed = 0
			t.Reset(cfg.HealthInterval)
			continue
		}
		if missed++; missed < cfg.HealthFailures {
			p.log.Warn("plugin process missed a health check", "path", p.path, "missed", missed, "of", cfg.HealthFailures, "error", err)
			t.Reset(retry)
			continue
		}
		p.mu.Lock()
		current := p.cur == in
		if current {
			p.cur = nil // new requests start a new process
		}
		p.mu.Unlock()
		if !current || in.client.Exited() {
			return // retired or crashed meanwhile: nothing to add
		}
		pid := 0
		if in.cmd.Process != nil {
			pid = in.cmd.Process.Pid
		}
		p.log.Error("plugin process stopped answering its health check; killing it", "path", p.path, "pid", pid, "missed", missed, "error", err)
		in.retire(true)
		return
	}
}

// ping asks the plugin's gRPC health service, which go-plugin serves, and
// gives up after timeout: Ping takes no context.
func ping(c *plugin.Client, timeout time.Duration) error {
	rpc, err := c.Client()
	if err != nil {
		return err
	}
	done := make(chan error, 1)
	go func() { done <- rpc.Ping() }() // returns when the process is killed
	t := time.NewTimer(timeout)
	defer t.Stop()
	select {
	case err := <-done:
		return err
	case <-t.C:
		return errorf("no answer in %v", timeout)
	}
}

// retire ends the process and releases what the host holds for it. hard
// kills at once; otherwise the plugin is asked to exit and killed only if
// it has not within killGrace.
func (in *instance) retire(hard bool) {
	in.once.Do(func() {
		close(in.stop)
		if hard {
			killProcess(in.cmd)
			// Let the requests see the broken connection (unavailable)
			// before Kill closes it, which they would read as canceled.
			waitTimeout(&in.active, killGrace)
		}
		done := make(chan struct{})
		go func() { in.client.Kill(); close(done) }()
		select {
		case <-done:
		case <-time.After(killGrace):
			killProcess(in.cmd)
			<-done
		}
		in.remote.Close()
	})
}

// hardKill ends a process that failed to start.
func hardKill(c *plugin.Client, cmd *exec.Cmd) {
	killProcess(cmd)
	c.Kill()
}

func killProcess(cmd *exec.Cmd) {
	if cmd.Process != nil {
		cmd.Process.Kill() // SIGKILL ends a stopped process too
	}
}

func waitTimeout(wg *sync.WaitGroup, d time.Duration) {
	done := make(chan struct{})
	go func() { wg.Wait(); close(done) }()
	select {
	case <-done:
	case <-time.After(d):
	}
}
