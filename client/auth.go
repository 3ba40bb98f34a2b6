package client

import (
	"errors"
	"fmt"

	"github.com/xdg-go/scram"

	"github.com/selectftp/selectftp/protocol"
)

// ErrAuth is a failed login: a wrong password or an unknown user (the
// server answers both alike). Its text is "authentication failed".
var ErrAuth error = &protocol.StatusError{Code: protocol.CodeAuthFailed}

// ErrUnauthenticated is a server that requires a login the client was not
// given (see WithUser).
var ErrUnauthenticated error = &protocol.StatusError{Code: protocol.CodeUnauthenticated}

// credentials is WithUser's login: one SCRAM client for every connection
// made with the option, so the password's PBKDF2, the slow step on purpose,
// runs once per salt, not once per connection.
type credentials struct {
	user string
	sc   *scram.Client
	err  error // the password or name SASLprep refused
}

// WithUser logs in as user with password on every connection (Dial, and
// each of a Pool's), by SCRAM-SHA-256: the password never crosses the
// wire, and the server proves it knows the user's keys before anything
// else is sent. A wrong password or an unknown user fails Dial with an
// error matching ErrAuth. Make the option once and reuse it: it keeps the
// work of deriving keys from the password.
func WithUser(user, password string) Option {
	cr := &credentials{user: user}
	cr.sc, cr.err = scram.SHA256.NewClient(user, password, "")
	if cr.err != nil {
		// The library's message names the field, never the password.
		cr.err = fmt.Errorf("cannot use this user name or password: %w", cr.err)
	}
	return func(c *config) { c.login = cr }
}

// login runs the SCRAM conversation after the Hello, while the handshake's
// deadline holds: client-first, server-first, client-final, then the
// server's Status, whose server-final is checked before the connection is
// used.
func (c *Conn) login() error {
	cr := c.cfg.login
	offered, plus := false, false
	for _, m := range c.server.Auth {
		offered = offered || m == protocol.MechSCRAMSHA256
		plus = plus || m == protocol.MechSCRAMSHA256PLUS
	}
	offered = offered || plus
	switch {
	case cr == nil && len(c.server.Auth) > 0 && !c.server.Anonymous:
		return fmt.Errorf("the server requires a login: %w", ErrUnauthenticated)
	case cr == nil:
		return nil
	case cr.err != nil:
		return cr.err
	case !offered:
		// Sending requests as nobody when a login was asked for would
		// hide a server that is not the one meant.
		return fmt.Errorf("the server takes no login (it serves anonymously); a user name was given")
	}
	conv, mech, err := c.conversation(cr, plus)
	if err != nil {
		return err
	}
	first, err := conv.Step("")
	if err != nil {
		return err
	}
	if err := c.sendAuth(protocol.Auth{Mechanism: mech, Data: first}); err != nil {
		return err
	}
	serverFirst, err := c.readAuth()
	if err != nil {
		return err
	}
	final, err := conv.Step(serverFirst)
	if err != nil {
		return fmt.Errorf("login: the server's challenge: %w", err)
	}
	if err := c.sendAuth(protocol.Auth{Data: final}); err != nil {
		return err
	}
	f, err := c.r.Next()
	if err != nil {
		return fmt.Errorf("login: %w", err)
	}
	st, err := loginStatus(f)
	if err != nil {
		return err
	}
	if _, err := conv.Step(st.Data); err != nil || !conv.Valid() {
		return errors.New("login: the server did not prove it knows the user's keys; it may not be the server meant")
	}
	return nil
}

// authFailed is the error of a refused login: its text is the one a
// person reads, "authentication failed", and it matches ErrAuth (and
// Code gives auth_failed) through the server's Status it wraps.
type authFailed struct{ st *protocol.StatusError }

func (e authFailed) Error() string { return "authentication failed" }
func (e authFailed) Unwrap() error { return e.st }

func (c *Conn) sendAuth(a protocol.Auth) error {
	frame, err := protocol.Marshal(protocol.TypeAuth, a)
	if err != nil {
		return err
	}
	if _, err := c.nc.Write(frame); err != nil {
		return fmt.Errorf("login: %w", err)
	}
	return nil
}

// readAuth reads the server's A frame, or the Status that refuses the
// login.
func (c *Conn) readAuth() (string, error) {
	f, err := c.r.Next()
	if err != nil {
		return "", fmt.Errorf("login: %w", err)
	}
	if f.Type != protocol.TypeAuth {
		_, err := loginStatus(f)
		if err == nil {
			err = errors.New("login: the server said ok before the client proved anything")
		}
		return "", err
	}
	var a protocol.Auth
	if err := protocol.Unmarshal(f.Type, f.Payload, &a); err != nil {
		return "", fmt.Errorf("login: %w", err)
	}
	return a.Data, nil
}

// loginStatus reads the Status that ends a login: ok, or the error that
// refused it (ErrAuth for a wrong password or unknown user, whose text is
// then "authentication failed" alone).
func loginStatus(f protocol.Frame) (protocol.Status, error) {
	var st protocol.Status
	if f.Type != protocol.TypeStatus {
		return st, fmt.Errorf("login: unexpected %v frame", f.Type)
	}
	if err := protocol.Unmarshal(f.Type, f.Payload, &st); err != nil {
		return st, fmt.Errorf("login: %w", err)
	}
	switch {
	case st.OK():
		return st, nil
	case st.Code == protocol.CodeAuthFailed:
		return st, authFailed{&protocol.StatusError{Code: st.Code, Message: st.Message}}
	}
	return st, fmt.Errorf("login: %w", st.Err())
}
