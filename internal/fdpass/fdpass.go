// Package fdpass passes open descriptors between a plugin and the host over
// a Unix socket pair made when the plugin starts (SCM_RIGHTS). The plugin
// hands the host files, so the host can move a file's bytes itself with
// sendfile or write an upload straight into it; the host hands the plugin
// the directories of its roots, so a plugin never opens a root by a path
// that may since point elsewhere. gRPC still carries the decisions; this
// channel carries only descriptors, each tagged with a token that a gRPC
// message names. Each direction has its own token space.
package fdpass

import (
	"encoding/binary"
	"errors"
	"fmt"
	"os"
	"sync"
	"syscall"
	"time"
)

// EnvFD names the environment variable that tells a plugin which of its
// file descriptors is the channel.
const EnvFD = "SELECTFTP_FD_CHANNEL"

// ErrUnavailable means descriptor passing is not set up (or not supported
// on this system); callers fall back to streaming bytes.
var ErrUnavailable = errors.New("fdpass: descriptor passing unavailable")

// Receiver is the host's end of the channel: it collects descriptors sent
// by the plugin, by token, and sends the plugin its roots (Send).
type Receiver struct {
	mu      sync.Mutex
	cond    sync.Cond
	files   map[uint64]passed
	err     error
	closeFn func() error
	sendFn  func(token uint64, f syscall.Conn) error
	keep    bool // never expire: roots are sent once and taken when first named
}

// passed is a descriptor waiting to be taken.
type passed struct {
	f  *os.File
	at time.Time
}

// orphanAge is how long a passed descriptor may wait to be taken. One whose
// gRPC message never came (the request was cancelled in between) would
// otherwise pin its file, and an unnamed upload's disk space, until the
// plugin exits.
const orphanAge = time.Minute

func newReceiver(closeFn func() error) *Receiver {
	r := &Receiver{files: map[uint64]passed{}, closeFn: closeFn}
	r.cond.L = &r.mu
	return r
}

func (r *Receiver) put(token uint64, f *os.File) {
	r.mu.Lock()
	defer r.mu.Unlock()
	now := time.Now()
	for t, p := range r.files {
		if (!r.keep && now.Sub(p.at) > orphanAge) || t == token {
			p.f.Close()
			delete(r.files, t)
		}
	}
	r.files[token] = passed{f, now}
	r.cond.Broadcast()
}

func (r *Receiver) fail(err error) {
	r.mu.Lock()
	defer r.mu.Unlock()
	if r.err == nil {
		r.err = err
	}
	r.cond.Broadcast()
}

// Take waits up to timeout for the descriptor sent with token and hands it
// over; the caller closes it. The gRPC message naming a token may overtake
// the descriptor, hence the wait.
func (r *Receiver) Take(token uint64, timeout time.Duration) (*os.File, error) {
	r.mu.Lock()
	if p, ok := r.files[token]; ok { // the usual case: no timer needed
		delete(r.files, token)
		r.mu.Unlock()
		return p.f, nil
	}
	r.mu.Unlock()
	deadline := time.Now().Add(timeout)
	timer := time.AfterFunc(timeout, func() {
		r.mu.Lock()
		r.cond.Broadcast()
		r.mu.Unlock()
	})
	defer timer.Stop()
	r.mu.Lock()
	defer r.mu.Unlock()
	for {
		if p, ok := r.files[token]; ok {
			delete(r.files, token)
			return p.f, nil
		}
		if r.err != nil {
			return nil, fmt.Errorf("fdpass: channel closed: %w", r.err)
		}
		if time.Now().After(deadline) {
			return nil, fmt.Errorf("fdpass: no descriptor for token %d within %v", token, timeout)
		}
		r.cond.Wait()
	}
}

// Send passes a duplicate of f's descriptor to the plugin, tagged with
// token; the plugin takes it with Sender.Take.
func (r *Receiver) Send(token uint64, f syscall.Conn) error {
	if r.sendFn == nil {
		return ErrUnavailable
	}
	return r.sendFn(token, f)
}

// Close shuts the channel and closes descriptors nobody took.
func (r *Receiver) Close() error {
	err := r.closeFn()
	r.fail(errors.New("closed"))
	r.mu.Lock()
	defer r.mu.Unlock()
	for t, p := range r.files {
		p.f.Close()
		delete(r.files, t)
	}
	return err
}

func encodeToken(t uint64) []byte { return binary.BigEndian.AppendUint64(nil, t) }
