package main

// End-to-end tests of resumed FTP uploads (issue 11): curl -T -C - (SIZE
// then APPE) and lftp reput (SIZE, REST n, STOR) against the real
// selectftpd and its put plugin, and an interrupted APPE that must leave
// the old file as it was.

import (
	"bytes"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
)

// runToolStderr runs a tool that must succeed and returns what it wrote
// to stderr (curl -v's trace).
func runToolStderr(t *testing.T, name string, args ...string) string {
	t.Helper()
	var errb bytes.Buffer
	cmd := exec.Command(name, args...)
	cmd.Stderr = &errb
	if out, err := cmd.Output(); err != nil {
		t.Fatalf("%s %s: %v\n%s%s", name, strings.Join(args, " "), err, out, errb.String())
	}
	return errb.String()
}

// pyAbortedAppe appends to a file and resets its data connection halfway.
const pyAbortedAppe = `
import ftplib, sys, socket, struct
f = ftplib.FTP(); f.connect(sys.argv[1], int(sys.argv[2]), timeout=30); f.login()
f.voidcmd('TYPE I')
conn = f.transfercmd('APPE ' + sys.argv[3])
conn.sendall(b'x' * (1 << 20))
conn.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack('ii', 1, 0))
conn.close()
try:
    print(f.getresp())
except ftplib.all_errors as e:
    print('REFUSED', e)
f.quit()
`

// curl -T -C - finds the server's size (SIZE) and sends only the rest
// (APPE): the file is whole after, byte for byte. An APPE whose data
// connection is reset halfway leaves the old file untouched.
func TestFTPCurlUploadResume(t *testing.T) {
	curl := needTool(t, "curl", "apt-get install curl")
	py := needTool(t, "python3", "apt-get install python3")
	s, addr := startFTP(t, nil)
	dir := t.TempDir()
	want := ftpRandomFile(t, filepath.Join(dir, "whole.bin"), 6<<20+5)
	const had = 2<<20 + 333
	os.WriteFile(filepath.Join(dir, "head.bin"), want[:had], 0o644)
	url := "ftp://" + addr + "/r.bin"
	runTool(t, curl, "-sS", "-T", filepath.Join(dir, "head.bin"), url)
	if fi, err := os.Stat(filepath.Join(s.root, "r.bin")); err != nil || fi.Size() != had {
		t.Fatalf("the first part: %v", err)
	}
	trace := runToolStderr(t, curl, "-sS", "-v", "-C", "-", "-T", filepath.Join(dir, "whole.bin"), url)
	if got, _ := os.ReadFile(filepath.Join(s.root, "r.bin")); !bytes.Equal(got, want) {
		t.Fatalf("curl -T -C -: the server holds %d bytes, want the whole %d", len(got), len(want))
	}
	if !strings.Contains(trace, "> APPE r.bin") {
		t.Fatalf("curl did not resume with APPE:\n%s", trace)
	}

	// Nothing there yet (an aborted STOR keeps nothing): SIZE is 550 and
	// curl -C - sends the whole file.
	runTool(t, curl, "-sS", "-C", "-", "-T", filepath.Join(dir, "whole.bin"), "ftp://"+addr+"/new.bin")
	if got, _ := os.ReadFile(filepath.Join(s.root, "new.bin")); !bytes.Equal(got, want) {
		t.Fatalf("curl -T -C - of a new file: the server holds %d bytes, want %d", len(got), len(want))
	}
	os.Remove(filepath.Join(s.root, "new.bin"))

	host, port, _ := strings.Cut(addr, ":")
	out := runTool(t, py, "-c", pyAbortedAppe, host, port, "r.bin")
	if strings.HasPrefix(strings.TrimSpace(out), "226") {
		t.Fatalf("a reset APPE was answered 226: %s", out)
	}
	if got, _ := os.ReadFile(filepath.Join(s.root, "r.bin")); !bytes.Equal(got, want) {
		t.Fatalf("an interrupted APPE changed the file: %d bytes, want the old %d", len(got), len(want))
	}
	if files := listFiles(t, s.root); len(files) != 1 {
		t.Fatalf("the tree holds %v, want only r.bin", files)
	}
}

// lftp reput sends the rest of a file the server holds the start of, and
// reget fetches the rest of a file the client holds the start of.
func TestFTPLftpReputReget(t *testing.T) {
	lftp := needTool(t, "lftp", "apt-get install lftp; .ci/run installs it")
	s, addr := startFTP(t, nil)
	dir := t.TempDir()
	want := ftpRandomFile(t, filepath.Join(dir, "l.bin"), 5<<20+77)
	if err := os.WriteFile(filepath.Join(s.root, "l.bin"), want[:3<<20+1], 0o644); err != nil {
		t.Fatal(err)
	}
	os.WriteFile(filepath.Join(dir, "back.bin"), want[:1<<20+9], 0o644)
	script := fmt.Sprintf("set net:max-retries 1; set net:timeout 20; set ftp:ssl-allow no; lcd %s; "+
		"debug -o %s 9; reput l.bin; reget l.bin -o back.bin; bye", dir, filepath.Join(dir, "debug.log"))
	runTool(t, lftp, "-u", "anonymous,x", "-e", script, "ftp://"+addr)
	if got, _ := os.ReadFile(filepath.Join(s.root, "l.bin")); !bytes.Equal(got, want) {
		t.Fatalf("lftp reput: the server holds %d bytes, want the whole %d", len(got), len(want))
	}
	if got, _ := os.ReadFile(filepath.Join(dir, "back.bin")); !bytes.Equal(got, want) {
		t.Fatalf("lftp reget: %d bytes, want the whole %d", len(got), len(want))
	}
	dbg, _ := os.ReadFile(filepath.Join(dir, "debug.log"))
	// One upload command, after REST at the server's size (or an APPE):
	// lftp falls back to a whole STOR when a resume is refused.
	uploads := bytes.Count(dbg, []byte("---> STOR ")) + bytes.Count(dbg, []byte("---> APPE "))
	if uploads != 1 || (!bytes.Contains(dbg, []byte("---> REST 3145729")) && !bytes.Contains(dbg, []byte("---> APPE "))) {
		t.Fatalf("lftp did not resume the upload with one REST 3145729 + STOR or APPE (%d uploads):\n%s", uploads, dbg)
	}
}
