//go:build linux

package netpoll

import (
	"net"
	"os"
	"syscall"

	"golang.org/x/sys/unix"

	"github.com/selectftp/selectftp/internal/fdpass"
)

// dupFile duplicates f's descriptor (close-on-exec) for a SendFile call.
func dupFile(f *os.File) (*fileRef, error) {
	df, err := fdpass.Dup(f, f.Name())
	if err != nil {
		return nil, err
	}
	// Not df.Fd(): it would make a shared socket or pipe description
	// blocking before it is refused below.
	drc, err := df.SyscallConn()
	if err != nil {
		df.Close()
		return nil, err
	}
	nfd := -1
	drc.Control(func(fd uintptr) { nfd = int(fd) })
	var st unix.Stat_t
	if err := unix.Fstat(nfd, &st); err != nil {
		df.Close()
		return nil, os.NewSyscallError("fstat", err)
	}
	switch st.Mode & unix.S_IFMT {
	case unix.S_IFIFO, unix.S_IFSOCK, unix.S_IFDIR:
		// Failing here leaves the connection usable; queued, the
		// segment could only close it.
		df.Close()
		return nil, errNotSeekable
	}
	return newFileRef(df, nfd, drc), nil
}

// adviseWillNeed starts reading [off, off+n) into the page cache without
// waiting for it. It is only a hint: file systems that ignore it are fine.
func adviseWillNeed(fd int, off, n int64) {
	_ = unix.Fadvise(fd, off, n, unix.FADV_WILLNEED)
}

// sendfileConn sends up to sendChunk bytes of s to nc with sendfile(2),
// waiting in Go's poller while the socket is full, and returns after the
// first call that moves bytes. fallback reports that s must go by pread and
// write instead: nc is no TCP or unix socket (TLS), or sendfile refused the
// file or met its end early; s is then marked so that sendfile is not
// retried, and pread reports the real state (data, a short file, an I/O
// error).
func sendfileConn(nc net.Conn, s *fileSeg) (n int, fallback bool, err error) {
	var sc syscall.Conn
	switch nc := nc.(type) {
	case *net.TCPConn:
		sc = nc
	case *net.UnixConn:
		sc = nc
	}
	// Only the net package's own sockets: another net.Conn offering
	// SyscallConn may frame or buffer what it writes, and writing under
	// it would corrupt its stream.
	if sc == nil || s.pread {
		return 0, true, nil
	}
	rc, err := sc.SyscallConn()
	if err != nil {
		return 0, true, nil
	}
	cnt := int(min(s.n, sendChunk))
	var serr error
	err = rc.Write(func(sfd uintptr) bool {
		// Pinned only for the system call, never across the wait for
		// room: a Close then waits for one sendfile at most.
		cerr := s.ref.rc.Control(func(ffd uintptr) {
			off := s.off
			for {
				n, serr = unix.Sendfile(int(sfd), int(ffd), &off, cnt)
				if serr != unix.EINTR {
					break
				}
			}
		})
		if cerr != nil {
			n, serr = 0, cerr
		}
		return serr != unix.EAGAIN
	})
	if err != nil {
		// The socket failed or was closed while waiting for room.
		return 0, false, err
	}
	if n > 0 {
		return n, false, nil
	}
	s.pread = true
	return 0, true, nil
}
