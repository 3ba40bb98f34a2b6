//go:build linux || darwin || freebsd || netbsd || openbsd

package fdpass

import (
	"encoding/binary"
	"errors"
	"fmt"
	"net"
	"os"
	"strconv"
	"sync"
	"syscall"
	"time"

	"golang.org/x/sys/unix"
)

// Pair makes the channel for one plugin: the host keeps the Receiver and
// passes child to the plugin process (exec.Cmd.ExtraFiles), then closes
// child.
func Pair() (*Receiver, *os.File, error) {
	fds, err := unix.Socketpair(unix.AF_UNIX, unix.SOCK_STREAM|unix.SOCK_CLOEXEC, 0)
	if err != nil {
		return nil, nil, fmt.Errorf("fdpass: socketpair: %w", err)
	}
	host := os.NewFile(uintptr(fds[0]), "fdpass-host")
	child := os.NewFile(uintptr(fds[1]), "fdpass-plugin")
	c, err := net.FileConn(host)
	host.Close() // FileConn dups it
	if err != nil {
		child.Close()
		return nil, nil, err
	}
	e := &end{uc: c.(*net.UnixConn)}
	r := newReceiver(e.uc.Close)
	r.sendFn = e.send
	go e.loop(r)
	return r, child, nil
}

// end is one side of the socket pair: both sides send and receive.
type end struct {
	mu sync.Mutex // one sendmsg at a time keeps a token with its descriptor
	uc *net.UnixConn
}

// send passes a duplicate of f's descriptor tagged with token.
func (e *end) send(token uint64, f syscall.Conn) error {
	rc, err := f.SyscallConn()
	if err != nil {
		return err
	}
	var serr error
	err = rc.Control(func(fd uintptr) {
		e.mu.Lock()
		defer e.mu.Unlock()
		_, _, serr = e.uc.WriteMsgUnix(encodeToken(token), unix.UnixRights(int(fd)), nil)
	})
	if err != nil {
		return err
	}
	return serr
}

// loop files each descriptor the other side sends into r until the
// channel breaks.
func (e *end) loop(r *Receiver) {
	uc := e.uc
	defer uc.Close() // the other side is gone: release our end too
	buf := make([]byte, 8)
	oob := make([]byte, unix.CmsgSpace(4))
	have := 0
	for {
		n, oobn, _, _, err := uc.ReadMsgUnix(buf[have:], oob)
		if oobn > 0 {
			fd, perr := parseFD(oob[:oobn])
			if perr != nil {
				r.fail(perr)
				return
			}
			if have+n != 8 {
				// Token and descriptor travel in one sendmsg of 8 bytes; a
				// stream socket may still split the bytes, so finish them.
				_, err2 := readFull(uc, buf[have+n:])
				if err2 != nil {
					unix.Close(fd)
					r.fail(err2)
					return
				}
			}
			r.put(binary.BigEndian.Uint64(buf), os.NewFile(uintptr(fd), "passed"))
			have = 0
			continue
		}
		if err != nil {
			r.fail(err)
			return
		}
		have += n
		if have == 8 {
			r.fail(errors.New("fdpass: token without a descriptor"))
			return
		}
	}
}

func readFull(uc *net.UnixConn, b []byte) (int, error) {
	n := 0
	for n < len(b) {
		m, err := uc.Read(b[n:])
		n += m
		if err != nil {
			return n, err
		}
	}
	return n, nil
}

func parseFD(oob []byte) (int, error) {
	msgs, err := unix.ParseSocketControlMessage(oob)
	if err != nil {
		return -1, err
	}
	var fds []int
	for _, m := range msgs {
		got, err := unix.ParseUnixRights(&m)
		if err == nil {
			fds = append(fds, got...)
		}
	}
	if len(fds) != 1 {
		for _, fd := range fds {
			unix.Close(fd)
		}
		return -1, fmt.Errorf("fdpass: want one descriptor per message, got %d", len(fds))
	}
	unix.CloseOnExec(fds[0])
	return fds[0], nil
}

// Sender is the plugin's end of the channel: it sends the host files and
// takes the roots the host sent (Take).
type Sender struct {
	e     *end
	inbox *Receiver
}

// FromEnv opens the channel the host passed, or returns ErrUnavailable.
func FromEnv() (*Sender, error) {
	v := os.Getenv(EnvFD)
	if v == "" {
		return nil, ErrUnavailable
	}
	fd, err := strconv.Atoi(v)
	if err != nil || fd < 3 {
		return nil, fmt.Errorf("fdpass: bad %s=%q", EnvFD, v)
	}
	return NewSender(os.NewFile(uintptr(fd), "fdpass"))
}

// NewSender wraps the plugin's end of a channel made by Pair.
func NewSender(f *os.File) (*Sender, error) {
	c, err := net.FileConn(f)
	f.Close()
	if err != nil {
		return nil, fmt.Errorf("fdpass: %w", err)
	}
	uc, ok := c.(*net.UnixConn)
	if !ok {
		c.Close()
		return nil, ErrUnavailable
	}
	e := &end{uc: uc}
	// The host sends each root once per process, before the first request
	// naming it; it may be taken much later, so it never expires.
	in := newReceiver(uc.Close)
	in.keep = true
	go e.loop(in)
	return &Sender{e: e, inbox: in}, nil
}

// Send passes a duplicate of f's descriptor tagged with token.
func (s *Sender) Send(token uint64, f syscall.Conn) error { return s.e.send(token, f) }

// Take waits up to timeout for the descriptor the host sent with token and
// hands it over; the caller closes it.
func (s *Sender) Take(token uint64, timeout time.Duration) (*os.File, error) {
	return s.inbox.Take(token, timeout)
}

// Close closes the plugin's end and what the host sent that nobody took.
func (s *Sender) Close() error { return s.inbox.Close() }

// Dup gives a file-like value (an *os.File, or a wrapper around one) an
// *os.File of its own: a close-on-exec duplicate descriptor the caller
// closes, which shares the original's offset.
func Dup(sc syscall.Conn, name string) (*os.File, error) {
	rc, err := sc.SyscallConn()
	if err != nil {
		return nil, err
	}
	var nfd int
	var derr error
	if err := rc.Control(func(fd uintptr) { nfd, derr = unix.FcntlInt(fd, unix.F_DUPFD_CLOEXEC, 0) }); err != nil {
		return nil, err
	}
	if derr != nil {
		return nil, os.NewSyscallError("fcntl", derr)
	}
	return os.NewFile(uintptr(nfd), name), nil
}
