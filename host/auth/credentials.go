package auth

import (
	"bytes"
	"crypto/hmac"
	"crypto/rand"
	"crypto/sha256"
	"crypto/subtle"
	"errors"
	"fmt"

	"github.com/xdg-go/scram"
	"github.com/xdg-go/stringprep"
)

// DefaultIterations is the PBKDF2-HMAC-SHA256 count NewCredentials is
// given by the users file and the CLI. It is OWASP's 2023 figure for this
// hash (Django uses the same order). The cost falls on the client: SCRAM has
// the client derive its key from the password, once per process (the
// derived key is cached per salt), about 0.1 s on one modern core; the
// server only compares hashes, so a login flood costs the server nothing of
// it. An attacker holding the users file pays the same 600,000 HMAC pairs
// per guessed password, per user (each has its own salt).
const DefaultIterations = 600_000

// MinIterations is the smallest count NewCredentials accepts: the lowest
// RFC 7677 allows, and the lowest the SCRAM client will agree to.
const MinIterations = 4096

// MaxIterations bounds the count a file may ask for, so a hand-edited or
// hostile file cannot make each login cost a client minutes.
const MaxIterations = 10_000_000

// saltSize is the salt length in bytes: 128 bits, as NIST SP 800-132 asks.
const saltSize = 16

// ErrEmptyPassword is NewCredentials' error for an empty password.
var ErrEmptyPassword = errors.New("auth: empty password")

// NewCredentials derives SCRAM-SHA-256 stored credentials from password
// with a fresh random salt. The password is SASLprep'd first (RFC 4013), as
// the client does, so "I\u00ADX" and "IX" are one password. The result holds
// no password and no key that logs in: only what verifies a proof.
func NewCredentials(password string, iterations int) (scram.StoredCredentials, error) {
	if password == "" {
		return scram.StoredCredentials{}, ErrEmptyPassword
	}
	if iterations < MinIterations || iterations > MaxIterations {
		return scram.StoredCredentials{}, fmt.Errorf("auth: %d iterations is outside %d..%d", iterations, MinIterations, MaxIterations)
	}
	salt := make([]byte, saltSize)
	if _, err := rand.Read(salt); err != nil {
		return scram.StoredCredentials{}, fmt.Errorf("auth: salt: %w", err)
	}
	return derive(password, scram.KeyFactors{Salt: string(salt), Iters: iterations})
}

// derive runs the client's side of SCRAM: PBKDF2, then the stored and
// server keys.
func derive(password string, kf scram.KeyFactors) (scram.StoredCredentials, error) {
	prepped, err := stringprep.SASLprep.Prepare(password)
	if err != nil {
		// Not %w: stringprep's message quotes the offending rune.
		return scram.StoredCredentials{}, errors.New("auth: the password has characters SASLprep refuses (RFC 4013)")
	}
	if prepped == "" {
		// SASLprep maps some non-empty passwords to nothing ("\u00AD").
		return scram.StoredCredentials{}, ErrEmptyPassword
	}
	c, err := scram.SHA256.NewClientUnprepped("", prepped, "")
	if err != nil {
		return scram.StoredCredentials{}, fmt.Errorf("auth: %w", err)
	}
	sc, err := c.GetStoredCredentialsWithError(kf)
	if err != nil {
		return scram.StoredCredentials{}, fmt.Errorf("auth: %w", err)
	}
	return sc, nil
}

// CheckPassword reports whether password matches c, for front ends that
// receive a password (FTP's PASS) rather than a SCRAM proof. It runs the
// full PBKDF2 at c's iteration count on the server, so callers must rate
// limit it. The comparison takes the same time wherever the keys differ.
func CheckPassword(c scram.StoredCredentials, password string) bool {
	if password == "" || len(c.StoredKey) == 0 || c.Iters < MinIterations || c.Iters > MaxIterations {
		return false
	}
	got, err := derive(password, c.KeyFactors)
	if err != nil {
		return false
	}
	// Both keys are compared, and both comparisons always run.
	a := subtle.ConstantTimeCompare(got.StoredKey, c.StoredKey)
	b := subtle.ConstantTimeCompare(got.ServerKey, c.ServerKey)
	return a&b == 1
}

// Decoys makes stand-in credentials for names no Store knows, so a login
// as an unknown user runs the same conversation as a wrong password: the
// server-first message carries a salt and an iteration count either way,
// the salt is the same on every try for one name (a changing salt would
// betray the decoy), and the proof fails at the same step.
//
// Decoys always advertise DefaultIterations: a count copied from real
// accounts would change with the account last seen and let a probe tell
// the names apart. So an account made with another count (selectftpd user
// add --iterations) is told from an unknown name by its count: that is
// the price of choosing one.
//
// A salt is an HMAC of the name under the Decoys' key; with a key kept
// across restarts (NewDecoysKey), an unknown name's salt stays the same
// across restarts as a real account's does. With a per-process key
// (NewDecoys), a restart changes every decoy salt and none of the real
// ones, which tells a patient prober which names are real.
type Decoys struct {
	key   []byte
	iters int // DefaultIterations; tests in this package lower it
}

// DecoyKeySize is the length in bytes of a Decoys key.
const DecoyKeySize = 32

// NewDecoys returns a Decoys with a random key of its own: decoys differ
// between processes and cannot be computed from outside.
func NewDecoys() *Decoys {
	key := make([]byte, DecoyKeySize)
	// crypto/rand.Read never fails on supported platforms (Go 1.24+).
	_, _ = rand.Read(key)
	return &Decoys{key: key, iters: DefaultIterations}
}

// NewDecoysKey returns a Decoys with key, which must be DecoyKeySize
// secret random bytes (users.DecoyKey keeps one beside the users file):
// the same key gives the same decoys in every process.
func NewDecoysKey(key []byte) (*Decoys, error) {
	if len(key) != DecoyKeySize {
		return nil, fmt.Errorf("auth: a decoy key is %d bytes, not %d", DecoyKeySize, len(key))
	}
	return &Decoys{key: bytes.Clone(key), iters: DefaultIterations}, nil
}

// For returns name's decoy credentials: the same for the same name for the
// life of d. Their keys are HMAC outputs nobody can produce a proof for:
// a proof needs a ClientKey whose SHA-256 is StoredKey.
func (d *Decoys) For(name string) scram.StoredCredentials {
	sum := func(label string) []byte {
		m := hmac.New(sha256.New, d.key)
		m.Write([]byte(label))
		m.Write([]byte{0})
		m.Write([]byte(name))
		return m.Sum(nil)
	}
	return scram.StoredCredentials{
		KeyFactors: scram.KeyFactors{Salt: string(sum("salt")[:saltSize]), Iters: d.iters},
		StoredKey:  sum("stored"),
		ServerKey:  sum("server"),
	}
}
