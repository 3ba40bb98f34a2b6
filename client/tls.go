package client

import (
	"bufio"
	"context"
	"crypto/sha256"
	"crypto/tls"
	"crypto/x509"
	"encoding/hex"
	"errors"
	"fmt"
	"net"
	"os"
	"strings"
	"time"

	"github.com/xdg-go/scram"

	"github.com/selectftp/selectftp/protocol"
)

// WithTLS makes every connection speak TLS from its first byte, verified
// by cfg (nil: the system's roots, TLS 1.3). A ServerName left empty is
// the host of the address dialled. NewTLSConfig builds one from files
// and a pin. The login is then bound to the connection
// (SCRAM-SHA-256-PLUS) when the server offers it.
func WithTLS(cfg *tls.Config) Option {
	if cfg == nil {
		cfg = &tls.Config{MinVersion: tls.VersionTLS13}
	}
	return func(c *config) { c.tls = cfg }
}

// Join makes one Option of several, applied in order.
func Join(opts ...Option) Option {
	return func(c *config) {
		for _, o := range opts {
			if o != nil {
				o(c)
			}
		}
	}
}

// TLSFiles names what NewTLSConfig reads.
type TLSFiles struct {
	// CA is a PEM file of the authorities trusted to sign the server's
	// certificate ("": the system's).
	CA string
	// Pin is the server certificate's SHA-256 fingerprint
	// ("SHA256:<hex>", as selectftpd logs it; colons and case do not
	// matter). With a pin, that certificate is trusted whoever signed
	// it, and no other is, CA or not.
	Pin string
	// Cert and Key are a PEM certificate and key to show a server that
	// asks for client certificates.
	Cert, Key string
}

// NewTLSConfig is the client TLS configuration of f: TLS 1.3.
func NewTLSConfig(f TLSFiles) (*tls.Config, error) {
	cfg := &tls.Config{MinVersion: tls.VersionTLS13}
	if f.CA != "" {
		pem, err := os.ReadFile(f.CA)
		if err != nil {
			return nil, fmt.Errorf("--ca: %w", err)
		}
		pool := x509.NewCertPool()
		if !pool.AppendCertsFromPEM(pem) {
			return nil, fmt.Errorf("--ca: %s holds no PEM certificate", f.CA)
		}
		cfg.RootCAs = pool
	}
	if (f.Cert == "") != (f.Key == "") {
		return nil, errors.New("a client certificate needs both its certificate and its key file")
	}
	if f.Cert != "" {
		kp, err := tls.LoadX509KeyPair(f.Cert, f.Key)
		if err != nil {
			return nil, fmt.Errorf("client certificate: %w", err)
		}
		cfg.Certificates = []tls.Certificate{kp}
	}
	if f.Pin != "" {
		want, err := parsePin(f.Pin)
		if err != nil {
			return nil, err
		}
		// The pin replaces the chain check (a self-signed certificate is
		// the usual case); VerifyConnection still runs, and checks it.
		cfg.InsecureSkipVerify = true
		cfg.VerifyConnection = func(cs tls.ConnectionState) error { return checkPin(cs, want) }
	}
	return cfg, nil
}

// parsePin reads "SHA256:ab12..." (or the bare hex, with or without
// colons) into the 32 bytes it names.
func parsePin(s string) ([]byte, error) {
	h := strings.ToLower(strings.TrimSpace(s))
	h = strings.TrimPrefix(h, "sha256:")
	h = strings.ReplaceAll(h, ":", "")
	b, err := hex.DecodeString(h)
	if err != nil || len(b) != sha256.Size {
		return nil, fmt.Errorf("--pin %q is not a SHA-256 fingerprint (SHA256: and 64 hex digits, as selectftpd logs it)", s)
	}
	return b, nil
}

// errPinMismatch is a server whose certificate is not the pinned one.
var errPinMismatch = errors.New("the server's certificate does not match --pin")

func checkPin(cs tls.ConnectionState, want []byte) error {
	if len(cs.PeerCertificates) == 0 {
		return errPinMismatch
	}
	leaf := cs.PeerCertificates[0]
	got := sha256.Sum256(leaf.Raw)
	if !equalBytes(got[:], want) {
		return fmt.Errorf("%w: it is SHA256:%s", errPinMismatch, hex.EncodeToString(got[:]))
	}
	if now := time.Now(); now.After(leaf.NotAfter) || now.Before(leaf.NotBefore) {
		return fmt.Errorf("the server's certificate has expired or is not valid yet (valid %s to %s)",
			leaf.NotBefore.Format(time.DateOnly), leaf.NotAfter.Format(time.DateOnly))
	}
	return nil
}

func equalBytes(a, b []byte) bool { return string(a) == string(b) }

