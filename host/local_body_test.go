package host

import (
	"bytes"
	"context"
	"crypto/rand"
	"errors"
	"net"
	"os"
	"path/filepath"
	"testing"
	"time"

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
