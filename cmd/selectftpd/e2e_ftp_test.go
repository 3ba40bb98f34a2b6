package main

// End-to-end tests of the FTP front (issue 11) with clients nobody here
// wrote: curl, Python's ftplib and lftp, against the real selectftpd and
// its real plugins.

import (
	"bytes"
	"crypto/rand"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"
)

// startFTP starts selectftpd with an FTP front on a free loopback port and
// returns it with the front's address.
func startFTP(t *testing.T, extra []string, verbs ...string) (*server, string) {
	t.Helper()
	if len(verbs) == 0 {
		verbs = allVerbs
	}
	s := startServer(t, append([]string{"--ftp-listen", "127.0.0.1:0", "--ftp-passive-ports", "50000-50100"}, extra...), verbs...)
	var addr string
	waitFor(t, "the FTP front", func() bool {
		for _, line := range strings.Split(s.logText(), "\n") {
			var e map[string]any
			if json.Unmarshal([]byte(line), &e) == nil && e["@message"] == "FTP front" {
				addr, _ = e["addr"].(string)
				return true
			}
		}
		return false
	})
	return s, addr
}

func needTool(t *testing.T, name, install string) string {
	t.Helper()
	p, err := exec.LookPath(name)
	if err != nil {
		t.Skipf("SKIPPED LOUDLY: %s is not installed (%s); this FTP test did not run", name, install)
	}
	return p
}

func runTool(t *testing.T, name string, args ...string) string {
	t.Helper()
	cmd := exec.Command(name, args...)
	var out, errb bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, &errb
	if err := cmd.Run(); err != nil {
		t.Fatalf("%s %s: %v\n%s%s", name, strings.Join(args, " "), err, out.String(), errb.String())
	}
	return out.String()
}

func ftpRandomFile(t *testing.T, path string, n int) []byte {
	t.Helper()
	b := make([]byte, n)
	rand.Read(b)
	if err := os.WriteFile(path, b, 0o644); err != nil {
		t.Fatal(err)
	}
	return b
}

func sha(b []byte) string {
	h := sha256.Sum256(b)
	return hex.EncodeToString(h[:])
}

// curl: upload, download, resume with -C -, listing, a 550, and 32
// clients at once.
func TestFTPCurl(t *testing.T) {
	curl := needTool(t, "curl", "apt-get install curl")
	s, addr := startFTP(t, nil)
	dir := t.TempDir()
	want := ftpRandomFile(t, filepath.Join(dir, "up.bin"), 5<<20+3)
	url := "ftp://" + addr + "/"
	runTool(t, curl, "-sS", "-T", filepath.Join(dir, "up.bin"), url+"up.bin")
	if got, _ := os.ReadFile(filepath.Join(s.root, "up.bin")); !bytes.Equal(got, want) {
		t.Fatalf("STOR: the server holds %d bytes, want %d", len(got), len(want))
	}
	runTool(t, curl, "-sS", "-o", filepath.Join(dir, "down.bin"), url+"up.bin")
	if got, _ := os.ReadFile(filepath.Join(dir, "down.bin")); sha(got) != sha(want) {
		t.Fatal("RETR: the download differs")
	}
	// Resume: a partial download continued with -C - (REST STREAM).
	os.WriteFile(filepath.Join(dir, "part.bin"), want[:1<<20], 0o644)
	runTool(t, curl, "-sS", "-C", "-", "-o", filepath.Join(dir, "part.bin"), url+"up.bin")
	if got, _ := os.ReadFile(filepath.Join(dir, "part.bin")); sha(got) != sha(want) {
		t.Fatal("curl -C -: the resumed download differs")
	}
	if out := runTool(t, curl, "-sS", url); !strings.Contains(out, "up.bin") || !strings.Contains(out, fmt.Sprint(len(want))) {
		t.Fatalf("LIST: %q", out)
	}
	if out := runTool(t, curl, "-sS", "--list-only", url); strings.TrimSpace(out) != "up.bin" {
		t.Fatalf("NLST: %q", out)
	}
	// A missing file: curl exits 78 (RETR answered 550).
	if err := exec.Command(curl, "-sS", "-o", filepath.Join(dir, "x"), url+"missing").Run(); err == nil ||
		err.(*exec.ExitError).ExitCode() != 78 {
		t.Fatalf("RETR of a missing file: %v, want exit 78", err)
	}

	// 32 clients at once, each its own file both ways; after, each file
	// on the server is whole, and nothing else is there.
	var wg sync.WaitGroup
	errs := make(chan error, 32)
	sent := make([][]byte, 32)
	for i := range 32 {
		b := make([]byte, 256<<10+i)
		rand.Read(b)
		sent[i] = b
		wg.Add(1)
		go func() {
			defer wg.Done()
			src := filepath.Join(dir, fmt.Sprintf("c%d", i))
			os.WriteFile(src, b, 0o644)
			name := fmt.Sprintf("%sc%d", url, i)
			if out, err := exec.Command(curl, "-sS", "--max-time", "60", "-T", src, name).CombinedOutput(); err != nil {
				errs <- fmt.Errorf("client %d upload: %v %s", i, err, out)
				return
			}
			got, err := exec.Command(curl, "-sS", "--max-time", "60", name).Output()
			if err != nil || !bytes.Equal(got, b) {
				errs <- fmt.Errorf("client %d: download of %d bytes differs (%v)", i, len(got), err)
			}
		}()
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		t.Error(err)
	}
	for i, b := range sent {
		if got, err := os.ReadFile(filepath.Join(s.root, fmt.Sprintf("c%d", i))); err != nil || !bytes.Equal(got, b) {
			t.Errorf("client %d: the server holds %d bytes (%v), want its %d whole", i, len(got), err, len(b))
		}
	}
	if files := listFiles(t, s.root); len(files) != 33 {
		t.Errorf("the tree holds %d files, want up.bin and the 32 clients': %v", len(files), files)
	}
}

