package host

import (
	"bytes"
	"context"
	"crypto/rand"
	"errors"
	"fmt"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"sync"
	"testing"
	"time"

	"github.com/selectftp/selectftp/host/auth"
	"github.com/selectftp/selectftp/protocol"
	"github.com/selectftp/selectftp/sdk"
)

// bodyFileCmd writes its body into a file the way put's plugin path does
// (pluginrpc.BodyFileWriter), and says whether the body read its source
// directly.
type bodyFileCmd struct{ dir string }

func (bodyFileCmd) Describe() sdk.Description { return sdk.Description{Verb: "bodyfile"} }

func (c bodyFileCmd) Run(ctx context.Context, req *sdk.Request, w sdk.ResponseWriter) error {
	bw, ok := req.Body.(interface {
		WriteBodyTo(f *os.File, off, limit int64) (int64, []byte, bool, error)
	})
	if !ok {
		return sdk.Errorf(sdk.CodeInternal, "the body cannot write into a file")
	}
	f, err := os.Create(filepath.Join(c.dir, "out"))
	if err != nil {
		return err
	}
	defer f.Close()
	_, isDirect := req.Body.(*directBody)
	w.SetMeta("direct", isDirect)
	_, _, _, err = bw.WriteBodyTo(f, 0, -1)
	return err
}

// tcpPair is a loopback TCP connection: the client end and the server end.
func tcpPair(t *testing.T) (net.Conn, net.Conn) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	c, err := net.Dial("tcp", ln.Addr().String())
	if err != nil {
		t.Fatal(err)
	}
	s, err := ln.Accept()
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { c.Close(); s.Close() })
	return c, s
}

// A body from a connection goes straight into the command's file, whole,
// and a body longer than its declared size is refused.
func TestLocalDirectBodyWhole(t *testing.T) {
	dir := t.TempDir()
	s := localServerCmds(t, nil, nil, []sdk.Command{bodyFileCmd{dir}})
	l := localLogin(t, s, "127.0.0.1", "anonymous", "")
	want := make([]byte, 3<<20+5)
	rand.Read(want)
	client, server := tcpPair(t)
	go func(c net.Conn) { c.Write(want); c.Close() }(client)
	r := call(t, l, Call{Verb: "bodyfile", Body: server, Size: int64(len(want))})
	wantCode(t, r, protocol.CodeOK)
	if r.Meta["direct"] != true {
		t.Fatalf("a connection's body went through the body buffer (meta %v)", r.Meta)
	}
	if got, _ := os.ReadFile(filepath.Join(dir, "out")); !bytes.Equal(got, want) {
		t.Fatalf("wrote %d bytes, want %d, equal=false", len(got), len(want))
	}

	client, server = tcpPair(t)
	go func(c net.Conn) { c.Write(want); c.Close() }(client)
	r = call(t, l, Call{Verb: "bodyfile", Body: server, Size: int64(len(want) - 1)})
	wantCode(t, r, protocol.CodeChecksum)
}

// A cancelled call interrupts the direct read of a silent source.
func TestLocalDirectBodyCancelled(t *testing.T) {
	dir := t.TempDir()
	s := localServerCmds(t, nil, nil, []sdk.Command{bodyFileCmd{dir}})
	l := localLogin(t, s, "127.0.0.1", "anonymous", "")
	client, server := tcpPair(t)
	client.Write(make([]byte, 1000)) // then silence
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan struct{})
	var r Result
	var err error
	go func() {
		r, err = l.Call(ctx, Call{Verb: "bodyfile", Body: server, Size: -1})
		close(done)
	}()
	for deadline := time.Now().Add(10 * time.Second); ; { // until the command has read the 1000 bytes
		if fi, _ := os.Stat(filepath.Join(dir, "out")); fi != nil && fi.Size() == 1000 {
			break
		}
		if time.Now().After(deadline) {
			t.Fatal("the command did not get the first bytes")
		}
		time.Sleep(5 * time.Millisecond) // polling, bounded by the deadline
	}
	cancel()
	select {
	case <-done:
	case <-time.After(10 * time.Second):
		t.Fatal("a cancelled call stayed blocked on its silent source")
	}
	if !errors.Is(err, context.Canceled) || r.Status.Code != protocol.CodeCanceled {
		t.Fatalf("cancelled call: %v, status %s", err, r.Status.Code)
	}
}

// sendAll writes b on c in the background and closes c: an FTP client's
// data connection sending a whole file.
func sendAll(c net.Conn, b []byte) {
	go func() { c.Write(b); c.Close() }()
}

// The byte quota holds a body read straight from its connection: a
// stream over it is refused and no byte past the quota is written.
func TestLocalDirectBodyQuota(t *testing.T) {
	const quota = 100 << 10
	out := t.TempDir()
	s := localServerCmds(t, localUsers(t, auth.Limits{QuotaBytes: quota}), nil, []sdk.Command{bodyFileCmd{out}})
	alice := localLogin(t, s, "127.0.0.1", "alice", "alice-pw")
	client, server := tcpPair(t)
	sendAll(client, make([]byte, 1<<20))
	r := call(t, alice, Call{Verb: "bodyfile", Body: server, Size: -1})
	if r.Meta["direct"] != true {
		t.Fatalf("the body did not take the direct path (meta %v)", r.Meta)
	}
	wantCode(t, r, protocol.CodeQuotaExceeded)
	if fi, err := os.Stat(filepath.Join(out, "out")); err != nil || fi.Size() > quota {
		t.Fatalf("a body over the quota wrote %v (%v), quota %d", fi.Size(), err, quota)
	}
}