// startTLS runs the TLS handshake on nc under the handshake's deadline.
func startTLS(ctx context.Context, nc net.Conn, addr string, cfg config) (net.Conn, error) {
	tc := cfg.tls.Clone()
	if tc.ServerName == "" && !tc.InsecureSkipVerify {
		host, _, err := net.SplitHostPort(addr)
		if err != nil {
			host = addr
		}
		tc.ServerName = host
	}
	if cfg.handshakeTimeout > 0 {
		var cancel context.CancelFunc
		ctx, cancel = context.WithTimeout(ctx, cfg.handshakeTimeout)
		defer cancel()
	}
	conn := tls.Client(&readAheadConn{Conn: nc, r: bufio.NewReaderSize(nc, tlsReadAhead)}, tc)
	if err := conn.HandshakeContext(ctx); err != nil {
		return nil, tlsError(err)
	}
	return conn, nil
}

// tlsReadAhead is how much the client reads from the socket at once under
// TLS. crypto/tls asks its transport for about one record (16 KiB) at a
// time: a system call per record, where a download in clear reads 64 KiB
// and more per call.
const tlsReadAhead = 256 << 10

// readAheadConn is the socket under a client's tls.Conn, read through a
// buffer; writes and deadlines go straight to it.
type readAheadConn struct {
	net.Conn
	r *bufio.Reader
}

func (c *readAheadConn) Read(p []byte) (int, error) { return c.r.Read(p) }

// tlsError says in words what failed in a TLS handshake, keeping the
// cause to match with errors.As.
func tlsError(err error) error {
	var (
		ua   x509.UnknownAuthorityError
		inv  x509.CertificateInvalidError
		host x509.HostnameError
		rh   tls.RecordHeaderError
	)
	switch {
	case errors.As(err, &rh):
		return fmt.Errorf("the server does not speak TLS (it answered in clear): connect without --tls: %w", err)
	case errors.As(err, &ua):
		return fmt.Errorf("the server's certificate is not signed by an authority this client trusts (give its CA with --ca FILE, or --pin its fingerprint): %w", err)
	case errors.As(err, &inv) && inv.Reason == x509.Expired:
		return fmt.Errorf("the server's certificate has expired or is not valid yet: %w", err)
	case errors.As(err, &host):
		return fmt.Errorf("the server's certificate is not for this address: %w", err)
	case isTLSAlert(err):
		return fmt.Errorf("the server refused the TLS connection: %w", err)
	case errors.Is(err, errPinMismatch):
		return err
	}
	return fmt.Errorf("TLS handshake: %w", err)
}

// afterTLSError explains an error met right after a TLS handshake: in
// TLS 1.3 a server checks a client certificate after the client's side
// of the handshake ended, so its refusal arrives as the first read.
func afterTLSError(err error) error {
	msg, _ := remoteAlert(err)
	switch msg {
	case "tls: certificate required":
		return fmt.Errorf("the server requires a client certificate (--tls-cert and --tls-key): %w", err)
	case "tls: bad certificate", "tls: unknown certificate authority", "tls: unsupported certificate",
		"tls: revoked certificate", "tls: expired certificate", "tls: unknown certificate":
		return fmt.Errorf("the server refused this client's certificate: %w", err)
	}
	return fmt.Errorf("the server ended the TLS connection: %w", err)
}

// remoteAlert is the alert a TLS peer sent, as crypto/tls reports it (a
// *net.OpError "remote error" around its unexported alert type).
func remoteAlert(err error) (string, bool) {
	var oe *net.OpError
	if !errors.As(err, &oe) || oe.Op != "remote error" || oe.Err == nil {
		return "", false
	}
	return oe.Err.Error(), true
}

// conversation starts the login's SCRAM conversation: on TLS, bound to the
// connection (tls-exporter) when the server offers PLUS, and otherwise
// saying the client could bind, so that a server which did offer PLUS
// (the offer stripped on the way) refuses the login.
func (c *Conn) conversation(cr *credentials, plus bool) (*scram.ClientConversation, string, error) {
	tc, ok := c.nc.(*tls.Conn)
	switch {
	case !ok:
		return cr.sc.NewConversation(), protocol.MechSCRAMSHA256, nil
	case !plus:
		return cr.sc.NewConversationAdvertisingChannelBinding(), protocol.MechSCRAMSHA256, nil
	}
	st := tc.ConnectionState()
	cb, err := scram.NewTLSExporterBinding(&st)
	if err != nil {
		return nil, "", fmt.Errorf("login: channel binding: %w", err)
	}
	return cr.sc.NewConversationWithChannelBinding(cb), protocol.MechSCRAMSHA256PLUS, nil
}

func isTLSAlert(err error) bool {
	_, ok := remoteAlert(err)
	return ok
}
