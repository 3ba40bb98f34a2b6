package host

import (
	"bytes"
	"os"
	"os/exec"
	"path/filepath"
	"testing"
	"time"

	"github.com/selectftp/selectftp/host/auth"
	"github.com/selectftp/selectftp/plugins"
	"github.com/selectftp/selectftp/protocol"
	"github.com/selectftp/selectftp/sdk"
)

// TestLocalGetPluginSendsFile: with get as a real plugin process, the
// descriptor the plugin hands over reaches Output.SendFile (the front's
// zero-copy path): every byte of the download comes through SendFile,
// none through Write, and a resumed download starts at its offset. The
// user's download rate paces it.
func TestLocalGetPluginSendsFile(t *testing.T) {
	if testing.Short() {
		t.Skip("builds a plugin")
	}
	pdir := t.TempDir()
	build := exec.Command("go", "build", "-o", filepath.Join(pdir, "get"), "github.com/selectftp/selectftp/plugins/get/plugin")
	if out, err := build.CombinedOutput(); err != nil {
		t.Fatalf("build the get plugin: %v\n%s", err, out)
	}
	const rate = 256 << 10
	srv := localServerWith(t, localUsers(t, auth.Limits{RateDown: rate}), func(s *Server) {
		s.PluginDir = pdir
	}, "get")
	data := bytes.Repeat([]byte("plugin-sendfile!"), 48<<10) // 768 KiB
	if err := os.MkdirAll(filepath.Join(srv.Root, "alice"), 0o750); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(srv.Root, "alice", "f.bin"), data, 0o600); err != nil {
		t.Fatal(err)
	}
	if src := srv.reg.source("get"); src == "in-process" || src == "" {
		t.Fatalf("get is served by %q, want the plugin", src)
	}
	l := localLogin(t, srv, "127.0.0.1", "alice", "alice-pw")
	out := &memOut{}
	start := time.Now()
	r := call(t, l, Call{Verb: "get", Args: []string{"f.bin"}, Out: out})
	took := time.Since(start)
	wantCode(t, r, protocol.CodeOK)
	if !bytes.Equal(out.buf.Bytes(), data) || out.sentBytes != int64(len(data)) {
		t.Fatalf("get through the plugin: %d bytes, %d of them through SendFile; want all %d through SendFile",
			out.buf.Len(), out.sentBytes, len(data))
	}
	// 768 KiB at 256 KiB/s with a 25.6 KiB burst: about 2.9 s.
	if min := 2 * time.Second; took < min {
		t.Fatalf("768 KiB at %d B/s took %v, want at least %v", rate, took, min)
	}
	if _, ok := r.Meta["size"]; !ok {
		t.Fatalf("the plugin's metadata did not come back: %v", r.Meta)
	}
	out = &memOut{}
	r = call(t, l, Call{Verb: "get", Args: []string{"f.bin"}, Params: map[string]any{"offset": len(data) - 100}, Out: out})
	wantCode(t, r, protocol.CodeOK)
	if !bytes.Equal(out.buf.Bytes(), data[len(data)-100:]) || out.sentBytes != 100 {
		t.Fatalf("get from an offset: %d bytes, %d through SendFile", out.buf.Len(), out.sentBytes)
	}
}

// localServerWith is localServer with the standard verbs but skip
// registered in-process (so a plugin may serve them), and waits until
// every skipped verb is served.
func localServerWith(t *testing.T, users auth.Store, tune func(*Server), skip ...string) *Server {
	t.Helper()
	var cmds []sdk.Command
	for _, c := range plugins.Standard() {
		if !contains(skip, c.Describe().Verb) {
			cmds = append(cmds, c)
		}
	}
	s := localServerCmds(t, users, tune, cmds)
	for _, v := range skip {
		for deadline := time.Now().Add(30 * time.Second); s.reg.source(v) == ""; {
			if time.Now().After(deadline) {
				t.Fatalf("no plugin serves %s", v)
			}
			time.Sleep(10 * time.Millisecond) // polling the plugin scan, bounded
		}
	}
	return s
}

func contains(ss []string, s string) bool {
	for _, x := range ss {
		if x == s {
			return true
		}
	}
	return false
}

// source is the file serving verb ("in-process" or a plugin's path; ""
// when none does), for tests.
func (r *registry) source(verb string) string {
	e, ok := r.lookup(verb)
	if !ok {
		return ""
	}
	return e.source
}