const pyFTP = `
import ftplib, io, socket, sys, hashlib
host, port, user, pw = sys.argv[1], int(sys.argv[2]), sys.argv[3], sys.argv[4]
f = ftplib.FTP()
f.connect(host, port, timeout=30)
f.login(user, pw)
data = bytes(range(256)) * 4096
f.storbinary('STOR a.bin', io.BytesIO(data))
got = io.BytesIO(); f.retrbinary('RETR a.bin', got.write)
assert got.getvalue() == data, 'RETR differs'
assert f.size('a.bin') == len(data), f.size('a.bin')
print('MDTM', f.sendcmd('MDTM a.bin'))
f.mkd('d'); f.cwd('d'); assert f.pwd() == '/d', f.pwd()
f.storbinary('STOR in.bin', io.BytesIO(b'x' * 10)); f.cwd('..')
names = {n: facts for n, facts in f.mlsd()}
assert names['d']['type'] == 'dir' and names['a.bin']['type'] == 'file', names
assert int(names['a.bin']['size']) == len(data), names
lines = []; f.retrlines('LIST', lines.append); assert any('a.bin' in l for l in lines), lines
f.rename('a.bin', 'd/b.bin'); assert f.nlst('d') == ['d/b.bin', 'd/in.bin'] or sorted(f.nlst('d')) == ['d/b.bin', 'd/in.bin'], f.nlst('d')
h = f.sendcmd('HASH d/b.bin'); assert hashlib.sha256(data).hexdigest() in h, h
# Extended passive, by hand: a listing over EPSV.
f.sendcmd('TYPE A'); r = f.sendcmd('EPSV'); p = int(r.split('|')[3])
s = socket.create_connection((host, p)); f.sendcmd('NLST d') if False else None
f.putcmd('NLST d'); assert f.getresp().startswith('150'); listing = s.makefile('rb').read(); s.close(); f.voidresp()
assert b'b.bin' in listing, listing
for cmd in ['DELE d/nothing', 'RMD d', 'RETR nothing']:
    try:
        if cmd.startswith('RETR'): f.retrbinary(cmd, lambda b: None)
        else: f.sendcmd(cmd)
        raise SystemExit(cmd + ' succeeded')
    except ftplib.error_perm as e:
        assert str(e).startswith('550'), (cmd, e)
f.delete('d/b.bin'); f.delete('d/in.bin'); f.rmd('d')
print(f.sendcmd('SITE upper it works'))
f.quit(); print('PYOK')
`

