package main

// End-to-end tests of TLS (issue 10): the real selectftpd with
// --tls-cert/--tls-key, the real selectftp with --tls, --ca and --pin.

import (
	"bytes"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/json"
	"encoding/pem"
	"math/big"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

// writePKI writes a CA (ca.pem) and a server certificate it signs for
// 127.0.0.1 (cert.pem, key.pem) into dir, and returns their paths.
func writePKI(t *testing.T, dir string) (ca, cert, key string) {
	t.Helper()
	caKey, _ := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	caT := &x509.Certificate{SerialNumber: big.NewInt(1), Subject: pkix.Name{CommonName: "e2e CA"},
		NotBefore: time.Now().Add(-time.Hour), NotAfter: time.Now().Add(time.Hour),
		IsCA: true, BasicConstraintsValid: true, KeyUsage: x509.KeyUsageCertSign}
	caDER, err := x509.CreateCertificate(rand.Reader, caT, caT, &caKey.PublicKey, caKey)
	if err != nil {
		t.Fatal(err)
	}
	caCert, _ := x509.ParseCertificate(caDER)
	k, _ := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	leafT := &x509.Certificate{SerialNumber: big.NewInt(2), Subject: pkix.Name{CommonName: "selectftpd"},
		NotBefore: time.Now().Add(-time.Hour), NotAfter: time.Now().Add(time.Hour),
		IPAddresses: []net.IP{net.IPv4(127, 0, 0, 1)}, ExtKeyUsage: []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth}}
	der, err := x509.CreateCertificate(rand.Reader, leafT, caCert, &k.PublicKey, caKey)
	if err != nil {
		t.Fatal(err)
	}
	kDER, _ := x509.MarshalECPrivateKey(k)
	ca, cert, key = filepath.Join(dir, "ca.pem"), filepath.Join(dir, "cert.pem"), filepath.Join(dir, "key.pem")
	for path, b := range map[string]*pem.Block{ca: {Type: "CERTIFICATE", Bytes: caDER},
		cert: {Type: "CERTIFICATE", Bytes: der}, key: {Type: "EC PRIVATE KEY", Bytes: kDER}} {
		if err := os.WriteFile(path, pem.EncodeToMemory(b), 0o600); err != nil {
			t.Fatal(err)
		}
	}
	return ca, cert, key
}

// TestE2ETLS: selectftpd serves TLS and logs its fingerprint; selectftp
// --tls --ca moves a file both ways as alice; --pin with the logged
// fingerprint works without a CA, a wrong pin, another CA and a plaintext
// client are refused with a message that says why; the server serves on.
func TestE2ETLS(t *testing.T) {
	needBinaries(t)
	pki := t.TempDir()
	ca, cert, key := writePKI(t, pki)
	otherCA, _, _ := writePKI(t, t.TempDir())
	usersFile := filepath.Join(t.TempDir(), "users.json")
	addUser(t, usersFile, "alice", "alice-pw")
	s := startServer(t, []string{"--users", usersFile, "--tls-cert", cert, "--tls-key", key}, append(verbs, "ls")...)

	var fp string
	for _, line := range strings.Split(s.logText(), "\n") {
		var e map[string]any
		if json.Unmarshal([]byte(line), &e) == nil && e["@message"] == "TLS" {
			fp, _ = e["fingerprint"].(string)
		}
	}
	if !strings.HasPrefix(fp, "SHA256:") {
		t.Fatalf("no certificate fingerprint in the log:\n%s", s.logText())
	}

	dir := t.TempDir()
	data := bytes.Repeat([]byte("tls e2e "), 1<<20) // 8 MiB
	if err := os.WriteFile(filepath.Join(dir, "f"), data, 0o600); err != nil {
		t.Fatal(err)
	}
	if r := s.as("alice", "alice-pw", dir, "--tls", "--ca", ca, "-q", "put", "f"); r.code != 0 {
		t.Fatalf("put over TLS: %d %s", r.code, r.stderr)
	}
	if r := s.as("alice", "alice-pw", dir, "--pin", fp, "-q", "get", "f", "back"); r.code != 0 {
		t.Fatalf("get over TLS with --pin: %d %s", r.code, r.stderr)
	}
	if got, _ := os.ReadFile(filepath.Join(dir, "back")); !bytes.Equal(got, data) {
		t.Fatalf("the file came back as %d bytes, not the %d sent", len(got), len(data))
	}

	for _, c := range []struct {
		name string
		args []string
		want string
	}{
		{"wrong pin", []string{"--pin", "SHA256:" + strings.Repeat("ab", 32)}, "does not match --pin"},
		{"another CA", []string{"--tls", "--ca", otherCA}, "not signed by an authority"},
		{"plaintext", nil, "speaks TLS only"},
	} {
		r := s.as("alice", "alice-pw", "", append(c.args, "ls")...)
		if r.code == 0 || !strings.Contains(r.stderr, c.want) {
			t.Errorf("%s: exit %d, %q; want a failure saying %q", c.name, r.code, r.stderr, c.want)
		}
	}
	if r := s.as("alice", "alice-pw", "", "--tls", "--ca", ca, "ls"); r.code != 0 {
		t.Fatalf("after the refused clients: %d %s", r.code, r.stderr)
	}
}

// TestE2ETLSInsecureRule: with --users and TLS an address other hosts can
// reach needs no --insecure; TLS without --users still does.
func TestE2ETLSInsecureRule(t *testing.T) {
	needBinaries(t)
	_, cert, key := writePKI(t, t.TempDir())
	usersFile := filepath.Join(t.TempDir(), "users.json")
	addUser(t, usersFile, "alice", "alice-pw")
	startServer(t, []string{"--users", usersFile, "--tls-cert", cert, "--tls-key", key, "--listen", "0.0.0.0:0"})

	r := runServerBriefly(t, "--listen", "0.0.0.0:0", "--root", t.TempDir(), "--plugins", "", "--tls-cert", cert, "--tls-key", key)
	if !strings.Contains(r, "without --users") {
		t.Errorf("TLS without users on 0.0.0.0: %q; want a refusal naming --users", r)
	}
}

// runServerBriefly runs selectftpd with args, expecting it to refuse to
// start, and returns what it printed (it is killed after 20 s).
func runServerBriefly(t *testing.T, args ...string) string {
	t.Helper()
	cmd := exec.Command(bins.server, args...)
	done := make(chan struct{})
	var out []byte
	go func() { out, _ = cmd.CombinedOutput(); close(done) }()
	select {
	case <-done:
	case <-time.After(20 * time.Second):
		cmd.Process.Kill()
		<-done
		t.Fatalf("selectftpd %v started serving", args)
	}
	return string(out)
}
