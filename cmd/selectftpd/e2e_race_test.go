package main

// End-to-end test of issue 10's race: a folder in alice's tree is swapped
// for a symlink (into bob's tree, or out of the server's root) over and
// over while alice downloads from it, uploads into it and lists it. Each
// of her requests must fail or see her own bytes; none may read bob's or
// the outsider's, or write there. The plugins reach files through the
// session's os.Root, which resolves every element inside the tree; a
// plugin that joined paths would follow the swapped-in link.

import (
	"bytes"
	"context"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"golang.org/x/sys/unix"

	"github.com/selectftp/selectftp/client"
)

// raceFor bounds the race: every loop below stops when it ends, or at its
// own count, whichever comes first.
const raceFor = 3 * time.Second

func TestE2EFolderSwappedForSymlink(t *testing.T) {
	s, _ := startUsersServer(t)
	aliceDir, bobDir := filepath.Join(s.root, "alice"), filepath.Join(s.root, "bob")
	outside := filepath.Join(t.TempDir(), "outside") // not under the server's root
	const size = 4 << 20
	mine, bobs, outs := bytes.Repeat([]byte("A"), size), bytes.Repeat([]byte("B"), size), bytes.Repeat([]byte("O"), size)
	for dir, content := range map[string][]byte{aliceDir: mine, bobDir: bobs, outside: outs} {
		if err := os.MkdirAll(filepath.Join(dir, "d"), 0o750); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(filepath.Join(dir, "d", "big"), content, 0o600); err != nil {
			t.Fatal(err)
		}
	}
	tree(t, bobDir, map[string]string{"d/bob-only.txt": "bob's\n"})
	tree(t, outside, map[string]string{"d/out-only.txt": "outside\n"})
	// The links wait beside d and are exchanged with it atomically, so d
	// is always there: alice's folder or a link.
	links := []string{filepath.Join(aliceDir, "lnk-bob"), filepath.Join(aliceDir, "lnk-out")}
	if err := os.Symlink("../bob/d", links[0]); err != nil {
		t.Fatal(err)
	}
	if err := os.Symlink(filepath.Join(outside, "d"), links[1]); err != nil {
		t.Fatal(err)
	}
	d := filepath.Join(aliceDir, "d")
	bobBefore, outBefore := strings.Join(listFiles(t, bobDir), " "), strings.Join(listFiles(t, outside), " ")

	ctx, cancel := context.WithTimeout(t.Context(), raceFor)
	defer cancel()
	var swaps atomic.Int64
	var wg sync.WaitGroup
	wg.Add(1)
	go func() { // the swapper
		defer wg.Done()
		for i := 0; i < 1_000_000 && ctx.Err() == nil; i++ {
			l := links[i%2]
			if err := unix.Renameat2(unix.AT_FDCWD, d, unix.AT_FDCWD, l, unix.RENAME_EXCHANGE); err != nil {
				t.Errorf("swap: %v", err)
				return
			}
			swaps.Add(1)
			if err := unix.Renameat2(unix.AT_FDCWD, d, unix.AT_FDCWD, l, unix.RENAME_EXCHANGE); err != nil {
				t.Errorf("swap back: %v", err)
				return
			}
		}
	}()

	var gets, getsOK, puts, putsOK, putsCut, lists, listsOK atomic.Int64
	var mu sync.Mutex
	var leaks []string
	leak := func(format string, args ...any) {
		mu.Lock()
		defer mu.Unlock()
		if len(leaks) < 10 {
			leaks = append(leaks, fmt.Sprintf(format, args...))
		}
	}
	// each runs one of alice's loops on its own connection, dialling
	// again when a failure leaves the connection unusable.
	each := func(body func(c *client.Conn, i int)) {
		defer wg.Done()
		var c *client.Conn
		defer func() {
			if c != nil {
				c.Close()
			}
		}()
		for i := 0; i < 2000 && ctx.Err() == nil; i++ {
			if c == nil || c.Err() != nil {
				if c != nil {
					c.Close()
				}
				var err error
				dctx, dcancel := context.WithTimeout(t.Context(), 10*time.Second)
				c, err = client.Dial(dctx, s.addr, client.WithUser("alice", "alice-pw"))
				dcancel()
				if err != nil {
					t.Errorf("alice dial: %v", err)
					return
				}
			}
			body(c, i)
		}
	}
	wg.Add(3)
	go each(func(c *client.Conn, _ int) {
		gets.Add(1)
		var got bytes.Buffer
		err := c.Get(ctx, "d/big", &got, nil)
		if n := bytes.Count(got.Bytes(), []byte("A")); n != got.Len() {
			leak("get d/big served %d bytes not alice's (err %v)", got.Len()-n, err)
		}
		if err == nil {
			getsOK.Add(1)
		}
	})
	go each(func(c *client.Conn, i int) {
		puts.Add(1)
		err := c.Put(ctx, bytes.NewReader(mine[:256<<10]), 256<<10, fmt.Sprintf("d/up-%d", i), nil)
		switch {
		case err == nil:
			putsOK.Add(1)
		case ctx.Err() != nil:
			// Stopped waiting when the race ended: the server may
			// still have placed it, whole.
			putsCut.Add(1)
		}
	})
	go each(func(c *client.Conn, _ int) {
		lists.Add(1)
		ents, err := c.List(ctx, client.ListOptions{All: true}, "d")
		for _, e := range ents {
			if strings.Contains(e.Name, "only") {
				leak("ls d showed %s", e.Name)
			}
		}
		if err == nil {
			listsOK.Add(1)
		}
	})
	wg.Wait()
	t.Logf("%d swaps; gets %d/%d, puts %d/%d, lists %d/%d succeeded",
		swaps.Load(), getsOK.Load(), gets.Load(), putsOK.Load(), puts.Load(), listsOK.Load(), lists.Load())
	for _, l := range leaks {
		t.Error(l)
	}
	// Nothing was written into bob's tree or outside, and what is there
	// is theirs still.
	if got := strings.Join(listFiles(t, bobDir), " "); got != bobBefore {
		t.Errorf("bob's tree is now %q, was %q", got, bobBefore)
	}
	if got := strings.Join(listFiles(t, outside), " "); got != outBefore {
		t.Errorf("the folder outside is now %q, was %q", got, outBefore)
	}
	for dir, content := range map[string][]byte{bobDir: bobs, outside: outs} {
		if b, _ := os.ReadFile(filepath.Join(dir, "d", "big")); !bytes.Equal(b, content) {
			t.Errorf("%s/d/big changed", dir)
		}
	}
	// Every upload that succeeded is in alice's folder, whole.
	names, _ := os.ReadDir(d)
	ups := 0
	for _, e := range names {
		if strings.HasPrefix(e.Name(), "up-") {
			ups++
			if b, _ := os.ReadFile(filepath.Join(d, e.Name())); !bytes.Equal(b, mine[:256<<10]) {
				t.Errorf("alice's %s holds %d bytes, not what she sent", e.Name(), len(b))
			}
		}
	}
	if n := int64(ups); n < putsOK.Load() || n > putsOK.Load()+putsCut.Load() {
		t.Errorf("alice's folder holds %d uploads, %d succeeded (and %d were cut off by the end of the race)", ups, putsOK.Load(), putsCut.Load())
	}
	// The race must have been run, not skipped: swaps and requests that
	// went through between them.
	if swaps.Load() < 100 || getsOK.Load() == 0 || putsOK.Load() == 0 {
		t.Errorf("the race hardly ran: %d swaps, %d gets and %d puts succeeded", swaps.Load(), getsOK.Load(), putsOK.Load())
	}
	// The server still serves alice, and bob his own.
	if r := s.as("bob", "bob-pw", "", "get", "d/bob-only.txt", "-"); r.code != 0 || r.stdout != "bob's\n" {
		t.Errorf("bob get after the race: exit %d %q %q", r.code, r.stdout, r.stderr)
	}
}
