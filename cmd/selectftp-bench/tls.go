package main

import (
	"context"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/pem"
	"fmt"
	"math/big"
	"net"
	"os"
	"path/filepath"
	"time"

	"github.com/selectftp/selectftp/client"
)

// The tls workload: a --size get over TLS 1.3, with the real programs
// (process start to exit, to a file on tmpfs, as the CLI rows above):
//
//   - `selectftp --tls get` against `selectftp get`, on one selectftpd
//     each (the same flags, one with --tls-cert), so the ratio is what
//     encryption costs (target ≥ 0.5×);
//   - `selectftp --tls get` against `curl --ssl-reqd` from pure-ftpd
//     with -Y 3 (TLS required on the control and the data connections:
//     -Y 2 would also let a client that skips PROT P move the file in
//     clear; curl sends PROT P, so the two measure the same thing)
//     (target ≥ 1.0×).
//
// Both servers use one throwaway ECDSA P-256 certificate made here, in
// the bench's work folder; the clients trust it (--ca, curl -k).

// tlsFigures are the tls workload's MB/s.
type tlsFigures struct {
	cliPlain, cliTLS, curlFTPS float64
}

// tlsFiles are the bench's certificate: PEM certificate, key, and both in
// one file (pure-ftpd's --certfile).
type tlsFiles struct{ cert, key, both string }

// makeCert writes a self-signed certificate for 127.0.0.1 into dir.
func makeCert(dir string) (tlsFiles, error) {
	f := tlsFiles{cert: filepath.Join(dir, "cert.pem"), key: filepath.Join(dir, "key.pem"),
		both: filepath.Join(dir, "pure-ftpd.pem")}
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		return f, err
	}
	tmpl := &x509.Certificate{
		SerialNumber: big.NewInt(1),
		Subject:      pkix.Name{CommonName: "selectftp-bench"},
		NotBefore:    time.Now().Add(-time.Hour),
		NotAfter:     time.Now().Add(24 * time.Hour),
		IPAddresses:  []net.IP{net.IPv4(127, 0, 0, 1)},
		DNSNames:     []string{"localhost"},
		KeyUsage:     x509.KeyUsageDigitalSignature | x509.KeyUsageCertSign,
		ExtKeyUsage:  []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth},
		IsCA:         true, BasicConstraintsValid: true,
	}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, &key.PublicKey, key)
	if err != nil {
		return f, err
	}
	kder, err := x509.MarshalPKCS8PrivateKey(key)
	if err != nil {
		return f, err
	}
	c := pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: der})
	k := pem.EncodeToMemory(&pem.Block{Type: "PRIVATE KEY", Bytes: kder})
	for path, b := range map[string][]byte{f.cert: c, f.key: k, f.both: append(append([]byte{}, c...), k...)} {
		if err := os.WriteFile(path, b, 0o600); err != nil {
			return f, err
		}
	}
	return f, nil
}

// pingTLS is ping over TLS, trusting the bench's certificate.
func pingTLS(ca string) func(ctx context.Context, addr string) error {
	return func(ctx context.Context, addr string) error {
		cfg, err := client.NewTLSConfig(client.TLSFiles{CA: ca})
		if err != nil {
			return err
		}
		ctx, cancel := context.WithTimeout(ctx, 5*time.Second)
		defer cancel()
		c, err := client.Dial(ctx, addr, client.WithHandshakeTimeout(2*time.Second), client.WithTLS(cfg))
		if err != nil {
			return err
		}
		defer c.Close()
		_, err = c.Command(ctx, "upper", []string{"ready"})
		return err
	}
}

// measureTLS runs the tls workload in interleaved rounds.
func (b *bench) measureTLS(ctx context.Context) error {
	size := b.cfg.size
	dir := filepath.Join(b.work, "tls")
	if err := os.MkdirAll(dir, 0o700); err != nil {
		return err
	}
	certs, err := makeCert(dir)
	if err != nil {
		return fmt.Errorf("certificate: %w", err)
	}
	plain, addr, err := b.startSelectftpd(ctx, "selectftpd-clear")
	if err != nil {
		return err
	}
	defer b.procs.stop(plain)
	tlsSite := loopback
	tlsSite.ready = pingTLS(certs.cert)
	enc, tlsAddr, err := b.startSelectftpdAt(ctx, tlsSite, "selectftpd-tls", "--tls-cert", certs.cert, "--tls-key", certs.key)
	if err != nil {
		return err
	}
	defer b.procs.stop(enc)
	out := filepath.Join(b.work, "tls-get.bin")
	get := func(label, addr string, tlsArgs ...string) *contender {
		return &contender{label: label, run: func(int) (float64, error) {
			defer os.Remove(out)
			argv := b.cliArgs(addr, append(tlsArgs, "get", "big.bin", out)...)
			wall, err := b.timeRun(ctx, nil, argv...)
			return mbps(size, wall.Seconds()), checkSize(out, size, err)
		}}
	}
	cs := []*contender{
		get("selectftp get (clear)", addr),
		get("selectftp --tls get", tlsAddr, "--tls", "--ca", certs.cert),
	}
	if !b.cfg.noFTP {
		ftp, url, err := b.startFTPAt(ctx, loopbackFTP, "pure-ftpd-tls", 8, "-Y", "3", "-2", certs.both)
		if err != nil {
			b.notes = append(b.notes, "pure-ftpd over TLS: "+err.Error())
			fmt.Fprintf(b.log, "   pure-ftpd over TLS failed: %v\n", err)
		} else {
			defer b.procs.stop(ftp)
			cs = append(cs, &contender{label: "curl --ssl-reqd (FTPS)", run: func(int) (float64, error) {
				defer os.Remove(out)
				wall, err := b.timeRun(ctx, nil, "curl", "-sS", "--ssl-reqd", "-k", "-o", out, url+"big.bin")
				return mbps(size, wall.Seconds()), checkSize(out, size, err)
			}})
		}
	}
	if err := b.rounds(cs...); err != nil {
		return err
	}
	f := &b.fig.tls
	f.cliPlain, f.cliTLS = pick(cs[0].vals, b.cfg.pick), pick(cs[1].vals, b.cfg.pick)
	if len(cs) > 2 {
		f.curlFTPS = pick(cs[2].vals, b.cfg.pick)
	}
	return nil
}

// tlsRows are the tls workload's lines of the table.
func (b *bench) tlsRows() []row {
	f, size := b.fig.tls, humanSize(b.cfg.size)
	return []row{
		throughputRow(size+" get over TLS: `selectftp --tls get` vs `selectftp get`", f.cliTLS, f.cliPlain, "selectftp get, in clear", 0.5),
		throughputRow(size+" get over TLS: `selectftp --tls get` vs `curl --ssl-reqd`", f.cliTLS, f.curlFTPS, "pure-ftpd -Y 3 + curl (FTPS)", 1.0),
	}
}

// tlsNote says how the tls rows were made, for the report's header.
const tlsNote = "- TLS rows: selectftp over TLS 1.3 (AES-128-GCM), curl and pure-ftpd as OpenSSL negotiates; one throwaway ECDSA P-256 certificate made by the bench; the real programs, process start to exit, to a file on tmpfs; pure-ftpd with -Y 3 (TLS on control and data), curl --ssl-reqd -k (AUTH TLS, PROT P)\n"
