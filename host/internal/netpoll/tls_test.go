package netpoll

import (
	"bytes"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/tls"
	"crypto/x509"
	"math/big"
	"net"
	"testing"
	"time"
)

// TestGoroutineTLS: the goroutine backend serves any net.Listener, TLS
// included, with the same echo semantics.
func TestGoroutineTLS(t *testing.T) {
	cert := selfSigned(t)
	inner, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	ln := tls.NewListener(inner, &tls.Config{Certificates: []tls.Certificate{cert}})
	s := startOn(t, backends[1], Options{ReadBuffer: 4096}, ln, echo{})
	c, err := tls.DialWithDialer(&net.Dialer{Timeout: waitTimeout}, "tcp", s.addr,
		&tls.Config{InsecureSkipVerify: true})
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	for _, n := range []int{1, 4095, 4097, 1 << 20} {
		data := pattern(n, n)
		if got := roundTrip(t, c, data); !bytes.Equal(got, data) {
			t.Fatalf("size %d: echo differs at %d", n, firstDiff(got, data))
		}
	}
}

func selfSigned(t *testing.T) tls.Certificate {
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	tmpl := &x509.Certificate{
		SerialNumber: big.NewInt(1),
		NotBefore:    time.Now().Add(-time.Hour),
		NotAfter:     time.Now().Add(time.Hour),
		DNSNames:     []string{"localhost"},
	}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, &key.PublicKey, key)
	if err != nil {
		t.Fatal(err)
	}
	return tls.Certificate{Certificate: [][]byte{der}, PrivateKey: key}
}