// The user's quota and largest file hold put as a plugin process, the
// path an FTP STOR takes in selectftpd (put's body written by the host
// into put's staging file, read straight from the data connection):
// nothing over a limit is kept, and the usage stays what the tree holds.
func TestLocalDirectBodyPutPluginLimits(t *testing.T) {
	if testing.Short() {
		t.Skip("builds a plugin")
	}
	pdir := t.TempDir()
	build := exec.Command("go", "build", "-o", filepath.Join(pdir, "put"), "github.com/selectftp/selectftp/plugins/put/plugin")
	if out, err := build.CombinedOutput(); err != nil {
		t.Fatalf("build the put plugin: %v\n%s", err, out)
	}
	server := func(t *testing.T, lim auth.Limits) (*Server, string) {
		s := localServerWith(t, localUsers(t, lim), func(s *Server) { s.PluginDir = pdir }, "put")
		if src := s.reg.source("put"); src == "in-process" || src == "" {
			t.Fatalf("put is served by %q, want the plugin", src)
		}
		return s, filepath.Join(s.Root, "alice")
	}
	const quota = 100 << 10

	t.Run("quota", func(t *testing.T) {
		s, dir := server(t, auth.Limits{QuotaBytes: quota})
		alice := localLogin(t, s, "127.0.0.1", "alice", "alice-pw")
		client, conn := tcpPair(t)
		sendAll(client, make([]byte, 1<<20))
		wantCode(t, call(t, alice, Call{Verb: "put", Args: []string{"big"}, Body: conn, Size: -1}), protocol.CodeQuotaExceeded)
		if ents, _ := os.ReadDir(dir); len(ents) != 0 {
			t.Fatalf("an upload over the quota left %v", ents)
		}
		wantUsage(t, s, dir)
	})

	// Two uploads at once, each fitting the quota alone and not together,
	// are not both stored, however they interleave: each chunk is
	// reserved in the user's usage before it is written.
	t.Run("concurrent", func(t *testing.T) {
		const each = 60 << 10
		s, dir := server(t, auth.Limits{QuotaBytes: quota})
		var wg sync.WaitGroup
		codes := make([]protocol.Code, 2)
		for i := range codes {
			l := localLogin(t, s, "127.0.0.1", "alice", "alice-pw")
			client, conn := tcpPair(t)
			wg.Add(1)
			go func() {
				defer wg.Done()
				r, err := l.Call(context.Background(), Call{Verb: "put", Args: []string{fmt.Sprintf("f%d", i)}, Body: conn, Size: -1})
				if err != nil {
					t.Error(err)
				}
				codes[i] = r.Status.Code
			}()
			sendAll(client, make([]byte, each))
		}
		wg.Wait()
		if codes[0] == protocol.CodeOK && codes[1] == protocol.CodeOK {
			t.Fatalf("two uploads of %d bytes were both stored under a quota of %d", each, quota)
		}
		var stored int64
		ents, _ := os.ReadDir(dir)
		for _, e := range ents {
			if fi, err := e.Info(); err == nil {
				stored += fi.Size()
			}
		}
		if stored > quota {
			t.Fatalf("the tree holds %d bytes (%v), over the quota of %d", stored, codes, quota)
		}
		wantUsage(t, s, dir)
	})

	// Past the largest file the upload is refused and nothing is kept; at
	// it, it is stored; a resume counts the part kept before its offset.
	t.Run("largest file", func(t *testing.T) {
		const largest = 64 << 10
		// A quota far above, so that the server counts her usage.
		s, dir := server(t, auth.Limits{MaxFileSize: largest, QuotaBytes: 10 << 20})
		alice := localLogin(t, s, "127.0.0.1", "alice", "alice-pw")
		client, conn := tcpPair(t)
		sendAll(client, make([]byte, largest+1))
		wantCode(t, call(t, alice, Call{Verb: "put", Args: []string{"big"}, Body: conn, Size: -1}), protocol.CodeTooLarge)
		if ents, _ := os.ReadDir(dir); len(ents) != 0 {
			t.Fatalf("an upload over the largest file left %v", ents)
		}
		client, conn = tcpPair(t)
		sendAll(client, make([]byte, largest))
		wantCode(t, call(t, alice, Call{Verb: "put", Args: []string{"fits"}, Body: conn, Size: -1}), protocol.CodeOK)

		// 40 KiB kept, then 40 KiB more from its offset: 80 KiB in all,
		// over the largest file though the body alone is under it.
		wantCode(t, call(t, alice, resumable("r", abandoned(40<<10), -1, 0)), protocol.CodeCanceled)
		kept := partials(t, dir)
		if len(kept) != 1 || kept[0] == 0 {
			t.Fatalf("the abandoned upload kept %v", kept)
		}
		client, conn = tcpPair(t)
		sendAll(client, make([]byte, 40<<10))
		wantCode(t, call(t, alice, resumable("r", conn, -1, kept[0])), protocol.CodeTooLarge)
		if _, err := os.Stat(filepath.Join(dir, "r")); err == nil {
			t.Fatal("a resume over the largest file was stored")
		}
		wantUsage(t, s, dir)
	})
}
