package host

import (
	"bytes"
	"context"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/tls"
	"crypto/x509"
	"crypto/x509/pkix"
	"errors"
	"io"
	"math/big"
	"net"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/selectftp/selectftp/client"
	"github.com/selectftp/selectftp/protocol"
	"github.com/selectftp/selectftp/sdk"
)

// testPKI is a CA and what it signs, made per test.
type testPKI struct {
	ca    *x509.Certificate
	caKey *ecdsa.PrivateKey
	pool  *x509.CertPool
}

func newPKI(t testing.TB) *testPKI {
	t.Helper()
	key, _ := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	tmpl := &x509.Certificate{SerialNumber: big.NewInt(1), Subject: pkix.Name{CommonName: "test CA"},
		NotBefore: time.Now().Add(-time.Hour), NotAfter: time.Now().Add(time.Hour),
		IsCA: true, BasicConstraintsValid: true, KeyUsage: x509.KeyUsageCertSign}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, &key.PublicKey, key)
	if err != nil {
		t.Fatal(err)
	}
	ca, _ := x509.ParseCertificate(der)
	pool := x509.NewCertPool()
	pool.AddCert(ca)
	return &testPKI{ca: ca, caKey: key, pool: pool}
}

// leaf signs a certificate for 127.0.0.1 and localhost, valid from
// notBefore to notAfter, for a server or (client) a client.
func (p *testPKI) leaf(t testing.TB, notBefore, notAfter time.Time, client bool) tls.Certificate {
	t.Helper()
	key, _ := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	usage := x509.ExtKeyUsageServerAuth
	if client {
		usage = x509.ExtKeyUsageClientAuth
	}
	tmpl := &x509.Certificate{SerialNumber: big.NewInt(time.Now().UnixNano()), Subject: pkix.Name{CommonName: "leaf"},
		NotBefore: notBefore, NotAfter: notAfter, DNSNames: []string{"localhost"},
		IPAddresses: []net.IP{net.IPv4(127, 0, 0, 1)}, ExtKeyUsage: []x509.ExtKeyUsage{usage}}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, p.ca, &key.PublicKey, p.caKey)
	if err != nil {
		t.Fatal(err)
	}
	return tls.Certificate{Certificate: [][]byte{der}, PrivateKey: key}
}

func (p *testPKI) server(t testing.TB) tls.Certificate {
	return p.leaf(t, time.Now().Add(-time.Hour), time.Now().Add(time.Hour), false)
}

// startTLSServer is startUsersServer over TLS with cert.
func startTLSServer(t *testing.T, backend string, cert tls.Certificate, tune func(*Server)) (*Server, string) {
	return startUsersServer(t, backend, func(s *Server) {
		s.TLSConfig = &tls.Config{Certificates: []tls.Certificate{cert}}
		if tune != nil {
			tune(s)
		}
	})
}

func dialCtx(t *testing.T) context.Context {
	ctx, cancel := context.WithTimeout(context.Background(), 15*time.Second)
	t.Cleanup(cancel)
	return ctx
}

// TestTLSLoginAndGet: over TLS on both backends, the Hello offers the
// bound login first, alice logs in with it and gets a file larger than
// the output queue many times over (no sendfile under TLS: pread and
// encryption), byte for byte.
func TestTLSLoginAndGet(t *testing.T) {
	forEachBackend(t, func(t *testing.T, backend string) {
		pki := newPKI(t)
		big := bytes.Repeat([]byte("0123456789abcdef"), 2<<20) // 32 MiB
		path := filepath.Join(t.TempDir(), "big")
		if err := os.WriteFile(path, big, 0o600); err != nil {
			t.Fatal(err)
		}
		_, addr := startTLSServer(t, backend, pki.server(t), func(s *Server) {
			if err := s.Register(sendFileCommand(path)); err != nil {
				t.Fatal(err)
			}
		})
		c, err := client.Dial(dialCtx(t), addr, client.WithTLS(&tls.Config{RootCAs: pki.pool}),
			client.WithUser("alice", "alice-pw"))
		if err != nil {
			t.Fatal(err)
		}
		defer c.Close()
		if a := c.Server().Auth; len(a) == 0 || a[0] != protocol.MechSCRAMSHA256PLUS {
			t.Fatalf("Hello offers %v; want %s first", a, protocol.MechSCRAMSHA256PLUS)
		}
		var out bytes.Buffer
		if _, err := c.Do(dialCtx(t), protocol.Request{Verb: "sendbig"}, nil, &out); err != nil {
			t.Fatal(err)
		}
		if !bytes.Equal(out.Bytes(), big) {
			t.Fatalf("got %d bytes, differing from the file's %d", out.Len(), len(big))
		}
	})
}

// TestTLSChannelBindingStopsRelay: a man in the middle whose certificate
// the client trusts (here by pin) relays the login to the real server
// over a TLS connection of its own. The login is bound to the client's
// connection, so the server refuses it; without the binding the relay
// would be logged in as alice.
func TestTLSChannelBindingStopsRelay(t *testing.T) {
	forEachBackend(t, func(t *testing.T, backend string) {
		pki := newPKI(t)
		_, addr := startTLSServer(t, backend, pki.server(t), nil)
		mitmCert := newPKI(t).server(t)
		ln, err := net.Listen("tcp", "127.0.0.1:0")
		if err != nil {
			t.Fatal(err)
		}
		defer ln.Close()
		go func() {
			for {
				nc, err := ln.Accept()
				if err != nil {
					return
				}
				go relay(tls.Server(nc, &tls.Config{Certificates: []tls.Certificate{mitmCert}}), addr)
			}
		}()
		leaf, _ := x509.ParseCertificate(mitmCert.Certificate[0])
		cfg, err := client.NewTLSConfig(client.TLSFiles{Pin: CertFingerprint(leaf.Raw)})
		if err != nil {
			t.Fatal(err)
		}
		_, err = client.Dial(dialCtx(t), ln.Addr().String(), client.WithTLS(cfg), client.WithUser("alice", "alice-pw"))
		if !errors.Is(err, client.ErrAuth) {
			t.Fatalf("login relayed by a man in the middle: %v; want authentication failed", err)
		}
	})
}

