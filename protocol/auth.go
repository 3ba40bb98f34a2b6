package protocol

// MechSCRAMSHA256 is the login mechanism a server lists in Hello.Auth:
// SCRAM-SHA-256 (RFC 5802, RFC 7677). The password never crosses the
// wire, the server stores only keys derived from it, and each side proves
// to the other that it knows them.
const MechSCRAMSHA256 = "SCRAM-SHA-256"

// MechSCRAMSHA256PLUS is SCRAM-SHA-256 bound to the TLS connection it runs
// on (tls-exporter channel binding, RFC 9266): a TLS server lists it first.
const MechSCRAMSHA256PLUS = "SCRAM-SHA-256-PLUS"

// Auth is the payload of an A frame, one step of a login. The client's
// first A names the mechanism and carries SCRAM's client-first message;
// the server answers with an A carrying server-first; the client's second
// A carries client-final, and the server ends the login with a Status:
// ok with server-final in Status.Data, or auth_failed (and it closes).
type Auth struct {
	// Mechanism is set in the client's first A only.
	Mechanism string `json:"mechanism,omitempty"`
	// Data is the SCRAM message of this step, as RFC 5802 spells it.
	Data string `json:"data"`
}
