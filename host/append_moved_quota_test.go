package host

import (
	"bytes"
	"context"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/selectftp/selectftp/host/auth"
	"github.com/selectftp/selectftp/protocol"
)

// gateReader signals its first Read, then waits for release before it
// reads r: a body that stalls while another session acts.
type gateReader struct {
	first, release chan struct{}
	r              io.Reader
	started        bool
}

func (g *gateReader) Read(p []byte) (int, error) {
	if !g.started {
		g.started = true
		close(g.first)
		<-g.release
	}
	return g.r.Read(p)
}

// TestAppendMovedAwayKeepsQuota (review s15 finding 1): the host counts an
// append's kept bytes as the file they were copied from, so the append may
// only replace that file. Moving (or removing) the file while the append's
// body stalls used to land the copy on the empty name as a new file, and
// each round stored the whole file again past the byte quota (9,000 of
// 10,000 grew to 54,000 in six files). Now the append fails busy and the
// tree stays within the quota, counted exactly.
func TestAppendMovedAwayKeepsQuota(t *testing.T) {
	const quota = 10000
	s := localServer(t, localUsers(t, auth.Limits{QuotaBytes: quota}), nil)
	dir := filepath.Join(s.Root, "alice")
	a := localLogin(t, s, "127.0.0.1", "alice", "alice-pw")
	b := localLogin(t, s, "127.0.0.1", "alice", "alice-pw")
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	if _, err := a.Call(ctx, Call{Verb: "put", Args: []string{"f"}, Body: bytes.NewReader(make([]byte, 9000)), Size: 9000}); err != nil {
		t.Fatalf("put f: %v", err)
	}
	// Rounds 0-2 move f away during the append (and back after), round 3
	// removes it: either way the name is empty when the append commits.
	for round := range 4 {
		g := &gateReader{first: make(chan struct{}), release: make(chan struct{}), r: bytes.NewReader([]byte("tail"))}
		done := make(chan Result, 1)
		go func() {
			r, err := a.Call(ctx, Call{Verb: "put", Args: []string{"f"}, Params: map[string]any{"append": true}, Body: g, Size: -1})
			if err != nil {
				r.Status.Message = err.Error()
			}
			done <- r
		}()
		select {
		case <-g.first:
		case r := <-done:
			t.Fatalf("round %d: the append ended before its body was read: %s %s", round, r.Status.Code, r.Status.Message)
		case <-ctx.Done():
			t.Fatal("the append never asked for its body")
		}
		moved := fmt.Sprintf("g%d", round)
		if round < 3 {
			wantCode(t, call(t, b, Call{Verb: "mv", Args: []string{"f", moved}}), protocol.CodeOK)
		} else {
			wantCode(t, call(t, b, Call{Verb: "rm", Args: []string{"f"}}), protocol.CodeOK)
		}
		close(g.release)
		var r Result
		select {
		case r = <-done:
		case <-ctx.Done():
			t.Fatal("the append did not end")
		}
		if r.Status.Code != protocol.CodeBusy {
			t.Errorf("round %d: the append whose file left the name ended %s (%s), want busy", round, r.Status.Code, r.Status.Message)
		}
		if round < 3 {
			wantCode(t, call(t, b, Call{Verb: "mv", Args: []string{moved, "f"}}), protocol.CodeOK)
		}
	}
	var total int64
	ents, _ := os.ReadDir(dir)
	for _, e := range ents {
		if fi, err := e.Info(); err == nil {
			total += fi.Size()
		}
	}
	if total > quota {
		t.Errorf("alice stores %d bytes with a quota of %d", total, quota)
	}
	wantUsage(t, s, dir)
}
