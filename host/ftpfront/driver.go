package ftpfront

import (
	"context"
	"crypto/tls"
	"errors"
	"fmt"
	"net"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	ftpserver "github.com/fclairamb/ftpserverlib"
)

// loginTimeout bounds a login's check, the defender's delay included.
const loginTimeout = 30 * time.Second

func (f *Front) settings(ln net.Listener) *ftpserver.Settings {
	s := &ftpserver.Settings{
		Listener:          ln,
		PublicHost:        f.cfg.PublicHost,
		Banner:            "selectftpd",
		IdleTimeout:       int(f.cfg.IdleTimeout / time.Second),
		ConnectionTimeout: 30,
		// Active mode connects only back to the control connection's
		// address (the library's default check), from any local port:
		// the server does not run as root to bind port 20.
		ActiveTransferPortNon20: true,
		DisableMFMT:             true, // no verb sets a file's time
		EnableHASH:              true,
		// Bytes are sent as stored: SIZE and REST mean the same in both
		// types, and a download is never rewritten on the way (as vsftpd).
		DisableASCIIConversion: true,
		DefaultTransferType:    ftpserver.TransferTypeBinary,
	}
	if s.IdleTimeout < 1 {
		s.IdleTimeout = 1
	}
	if f.cfg.PassivePortMin > 0 {
		s.PassiveTransferPortRange = ftpserver.PortRange{Start: f.cfg.PassivePortMin, End: f.cfg.PassivePortMax}
	}
	return s
}

// mainDriver logs clients in; the library calls it from each control
// connection's goroutine.
type mainDriver struct{ f *Front }

func (m *mainDriver) GetSettings() (*ftpserver.Settings, error) {
	if m.f.libSettings == nil {
		return nil, errors.New("ftpfront: not serving")
	}
	return m.f.libSettings, nil
}

func (m *mainDriver) ClientConnected(cc ftpserver.ClientContext) (string, error) {
	st := &clientState{conn: m.f.claim(cc.RemoteAddr()), gone: make(chan struct{})}
	if st.conn != nil {
		st.ctl = st.conn.tcp
	}
	cc.SetExtra(st)
	m.f.mu.Lock()
	m.f.clients[cc.ID()] = cc
	m.f.mu.Unlock()
	return "selectftpd ready", nil
}

func (m *mainDriver) ClientDisconnected(cc ftpserver.ClientContext) {
	m.f.mu.Lock()
	delete(m.f.clients, cc.ID())
	m.f.mu.Unlock()
	switch st := cc.Extra().(type) {
	case *clientDriver:
		st.end()
	case *clientState:
		st.end()
	}
}

func (m *mainDriver) AuthUser(cc ftpserver.ClientContext, user, pass string) (ftpserver.ClientDriver, error) {
	st, _ := cc.Extra().(*clientState)
	if st == nil {
		return nil, errors.New("already logged in")
	}
	st.beginLogin()
	// Only a server without users has an anonymous login; with users,
	// "ftp" or "anonymous" may be real accounts with real passwords.
	anon := (user == "anonymous" || user == "ftp") && m.f.be.Anonymous()
	if !anon && !cc.HasTLSForControl() && !isLoopback(cc.RemoteAddr()) && !m.f.cfg.AllowPlainLogin {
		st.stopScan(false)
		m.f.log.Warn("FTP login refused: a password in clear", "remote", cc.RemoteAddr().String(), "user", user)
		return nil, errors.New("passwords cross only TLS (AUTH TLS) or a loopback connection here")
	}
	ctx, cancel := context.WithTimeout(m.f.ctx, loginTimeout)
	defer cancel()
	sess, err := m.f.be.LoginPlain(ctx, cc.RemoteAddr(), user, pass)
	if err != nil {
		st.stopScan(false) // the login scored itself; the library disconnects
		return nil, err
	}
	st.stopScan(true)
	d := &clientDriver{f: m.f, cc: cc, sess: sess, st: st}
	d.ctx, d.cancel = context.WithCancel(m.f.ctx)
	cc.SetExtra(d)
	// A client that left while its login was checked gets no session.
	select {
	case <-st.gone:
		d.end()
		return nil, errors.New("client left")
	default:
	}
	return d, nil
}

func (m *mainDriver) GetTLSConfig() (*tls.Config, error) {
	if m.f.cfg.TLSConfig == nil {
		return nil, errors.New("this server has no TLS certificate (selectftpd --tls-cert/--tls-key)")
	}
	return m.f.cfg.TLSConfig, nil
}

// clientState is what a control connection has from its accept on.
type clientState struct {
	conn *ctlConn      // the admitted control connection (nil in unit tests)
	ctl  *net.TCPConn  // the control connection's socket, if TCP
	gone chan struct{} // closed when the control connection ended
	once sync.Once
}

func (s *clientState) end() { s.once.Do(func() { close(s.gone) }) }

// beginLogin ends the connection's login deadline: a password is being
// checked (admit.go).
func (s *clientState) beginLogin() {
	if s.conn != nil {
		s.conn.beginLogin()
	}
}

// stopScan ends the connection's pre-login bookkeeping (admit.go): a
// login that succeeded (loggedIn) or failed is past the protocol errors.
func (s *clientState) stopScan(loggedIn bool) {
	if s.conn != nil {
		s.conn.stopScan(loggedIn)
	}
}

// clientDriver is one logged-in client: the afero.Fs the library asks, and
// the extensions that route every command to a verb.
type clientDriver struct {
	f         *Front
	cc        ftpserver.ClientContext
	sess      session
	st        *clientState
	ctx       context.Context
	cancel    context.CancelFunc
	transfers atomic.Int32
	wg        sync.WaitGroup // running transfers
	endOnce   sync.Once
	siteDir   string // the session folder the host knows (cd), for SITE
	alloSize  int64  // ALLO's size for the next STOR, 0: none
}

// end runs when the control connection ended: running calls are cancelled
// and the session is given back once its transfers have returned (the
// library closes their data connections right after this).
func (d *clientDriver) end() {
	d.endOnce.Do(func() {
		d.st.end()
		d.cancel()
		go func() { d.wg.Wait(); d.sess.Close() }()
	})
}

// abs makes p absolute under the client's folder (the library passes most
// paths absolute, HASH's as typed).
func (d *clientDriver) abs(p string) string {
	if strings.HasPrefix(p, "/") {
		return cleanPath(p)
	}
	return cleanPath(d.cc.Path() + "/" + p)
}

func (d *clientDriver) String() string { return fmt.Sprintf("ftp client %d", d.cc.ID()) }
