package host

import (
	"crypto/sha256"
	"crypto/tls"
	"encoding/hex"
	"errors"
	"strings"

	"github.com/xdg-go/scram"

	"github.com/selectftp/selectftp/host/internal/netpoll"
	"github.com/selectftp/selectftp/protocol"
)

// TLS (Server.TLSConfig): the native protocol over TLS from the first byte,
// on both backends (host/internal/netpoll/tls.go says how the reactor does
// it without blocking its loops). A login on a TLS connection is bound to
// it: the Hello offers SCRAM-SHA-256-PLUS with tls-exporter channel
// binding (RFC 9266), so a login relayed through another TLS connection
// (a man in the middle holding a certificate the client trusted by
// mistake) fails.

// tlsPlainHint is what a TLS server answers, in clear, to a client whose
// first bytes are a selectftp frame rather than a TLS record.
const tlsPlainHint = "this server speaks TLS only: connect with TLS (selectftp --tls)"

// tlsConfig is TLSConfig as the engine uses it: TLS 1.3 unless the
// embedder chose a minimum (tls-exporter needs 1.3, or 1.2 with the
// extended master secret), and full-size records from the start, as bulk
// transfers want.
func (s *Server) tlsConfig() *tls.Config {
	if s.TLSConfig == nil {
		return nil
	}
	c := s.TLSConfig.Clone()
	if c.MinVersion == 0 {
		c.MinVersion = tls.VersionTLS13
	}
	c.DynamicRecordSizingDisabled = true
	return c
}

// plainReply tells a plaintext selectftp client (its first five bytes are
// a frame header: a length under 16 MiB and a known frame type) why it
// is refused; anything else gets nothing.
func plainReply(head []byte) []byte {
	if len(head) < protocol.HeaderLen || head[0] != 0 || !strings.ContainsRune("HQA", rune(head[4])) {
		return nil
	}
	frame, err := protocol.Marshal(protocol.TypeStatus, protocol.Status{Code: protocol.CodeProtocol, Message: tlsPlainHint})
	if err != nil {
		return nil
	}
	return frame
}

// authMechs is what the Hello offers: the PLUS variant first when the
// connection is TLS.
func (s *Server) authMechs() []string {
	if s.TLSConfig != nil {
		return []string{protocol.MechSCRAMSHA256PLUS, protocol.MechSCRAMSHA256}
	}
	return []string{protocol.MechSCRAMSHA256}
}

// conversation starts the session's SCRAM conversation for mech: bound to
// the TLS connection when there is one (required for the PLUS mechanism;
// for plain SCRAM-SHA-256 a client that says it could bind but saw no
// PLUS offer is refused, as RFC 5802 says, since the offer was made).
func (ss *session) conversation(srv *scram.Server, mech string) (*scram.ServerConversation, error) {
	st := netpoll.TLSState(ss.c)
	if st == nil {
		if mech != protocol.MechSCRAMSHA256 {
			return nil, errors.New("unknown mechanism")
		}
		return srv.NewConversation(), nil
	}
	cb, err := scram.NewTLSExporterBinding(st)
	if err != nil {
		return nil, err
	}
	switch mech {
	case protocol.MechSCRAMSHA256PLUS:
		return srv.NewConversationWithChannelBindingRequired(cb), nil
	case protocol.MechSCRAMSHA256:
		return srv.NewConversationWithChannelBinding(cb), nil
	}
	return nil, errors.New("unknown mechanism")
}

// CertFingerprint is the SHA-256 of a certificate's DER form, as clients
// pin it (selectftp --pin): "SHA256:" and lower-case hex.
func CertFingerprint(der []byte) string {
	sum := sha256.Sum256(der)
	return "SHA256:" + hex.EncodeToString(sum[:])
}
