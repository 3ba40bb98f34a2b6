package main

import (
	"fmt"
	"net"
	"os"
	"os/signal"
	"syscall"

	"github.com/hashicorp/go-hclog"

	"github.com/selectftp/selectftp/host/users"
)

// loadUsers reads --users FILE, logging what the load found wrong without
// refusing (a file others may read).
func loadUsers(path string, log hclog.Logger) (*users.File, error) {
	f, err := users.Load(path)
	if err != nil {
		return nil, err
	}
	for _, w := range f.Warnings() {
		log.Warn(w, "users", path)
	}
	return f, nil
}

// reloadOnHUP reloads the users file on each SIGHUP. Sessions keep the
// account they logged in with; new logins see the new file. A file that
// does not load keeps the last good one.
func reloadOnHUP(f *users.File, log hclog.Logger) (stop func()) {
	hup := make(chan os.Signal, 1)
	signal.Notify(hup, syscall.SIGHUP)
	done := make(chan struct{})
	go func() {
		for {
			select {
			case <-done:
				return
			case <-hup:
			}
			if err := f.Reload(); err != nil {
				log.Error("users file not reloaded; the last good one stays", "users", f.Path(), "error", err)
				continue
			}
			log.Info("users file reloaded", "users", f.Path(), "users_count", len(f.List()))
			for _, w := range f.Warnings() {
				log.Warn(w, "users", f.Path())
			}
		}
	}()
	return func() { signal.Stop(hup); close(done) }
}

// listen binds addr, and refuses an address other hosts can reach unless
// the operator said --insecure: there is no TLS yet, so whatever the
// login protects, file names and contents would cross the network in
// clear. The bound address decides ("localhost", "[::1]" and 127.0.0.0/8
// are loopback; "" and 0.0.0.0 are not).
func listen(addr string, insecure, withUsers, withTLS bool, log hclog.Logger) (net.Listener, error) {
	ln, err := net.Listen("tcp", addr)
	if err != nil {
		return nil, err
	}
	loopback := false
	if ta, ok := ln.Addr().(*net.TCPAddr); ok {
		loopback = ta.IP.IsLoopback()
	}
	switch {
	case !loopback && withUsers && withTLS:
	case !loopback && !insecure && withTLS:
		ln.Close()
		return nil, fmt.Errorf("refusing to listen on %s, which other hosts can reach, without --users: "+
			"anyone who connects would read, overwrite and delete every file. Add --users FILE, or pass --insecure to accept that", addr)
	case !loopback && !insecure:
		ln.Close()
		return nil, fmt.Errorf("refusing to listen on %s, which other hosts can reach, without TLS: "+
			"file names and contents would cross the network in clear. Listen on 127.0.0.1, or pass --insecure to accept that", addr)
	case !loopback && !withUsers:
		log.Warn("--insecure: serving anonymously on an address other hosts can reach; anyone who connects reads, overwrites and deletes every file", "addr", ln.Addr().String())
	case !loopback:
		log.Warn("--insecure: serving without TLS on an address other hosts can reach; passwords never cross the wire, but file names and contents do, in clear", "addr", ln.Addr().String())
	case !withUsers:
		log.Info("serving anonymously: no --users, so every local client reads and writes the whole root", "addr", ln.Addr().String())
	}
	return ln, nil
}
