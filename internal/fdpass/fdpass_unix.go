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
	uc := c.(*net.UnixConn)
	r := newReceiver(uc.Close)
	go r.loop(uc)
	return r, child, nil
}

func (r *Receiver) loop(uc *net.UnixConn) {
	defer uc.Close() // the plugin is gone: release our end too
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

// Sender is the plugin's end of the channel.
type Sender struct {
	mu sync.Mutex
	uc *net.UnixConn
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
	return &Sender{uc: uc}, nil
}

// Send passes a duplicate of f's descriptor tagged with token.
func (s *Sender) Send(token uint64, f syscall.Conn) error {
	rc, err := f.SyscallConn()
	if err != nil {
		return err
	}
	var serr error
	err = rc.Control(func(fd uintptr) {
		s.mu.Lock()
		defer s.mu.Unlock()
		_, _, serr = s.uc.WriteMsgUnix(encodeToken(token), unix.UnixRights(int(fd)), nil)
	})
	if err != nil {
		return err
	}
	return serr
}

// Close closes the plugin's end.
func (s *Sender) Close() error { return s.uc.Close() }

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