// Python's ftplib, anonymous and as a user: transfers, SIZE/MDTM,
// mkdir/cwd/rename/delete, MLSD, LIST, NLST over EPSV, HASH, 550s.
func TestFTPPython(t *testing.T) {
	py := needTool(t, "python3", "apt-get install python3")
	_, addr := startFTP(t, nil)
	host, port, _ := strings.Cut(addr, ":")
	if out := runTool(t, py, "-c", pyFTP, host, port, "anonymous", "x"); !strings.Contains(out, "PYOK") || !strings.Contains(out, "IT WORKS") {
		t.Fatalf("ftplib anonymous: %s", out)
	}

	usersFile := filepath.Join(t.TempDir(), "users.json")
	addUser(t, usersFile, "alice", "alice-secret")
	s2, addr2 := startFTP(t, []string{"--users", usersFile})
	host2, port2, _ := strings.Cut(addr2, ":")
	if out := runTool(t, py, "-c", pyFTP, host2, port2, "alice", "alice-secret"); !strings.Contains(out, "PYOK") {
		t.Fatalf("ftplib as alice: %s", out)
	}
	bad := exec.Command(py, "-c", pyFTP, host2, port2, "alice", "wrong")
	if out, err := bad.CombinedOutput(); err == nil || !strings.Contains(string(out), "530") {
		t.Fatalf("a wrong password: %v %s", err, out)
	}
	if out, err := exec.Command(py, "-c", pyFTP, host2, port2, "anonymous", "x").CombinedOutput(); err == nil || !strings.Contains(string(out), "530") {
		t.Fatalf("anonymous on a server with users: %v %s", err, out)
	}
	_ = s2
}

const pyAbort = `
import ftplib, sys, socket, struct
f = ftplib.FTP(); f.connect(sys.argv[1], int(sys.argv[2]), timeout=30); f.login()
f.voidcmd('TYPE I')
conn = f.transfercmd('STOR ` + "{NAME}" + `')
conn.sendall(b'y' * (2 << 20))
if sys.argv[3] == 'reset':
    conn.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack('ii', 1, 0))
    conn.close(); f.sock.close()
else:  # the data ends cleanly, the client dies right after
    conn.close(); f.sock.close()
`

// pyKilledMidStor is a client killed in the middle of a STOR whose control
// connection outlives its data connection a moment: a helper process
// keeps it (as a proxy or a slow path would delay its FIN). The kill
// flushes and closes the data socket cleanly, so the server sees a clean
// end of data with only part of the file: only the control connection's
// end, a moment later, tells that the client died.
const pyKilledMidStor = `
import ftplib, os, sys, time
f = ftplib.FTP(); f.connect(sys.argv[1], int(sys.argv[2]), timeout=30); f.login()
f.voidcmd('TYPE I')
conn = f.transfercmd('STOR midstor.bin')
if os.fork() == 0:  # the helper: only the control connection, for a while
    conn.close(); os.close(1)
    time.sleep(float(sys.argv[3])); os._exit(0)
chunk = b'z' * 65536
for i in range(64): conn.sendall(chunk)
print('SENT', flush=True)  # the test kills this process now
while True: conn.sendall(chunk)
`

// An upload whose client dies (a reset, or its data ending cleanly and the
// client gone with it, or killed mid-STOR with its control connection
// closing a moment after its data) leaves nothing under the name, nor
// anywhere else. The last case keeps a partial file without the front's
// check of the control connection at the end of the data (clientGone).
func TestFTPAbortedUploadKeepsNothing(t *testing.T) {
	py := needTool(t, "python3", "apt-get install python3")
	s, addr := startFTP(t, []string{"--ftp-upload-settle", "2s"})
	host, port, _ := strings.Cut(addr, ":")
	for _, how := range []string{"reset", "killed"} {
		script := strings.ReplaceAll(pyAbort, "{NAME}", how+".bin")
		runTool(t, py, "-c", script, host, port, how)
	}
	cmd := exec.Command(py, "-c", pyKilledMidStor, host, port, "0.3")
	out, err := cmd.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	line := make([]byte, 5)
	if _, err := io.ReadFull(out, line); err != nil || string(line) != "SENT\n" {
		t.Fatalf("the client did not start its upload: %q %v", line, err)
	}
	cmd.Process.Kill() // mid-STOR: it is still sending
	cmd.Wait()
	// A commit would land within moments of the body's end: watch the
	// tree for a bounded while; nothing may ever appear in it.
	for deadline := time.Now().Add(4 * time.Second); time.Now().Before(deadline); time.Sleep(50 * time.Millisecond) {
		if files := listFiles(t, s.root); len(files) != 0 {
			t.Fatalf("aborted uploads left %v", files)
		}
	}
	if !strings.Contains(s.logText(), "midstor.bin") {
		t.Fatal("the killed client's STOR never reached the server: the test tested nothing")
	}
}

