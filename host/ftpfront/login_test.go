package ftpfront

import (
	"net"
	"strings"
	"testing"

	ftpserver "github.com/fclairamb/ftpserverlib"
)

// fakeCC is a control connection from a given address, in clear or TLS.
type fakeCC struct {
	ftpserver.ClientContext
	remote net.Addr
	tls    bool
	extra  any
}

func (c *fakeCC) RemoteAddr() net.Addr   { return c.remote }
func (c *fakeCC) HasTLSForControl() bool { return c.tls }
func (c *fakeCC) SetExtra(v any)         { c.extra = v }
func (c *fakeCC) Extra() any             { return c.extra }
func (c *fakeCC) ID() uint32             { return 1 }
func (c *fakeCC) Path() string           { return "/" }

// A password in clear from another host is refused before it is checked,
// unless the operator allows it; TLS, loopback and anonymous pass.
func TestPlainPasswordOnlyOverTLSOrLoopback(t *testing.T) {
	far := &net.TCPAddr{IP: net.IPv4(192, 0, 2, 7), Port: 4000}
	near := &net.TCPAddr{IP: net.IPv4(127, 0, 0, 1), Port: 4000}
	for _, tc := range []struct {
		name   string
		remote net.Addr
		tls    bool
		allow  bool
		user   string
		users  bool
		ok     bool
	}{
		{"clear from afar", far, false, false, "alice", true, false},
		{"TLS from afar", far, true, false, "alice", true, true},
		{"clear on loopback", near, false, false, "alice", true, true},
		{"clear from afar, allowed", far, false, true, "alice", true, true},
		{"anonymous from afar", far, false, false, "anonymous", false, true},
		// With users, "ftp" and "anonymous" are accounts like any other.
		{"account ftp in clear from afar", far, false, false, "ftp", true, false},
		{"account anonymous in clear from afar", far, false, false, "anonymous", true, false},
	} {
		h := &fakeHost{root: t.TempDir(), users: tc.users}
		f, err := newFront(h, Config{AllowPlainLogin: tc.allow})
		if err != nil {
			t.Fatal(err)
		}
		cc := &fakeCC{remote: tc.remote, tls: tc.tls}
		m := &mainDriver{f: f}
		cc.SetExtra(&clientState{gone: make(chan struct{})})
		_, err = m.AuthUser(cc, tc.user, "pw")
		if (err == nil) != tc.ok {
			t.Errorf("%s: err = %v, want ok=%v", tc.name, err, tc.ok)
		}
		if !tc.ok && (err == nil || !strings.Contains(err.Error(), "TLS")) {
			t.Errorf("%s: the refusal does not say to use TLS: %v", tc.name, err)
		}
		h.mu.Lock()
		if !tc.ok && len(h.calls) != 0 {
			t.Errorf("%s: the host was asked", tc.name)
		}
		h.mu.Unlock()
	}
}
