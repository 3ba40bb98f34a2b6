package main

import (
	"strings"
	"testing"

	"github.com/selectftp/selectftp/host/hosttest"
	"github.com/selectftp/selectftp/internal/checksum"
	"github.com/selectftp/selectftp/plugins/upper"
	"github.com/selectftp/selectftp/protocol"
)

// A misspelt --checksum is a usage error that lists the choices, before any
// connection is tried.
func TestChecksumFlagRefusesUnknownNames(t *testing.T) {
	code, _, stderr := runWith(t, "", "--addr", "127.0.0.1:1", "--checksum", "md5", "upper", "x")
	if code != exitUsage || !strings.Contains(stderr, `"md5"`) || !strings.Contains(stderr, "xxh128, sha256, blake3") {
		t.Fatalf("exit %d, stderr %q", code, stderr)
	}
	if strings.Count(stderr, "\n") != 1 {
		t.Errorf("want one line, got %q", stderr)
	}
}

// --checksum reaches the wire: every request names the algorithm, and the
// answer is checked in it.
func TestChecksumFlagNamesTheAlgorithm(t *testing.T) {
	for _, alg := range checksum.All() {
		t.Run(alg.String(), func(t *testing.T) {
			got := make(chan string, 1)
			addr := hosttest.NewFaultServer(t, func(fc *hosttest.FaultConn) {
				if fc.Hello() != nil {
					return
				}
				req, _, err := fc.ReadRequest()
				if err != nil {
					return
				}
				got <- req.Checksum
				out := []byte("X\n")
				h := alg.New()
				h.Write(out)
				n := int64(len(out))
				fc.Data(out)
				fc.Send(protocol.TypeStatus, protocol.Status{Code: protocol.CodeOK, Size: &n, Digest: alg.Encode(h.Sum(nil))})
			})
			code, stdout, stderr := runWith(t, "", "--addr", addr, "--checksum", alg.String(), "upper", "x")
			if code != 0 || stdout != "X\n" {
				t.Fatalf("exit %d, %q %q", code, stdout, stderr)
			}
			if c := <-got; c != alg.String() {
				t.Errorf("request named checksum %q, want %q", c, alg)
			}
		})
	}
}

// A server that requires a cryptographic digest refuses --checksum xxh128
// in one plain line before any command, and takes the others and the
// default (which is then its minimum).
func TestChecksumFlagAgainstAServerMinimum(t *testing.T) {
	srv := hosttest.NewUnstartedServer(t, upper.New())
	srv.Host.MinChecksum = "sha256"
	srv.Start()
	code, stdout, stderr := runWith(t, "", "--addr", srv.Addr, "--checksum", "xxh128", "upper", "x")
	if code != exitFailed || stdout != "" || strings.Count(stderr, "\n") != 1 ||
		!strings.Contains(stderr, "does not accept --checksum xxh128; it takes sha256, blake3") {
		t.Fatalf("exit %d, stdout %q, stderr %q", code, stdout, stderr)
	}
	if srv.Requests() != 0 {
		t.Errorf("%d requests reached the server", srv.Requests())
	}
	for _, args := range [][]string{{"--checksum", "sha256"}, {"--checksum", "blake3"}, nil} {
		args = append(append([]string{"--addr", srv.Addr}, args...), "upper", "x")
		if code, stdout, stderr := runWith(t, "", args...); code != 0 || stdout != "X\n" {
			t.Errorf("%v: exit %d, %q %q", args, code, stdout, stderr)
		}
	}
}
