package main

import (
	"bytes"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
	"time"
)

// SIGKILL of the whole server (its plugins die with it through Pdeathsig)
// in a loop while several client processes upload many small files: after
// a restart, the root holds only complete files under the names the clients
// gave, and nothing of the dead uploads, under any name. A staging name is
// refused by get and put.
func TestKillDuringPutsLeavesNothing(t *testing.T) {
	needBinaries(t)
	const (
		rounds   = 10  // server kills
		clients  = 6   // client processes per round
		perRound = 300 // puts in each client's script
		sources  = 8   // distinct local files
	)
	root := filepath.Join(t.TempDir(), "root")
	if err := os.Mkdir(root, 0o755); err != nil {
		t.Fatal(err)
	}
	local := t.TempDir()
	want := map[string][]byte{}
	for i := range sources {
		want[fmt.Sprint(i)] = writeRandom(t, filepath.Join(local, fmt.Sprintf("f%d", i)), 100+i*300, int64(i+1))
	}
	// rROUND-cCLIENT-N.SOURCE, or shared-N.SOURCE (replaced many times)
	realName := regexp.MustCompile(`^(r\d+-c\d+|shared)-\d+$`)

	leftovers := func() []string {
		var out []string
		for _, f := range listFiles(t, root) {
			if strings.HasPrefix(filepath.Base(f), ".") {
				out = append(out, f)
			}
		}
		return out
	}
	start := time.Now()
	leftByKills := 0 // staging files found right after each kill
	for round := range rounds {
		s := startServer(t, []string{"--root", root}, "put", "get")
		before := len(listFiles(t, root))
		var cmds []*exec.Cmd
		for c := range clients {
			var script strings.Builder
			for i := range perRound {
				src := (i + c) % sources
				if i%3 == 2 { // a replacement: linked under a staging name, renamed over
					fmt.Fprintf(&script, "put f%d shared-%d.%d\n", src, i%4, src)
					continue
				}
				fmt.Fprintf(&script, "put f%d r%d-c%d-%d.%d\n", src, round, c, i, src)
			}
			cmd := exec.Command(bins.client, "--addr", s.addr, "-q")
			cmd.Dir, cmd.Stdin, cmd.Stderr = local, strings.NewReader(script.String()), &bytes.Buffer{}
			if err := cmd.Start(); err != nil {
				t.Fatal(err)
			}
			cmds = append(cmds, cmd)
		}
		// Kill once uploads are landing: a varying number per round, so
		// the kill falls at varying points of a put.
		waitFor(t, "uploads to land", func() bool { return len(listFiles(t, root)) >= before+20+round*7 })
		s.cmd.Process.Kill()
		<-s.exited
		waitFor(t, "the plugins to die with the server", func() bool { return len(processesUnder(s.plugins)) == 0 })
		leftByKills += len(leftovers())
		for _, cmd := range cmds {
			done := make(chan struct{})
			go func() { cmd.Wait(); close(done) }()
			select {
			case <-done:
			case <-time.After(20 * time.Second):
				cmd.Process.Kill()
				<-done
				t.Errorf("a client did not end after the server died")
			}
		}
	}
	beforeRestart := leftovers()
	t.Logf("%d kills in %v: %d files; after the kills %d staging leftovers in all (each start sweeps), %d before the final start",
		rounds, time.Since(start).Round(time.Millisecond), len(listFiles(t, root)), leftByKills, len(beforeRestart))

	// CLI puts are resumable: a kill leaves their partials for put -c,
	// hidden, until resume_ttl. A tiny one makes the restart's sweep take
	// them too, so nothing at all may remain.
	settings := filepath.Join(t.TempDir(), "settings.json")
	if err := os.WriteFile(settings, []byte(`{"put":{"resume_ttl":"1ms"}}`), 0o644); err != nil {
		t.Fatal(err)
	}
	s := startServer(t, []string{"--root", root, "--plugin-settings", settings}, "put", "get")
	// The first put on the root sweeps what dead uploads left.
	if r := s.clientIn(local, "", "put", "f0", "after-restart"); r.code != 0 {
		t.Fatalf("put after the restart: %+v", r)
	}
	if got := leftovers(); len(got) != 0 {
		t.Errorf("after the restart %d staging leftovers remain (of %d before): %q", len(got), len(beforeRestart), got)
	}
	for _, f := range listFiles(t, root) {
		if f == "after-restart" {
			continue
		}
		m := realName.FindStringSubmatch(strings.TrimSuffix(f, filepath.Ext(f)))
		if m == nil {
			t.Errorf("unexpected file %q", f)
			continue
		}
		got, err := os.ReadFile(filepath.Join(root, f))
		if src := strings.TrimPrefix(filepath.Ext(f), "."); err != nil || !bytes.Equal(got, want[src]) {
			t.Errorf("%s holds %d bytes (%v), want the %d of source %s", f, len(got), err, len(want[src]), src)
		}
	}

	// A staging name is never served nor written, even when such a file
	// exists (a live upload of another server, or a leftover not swept).
	staged := ".selectftp-part-1-0123456789abcdef"
	if err := os.WriteFile(filepath.Join(root, staged), []byte("partial"), 0o644); err != nil {
		t.Fatal(err)
	}
	if r := s.clientIn(local, "", "get", staged, "-"); r.code == 0 || !strings.Contains(r.stderr, "bad_request") || r.stdout != "" {
		t.Errorf("get of a staging name: %+v", r)
	}
	if r := s.clientIn(local, "", "put", "f1", staged); r.code == 0 || !strings.Contains(r.stderr, "bad_request") {
		t.Errorf("put to a staging name: %+v", r)
	}
	if got, _ := os.ReadFile(filepath.Join(root, staged)); string(got) != "partial" {
		t.Errorf("put wrote the staging name: %q", got)
	}
}
