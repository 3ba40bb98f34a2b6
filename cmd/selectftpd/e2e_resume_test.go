package main

// End-to-end tests of get -c and put -c (issue 9): the real client killed
// mid-transfer, then resumed through a counting proxy, against one real
// server for every case (the package is close to its time budget).

import (
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"math/rand"
	"os"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/selectftp/selectftp/internal/checksum"
)

const gib = 1 << 30

// writeSparse makes a sparse file of n bytes with a random 4 KiB block
// every 64 MiB, so that bytes landing at the wrong offset change its
// digest, while the file costs almost no disk and is never in memory.
func writeSparse(t *testing.T, path string, n int64, seed int64) {
	t.Helper()
	f, err := os.Create(path)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	if err := f.Truncate(n); err != nil {
		t.Skipf("no sparse files here: %v", err)
	}
	r := rand.New(rand.NewSource(seed))
	block := make([]byte, 4096)
	for off := int64(0); off+int64(len(block)) <= n; off += 64 << 20 {
		r.Read(block)
		if _, err := f.WriteAt(block, off+int64(r.Intn(1<<20))); err != nil {
			t.Fatal(err)
		}
	}
}

// fileDigest is path's size and xxh128 digest.
func fileDigest(t *testing.T, path string) (int64, string) {
	t.Helper()
	f, err := os.Open(path)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	fi, err := f.Stat()
	if err != nil {
		t.Fatal(err)
	}
	h := checksum.XXH128.New()
	if err := checksum.HashRange(h, f, 0, fi.Size()); err != nil {
		t.Fatal(err)
	}
	return fi.Size(), hex.EncodeToString(h.Sum(nil))
}

func sameFile(t *testing.T, got, want string) {
	t.Helper()
	gn, gd := fileDigest(t, got)
	wn, wd := fileDigest(t, want)
	if gn != wn || gd != wd {
		t.Fatalf("%s: %d bytes %s, want %d bytes %s as %s", got, gn, gd, wn, wd, want)
	}
}

// stagingName is where the put plugin keeps a resumable upload of base.
func stagingName(dir, base string) string {
	sum := sha256.Sum256([]byte(base))
	return filepath.Join(dir, ".selectftp-part-r-"+hex.EncodeToString(sum[:16]))
}

// onlyPartial reports whether the folder dir holds nothing but, perhaps,
// the resumable upload of base, which ls never shows (an empty one is
// removed).
func onlyPartial(t *testing.T, dir, base string) bool {
	files := listFiles(t, dir)
	return len(files) == 0 || len(files) == 1 && filepath.Join(dir, files[0]) == stagingName(dir, base)
}

func sizeOf(path string) int64 {
	fi, err := os.Stat(path)
	if err != nil {
		return -1
	}
	return fi.Size()
}

// killAt runs the client with args in dir and kills it (SIGKILL: nothing
// of it runs after) once the file at partial holds at least at bytes.
func killAt(t *testing.T, s *server, dir, partial string, at int64, args ...string) {
	t.Helper()
	c := startCLI(t, s.addr, dir, false, "", append([]string{"-q"}, args...)...)
	deadline := time.Now().Add(30 * time.Second)
	for sizeOf(partial) < at {
		select {
		case <-c.done:
			t.Fatalf("client %q ended before it was killed: %s", args, c.stderr.String())
		default:
		}
		if time.Now().After(deadline) {
			t.Fatalf("%s did not reach %d bytes (%d)", partial, at, sizeOf(partial))
		}
		time.Sleep(10 * time.Millisecond)
	}
	c.cmd.Process.Signal(syscall.SIGKILL)
	c.wait(t)
	if args[len(args)-2] == "put" {
		// The server lets go of an upload once it sees the connection end.
		waitFor(t, "the put plugin to let go of the upload", func() bool { return s.stagedBytes() < 0 })
	}
}

// jsonResult finds the transfer result among --json lines.
func jsonResult(t *testing.T, stdout string) map[string]any {
	t.Helper()
	for _, line := range strings.Split(strings.TrimSpace(stdout), "\n") {
		var m map[string]any
		if json.Unmarshal([]byte(line), &m) == nil && m["op"] != nil {
			return m
		}
	}
	t.Fatalf("no transfer result in %q", stdout)
	return nil
}