// FTPS: AUTH TLS and PROT P with the native certificate, as a user; a
// password in clear from loopback still works (the loopback rule).
func TestFTPCurlTLS(t *testing.T) {
	curl := needTool(t, "curl", "apt-get install curl")
	usersFile := filepath.Join(t.TempDir(), "users.json")
	addUser(t, usersFile, "alice", "alice-secret")
	ca, cert, key := writePKI(t, t.TempDir())
	s, addr := startFTP(t, []string{"--users", usersFile, "--tls-cert", cert, "--tls-key", key})
	dir := t.TempDir()
	want := ftpRandomFile(t, filepath.Join(dir, "s.bin"), 3<<20)
	url := "ftp://" + addr + "/s.bin"
	runTool(t, curl, "-sS", "--ssl-reqd", "--cacert", ca, "-u", "alice:alice-secret", "-T", filepath.Join(dir, "s.bin"), url)
	out := runTool(t, curl, "-sS", "--ssl-reqd", "--cacert", ca, "-u", "alice:alice-secret", url)
	if out != string(want) {
		t.Fatalf("FTPS download: %d bytes differ", len(out))
	}
	if got := runTool(t, curl, "-sS", "-u", "alice:alice-secret", url); got != string(want) {
		t.Fatal("plain download on loopback differs")
	}
	_ = s
}

// SITE VERB ARGS reaches a verb whose plugin was dropped into the plugins
// folder while the server ran.
func TestFTPSiteReachesNewPlugin(t *testing.T) {
	py := needTool(t, "python3", "apt-get install python3")
	s, addr := startFTP(t, nil, "put", "get", "upper", "stat", "ls", "cd")
	host, port, _ := strings.Cut(addr, ":")
	s.installPlugin("sum", "sum")
	waitFor(t, "the new plugin", func() bool { return strings.Contains(s.logText(), "plugins.d/sum") })
	script := `
import ftplib, io, sys
f = ftplib.FTP(); f.connect(sys.argv[1], int(sys.argv[2]), timeout=30); f.login()
f.storbinary('STOR h.txt', io.BytesIO(b'hello\n'))
print(f.sendcmd('SITE sum --checksum sha256 h.txt'))
try:
    f.sendcmd('SITE chmod 644 h.txt'); print('CHMOD OK?')
except ftplib.error_perm as e: print('refused', e)
`
	out := runTool(t, py, "-c", script, host, port)
	if !strings.Contains(out, "5891b5b522d5df086d0ff0b110fbd9d21bb4fc7163af34d08286a2e846f6be03") {
		t.Fatalf("SITE sum: %s", out)
	}
	if !strings.Contains(out, "refused 502") {
		t.Fatalf("SITE chmod (no such verb: the fallback answered) must not pass for done: %s", out)
	}
}

// lftp: put, get, reget (resume), mirror listing.
func TestFTPLftp(t *testing.T) {
	lftp := needTool(t, "lftp", "apt-get install lftp; .ci/run installs it")
	s, addr := startFTP(t, nil)
	dir := t.TempDir()
	want := ftpRandomFile(t, filepath.Join(dir, "l.bin"), 4<<20)
	os.WriteFile(filepath.Join(dir, "partial.bin"), want[:1<<20], 0o644)
	script := fmt.Sprintf("set net:max-retries 1; set net:timeout 20; set ftp:ssl-allow no; lcd %s; put l.bin; get l.bin -o got.bin; reget l.bin -o partial.bin; cls -l; bye", dir)
	out := runTool(t, lftp, "-u", "anonymous,x", "-e", script, "ftp://"+addr)
	if !strings.Contains(out, "l.bin") {
		t.Fatalf("lftp cls: %s", out)
	}
	for _, name := range []string{"got.bin", "partial.bin"} {
		if got, _ := os.ReadFile(filepath.Join(dir, name)); sha(got) != sha(want) {
			t.Fatalf("lftp %s differs", name)
		}
	}
	if got, _ := os.ReadFile(filepath.Join(s.root, "l.bin")); sha(got) != sha(want) {
		t.Fatal("lftp put differs")
	}
}
