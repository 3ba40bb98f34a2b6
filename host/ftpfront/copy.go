package ftpfront

import (
	"io"
	"net"
	"os"
	"sync"
)

// loopbackCopy makes a download to a client on this machine a copy
// instead of sendfile(2); tests turn it off to reach sendfile on loopback.
//
// Why: sendfile puts the file's page-cache pages into the socket's packets,
// one 4 KiB page per fragment, and on loopback those packets are what the
// receiving process copies from. curl against the front measured 1.1 s of
// CPU per GiB received that way against 0.5 s when the front wrote 1 MiB
// buffers (the kernel then builds packets from its own 32 KiB fragments),
// and curl, not the server, is what bounds a loopback download: 0.8× of
// pure-ftpd (which writes) with sendfile, 1.1× with the copy. The copy
// costs the server about 0.2 s more CPU per GiB. Over a real network the
// receiver's packets are its NIC's, whatever the sender did, so there
// sendfile only saves.
var loopbackCopy = true

// zeroCopy tells whether a download goes to c by sendfile(2).
func zeroCopy(c *net.TCPConn) bool {
	if !loopbackCopy {
		return true
	}
	a, ok := c.RemoteAddr().(*net.TCPAddr)
	return !ok || !a.IP.IsLoopback()
}

// copyBufSize is the copy's chunk: large enough that a 1 GiB download is
// a thousand writes, small enough to hold one per running download.
const copyBufSize = 1 << 20

var copyBufs = sync.Pool{New: func() any { b := make([]byte, copyBufSize); return &b }}

// copyRange writes n bytes of f from off to w, reading at explicit offsets
// (the plugin may share f's file position). A file that ends early is
// io.ErrUnexpectedEOF.
func copyRange(w io.Writer, f *os.File, off, n int64) (int64, error) {
	bp := copyBufs.Get().(*[]byte)
	defer copyBufs.Put(bp)
	buf := *bp
	var m int64
	for m < n {
		k, rerr := f.ReadAt(buf[:min(int64(len(buf)), n-m)], off+m)
		if k > 0 {
			c, werr := w.Write(buf[:k])
			m += int64(c)
			if werr != nil {
				return m, werr
			}
		}
		switch {
		case rerr == io.EOF && m < n:
			return m, io.ErrUnexpectedEOF // the file shrank under us
		case rerr != nil && rerr != io.EOF:
			return m, rerr
		}
	}
	return m, nil
}