func TestResume(t *testing.T) {
	s := startFileServer(t)
	if err := os.MkdirAll(s.root, 0o755); err != nil {
		t.Fatal(err)
	}
	dir := t.TempDir()

	// 1 GiB up, killed at ~40%: put -c sends only the rest.
	t.Run("put", func(t *testing.T) {
		local := filepath.Join(dir, "up.bin")
		writeSparse(t, local, gib, 1)
		staged := stagingName(s.root, "up.bin")
		killAt(t, s, dir, staged, 400<<20, "--limit-rate", "128M", "put", "up.bin")
		part := sizeOf(staged)
		p := startProxy(t, s.addr, false, false)
		r := runCLI(t, p.addr, dir, "", "--json", "put", "-c", "up.bin")
		sent := p.up.Load()
		t.Logf("put -c after %d bytes staged: %d bytes sent to the server for a %d-byte file", part, sent, int64(gib))
		if r.code != 0 || r.stderr != "" {
			t.Fatalf("put -c: %+v", r)
		}
		if res := jsonResult(t, r.stdout); res["resumed_from"] != float64(part) {
			t.Errorf("result %v, want resumed_from %d", res, part)
		}
		if sent >= gib-part+1<<20 {
			t.Errorf("%d bytes sent, want under %d", sent, gib-part+1<<20)
		}
		sameFile(t, filepath.Join(s.root, "up.bin"), local)
		if sizeOf(staged) >= 0 {
			t.Errorf("the partial upload is still there")
		}
	})

	// 1 GiB down, killed at ~40%: get -c receives only the rest.
	t.Run("get", func(t *testing.T) {
		remote := filepath.Join(s.root, "down.bin")
		writeSparse(t, remote, gib, 2)
		partFile := filepath.Join(dir, ".down.bin.selectftp-part")
		killAt(t, s, dir, partFile, 400<<20, "--limit-rate", "128M", "get", "down.bin")
		part := sizeOf(partFile)
		p := startProxy(t, s.addr, false, false)
		r := runCLI(t, p.addr, dir, "", "--json", "get", "-c", "down.bin")
		got := p.down.Load()
		t.Logf("get -c after %d bytes kept: %d bytes came from the server for a %d-byte file", part, got, int64(gib))
		if r.code != 0 || r.stderr != "" {
			t.Fatalf("get -c: %+v", r)
		}
		if res := jsonResult(t, r.stdout); res["resumed_from"] != float64(part) {
			t.Errorf("result %v, want resumed_from %d", res, part)
		}
		if got >= gib-part+1<<20 {
			t.Errorf("%d bytes received, want under %d", got, gib-part+1<<20)
		}
		sameFile(t, filepath.Join(dir, "down.bin"), remote)
		if sizeOf(partFile) >= 0 {
			t.Errorf("the part file is still there")
		}
	})

	// The local file changed after the interruption: the partial no
	// longer matches, put -c says so and sends the whole new file.
	t.Run("put local changed", func(t *testing.T) {
		local := filepath.Join(dir, "lc.bin")
		writeBig(t, local, 32<<20, 3)
		staged := stagingName(s.root, "lc.bin")
		killAt(t, s, dir, staged, 8<<20, "--limit-rate", "8M", "put", "lc.bin")
		overwrite(t, local, 100)
		r := runCLI(t, s.addr, dir, "", "put", "-c", "lc.bin")
		if r.code != 0 || !strings.Contains(r.stderr, "remote partial upload of lc.bin no longer matches lc.bin; starting again from zero") {
			t.Fatalf("put -c of a changed file: %+v", r)
		}
		sameFile(t, filepath.Join(s.root, "lc.bin"), local)
		if sizeOf(staged) >= 0 {
			t.Errorf("the partial upload is still there")
		}
	})

	// The remote file changed after the interruption: get -c says so and
	// downloads the whole new file.
	t.Run("get remote changed", func(t *testing.T) {
		remote := filepath.Join(s.root, "rc.bin")
		writeBig(t, remote, 32<<20, 4)
		partFile := filepath.Join(dir, ".rc.bin.selectftp-part")
		killAt(t, s, dir, partFile, 8<<20, "--limit-rate", "8M", "get", "rc.bin")
		overwrite(t, remote, 100)
		r := runCLI(t, s.addr, dir, "", "get", "-c", "rc.bin")
		if r.code != 0 || !strings.Contains(r.stderr, "local part of rc.bin no longer matches rc.bin; starting again from zero") {
			t.Fatalf("get -c of a changed file: %+v", r)
		}
		sameFile(t, filepath.Join(dir, "rc.bin"), remote)
		if sizeOf(partFile) >= 0 {
			t.Errorf("the part file is still there")
		}
	})

	// With nothing to resume, put -c is a put, and says nothing.
	t.Run("put -c without a partial", func(t *testing.T) {
		local := filepath.Join(dir, "fresh.bin")
		writeBig(t, local, 3<<20, 5)
		p := startProxy(t, s.addr, false, false)
		r := runCLI(t, p.addr, dir, "", "put", "-c", "fresh.bin")
		if r.code != 0 || r.stderr != "" || r.stdout != "" {
			t.Fatalf("put -c: %+v", r)
		}
		sameFile(t, filepath.Join(s.root, "fresh.bin"), local)
		if up := p.up.Load(); up < 3<<20 {
			t.Fatalf("%d bytes sent for a %d-byte file", up, 3<<20)
		}
	})
}

// overwrite changes a few bytes at off, in place, as an editor might.
func overwrite(t *testing.T, path string, off int64) {
	t.Helper()
	f, err := os.OpenFile(path, os.O_WRONLY, 0)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	if _, err := f.WriteAt([]byte(fmt.Sprintf("changed at %d", time.Now().UnixNano())), off); err != nil {
		t.Fatal(err)
	}
}