// relay forwards c to a new TLS connection to addr, both ways.
func relay(c *tls.Conn, addr string) {
	defer c.Close()
	up, err := tls.Dial("tcp", addr, &tls.Config{InsecureSkipVerify: true})
	if err != nil {
		return
	}
	defer up.Close()
	go io.Copy(up, c)
	io.Copy(c, up)
}

// TestTLSMismatchedClients: a plaintext client of a TLS server, and a TLS
// client of a plaintext server, each get a clear error, and the server
// serves the next client.
func TestTLSMismatchedClients(t *testing.T) {
	forEachBackend(t, func(t *testing.T, backend string) {
		pki := newPKI(t)
		_, addr := startTLSServer(t, backend, pki.server(t), nil)
		_, err := client.Dial(dialCtx(t), addr, client.WithUser("alice", "alice-pw"))
		if err == nil || !strings.Contains(err.Error(), "speaks TLS only") {
			t.Fatalf("plaintext client of a TLS server: %v", err)
		}
		c, err := client.Dial(dialCtx(t), addr, client.WithTLS(&tls.Config{RootCAs: pki.pool}), client.WithUser("alice", "alice-pw"))
		if err != nil {
			t.Fatalf("TLS client after a plaintext one: %v", err)
		}
		c.Close()

		_, plainAddr := startUsersServer(t, backend, nil)
		_, err = client.Dial(dialCtx(t), plainAddr, client.WithTLS(&tls.Config{RootCAs: pki.pool}))
		if err == nil || !strings.Contains(err.Error(), "does not speak TLS") {
			t.Fatalf("TLS client of a plaintext server: %v", err)
		}
	})
}

// TestTLSCertificateChecks: an unknown CA, an expired certificate and a
// wrong pin are refused with errors that say so; the right pin is
// accepted without a CA; a server that requires client certificates
// refuses a client without one and takes one its CA signed.
func TestTLSCertificateChecks(t *testing.T) {
	forEachBackend(t, func(t *testing.T, backend string) {
		pki := newPKI(t)
		cert := pki.server(t)
		_, addr := startTLSServer(t, backend, cert, nil)
		dial := func(cfg *tls.Config) error {
			c, err := client.Dial(dialCtx(t), addr, client.WithTLS(cfg), client.WithUser("alice", "alice-pw"))
			if err == nil {
				c.Close()
			}
			return err
		}
		if err := dial(&tls.Config{RootCAs: newPKI(t).pool}); err == nil || !strings.Contains(err.Error(), "not signed by an authority") {
			t.Errorf("unknown CA: %v", err)
		}
		leaf, _ := x509.ParseCertificate(cert.Certificate[0])
		good, _ := client.NewTLSConfig(client.TLSFiles{Pin: CertFingerprint(leaf.Raw)})
		if err := dial(good); err != nil {
			t.Errorf("right pin: %v", err)
		}
		bad, _ := client.NewTLSConfig(client.TLSFiles{Pin: CertFingerprint([]byte("another"))})
		if err := dial(bad); err == nil || !strings.Contains(err.Error(), "does not match --pin") {
			t.Errorf("wrong pin: %v", err)
		}

		expired := pki.leaf(t, time.Now().Add(-48*time.Hour), time.Now().Add(-24*time.Hour), false)
		_, oldAddr := startTLSServer(t, backend, expired, nil)
		_, err := client.Dial(dialCtx(t), oldAddr, client.WithTLS(&tls.Config{RootCAs: pki.pool}))
		if err == nil || !strings.Contains(err.Error(), "expired") {
			t.Errorf("expired certificate: %v", err)
		}

		_, mtlsAddr := startTLSServer(t, backend, cert, func(s *Server) {
			s.TLSConfig.ClientAuth = tls.RequireAndVerifyClientCert
			s.TLSConfig.ClientCAs = pki.pool
		})
		_, err = client.Dial(dialCtx(t), mtlsAddr, client.WithTLS(&tls.Config{RootCAs: pki.pool}), client.WithUser("alice", "alice-pw"))
		if err == nil || !strings.Contains(err.Error(), "requires a client certificate") {
			t.Errorf("no client certificate: %v", err)
		}
		mine := pki.leaf(t, time.Now().Add(-time.Hour), time.Now().Add(time.Hour), true)
		c, err := client.Dial(dialCtx(t), mtlsAddr, client.WithTLS(&tls.Config{RootCAs: pki.pool, Certificates: []tls.Certificate{mine}}),
			client.WithUser("alice", "alice-pw"))
		if err != nil {
			t.Errorf("with a client certificate: %v", err)
		} else {
			c.Close()
		}
	})
}

// sendFileCommand sends the file at path with io.Copy, the host's
// SendFile path (sendfile in clear, pread and encryption under TLS).
func sendFileCommand(path string) sdk.Command {
	return sdk.Func(sdk.Description{Verb: "sendbig", Summary: "send a test file"},
		func(ctx context.Context, req *sdk.Request, w sdk.ResponseWriter) error {
			f, err := os.Open(path)
			if err != nil {
				return err
			}
			defer f.Close()
			_, err = io.Copy(w, f)
			return err
		})
}
