package netpoll

import (
	"bytes"
	"crypto/tls"
	"errors"
	"fmt"
	"io"
	"net"
	"os"
	"path/filepath"
	"strconv"
	"testing"
	"time"
)

// sendVariant is a backend plus how it moves file segments: sendfile, or
// the pread+write fallback forced on (as for files that cannot splice).
type sendVariant struct {
	backend
	pread bool
}

func forEachSend(t *testing.T, f func(t *testing.T, v sendVariant)) {
	for _, b := range backends {
		for _, pread := range []bool{false, true} {
			name := b.name + "/sendfile"
			if pread {
				name = b.name + "/pread"
			}
			t.Run(name, func(t *testing.T) { f(t, sendVariant{b, pread}) })
		}
	}
}

func (v sendVariant) opts(o Options) Options {
	o.forcePread = v.pread
	return o
}

// patternFile writes a file of size bytes whose byte at offset i is
// pattern's byte i, so a range [off, off+n) reads as pattern(off, n).
func patternFile(t testing.TB, dir string, size int) string {
	t.Helper()
	path := filepath.Join(dir, "data")
	f, err := os.Create(path)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	// pattern repeats every 251 bytes, so one block serves every offset.
	const block = 1 << 20
	buf := pattern(0, block+251)
	for off := 0; off < size; off += block {
		if _, err := f.Write(buf[off%251:][:min(block, size-off)]); err != nil {
			t.Fatal(err)
		}
	}
	return path
}

// fdsOpenOn counts this process's descriptors open on path, to catch a
// leaked duplicate by name rather than by a total other tests disturb.
func fdsOpenOn(t testing.TB, path string) int {
	t.Helper()
	ents, err := os.ReadDir("/proc/self/fd")
	if err != nil {
		t.Skipf("cannot list descriptors: %v", err)
	}
	n := 0
	for _, e := range ents {
		if target, err := os.Readlink("/proc/self/fd/" + e.Name()); err == nil &&
			(target == path || target == path+" (deleted)") {
			n++
		}
	}
	return n
}

// fdCount is the number of descriptors the process has open.
func fdCount(t testing.TB) int {
	t.Helper()
	ents, err := os.ReadDir("/proc/self/fd")
	if err != nil {
		t.Skipf("cannot list descriptors: %v", err)
	}
	return len(ents)
}

// checkNoFDs fails if a descriptor on path is still open, or a duplicate
// was never released (the GC's finalizer for a leaked *os.File would close
// its descriptor and hide the leak from the first check). It does not
// wait: once the stream has ended, or OnClose has run, every segment must
// have been released.
func checkNoFDs(t testing.TB, path string) {
	t.Helper()
	if n := fdsOpenOn(t, path); n != 0 {
		t.Fatalf("%d descriptors still open on %s", n, path)
	}
	if n := openFileRefs.Load(); n != 0 {
		t.Fatalf("%d SendFile duplicates never released", n)
	}
}

// sendOpen opens path, sends [off, off+n) and closes the file at once, as
// a caller may. It checks that the file's own position did not move.
func sendOpen(c Conn, path string, off, n int64) error {
	f, err := os.Open(path)
	if err != nil {
		return err
	}
	defer f.Close()
	const pos = 7
	if _, err := f.Seek(pos, io.SeekStart); err != nil {
		return err
	}
	if err := c.SendFile(f, off, n); err != nil {
		return err
	}
	if p, err := f.Seek(0, io.SeekCurrent); err != nil || p != pos {
		return fmt.Errorf("file position moved to %d (%v)", p, err)
	}
	return nil
}

// sendSizes are the ranges TestSendFileOrder sends: empty, tiny, around a
// 64 KiB buffer, and more than one sendfile chunk.
var sendSizes = []int{0, 1, 64<<10 - 1, 64 << 10, 64<<10 + 1, 5<<20 + 3}

// TestSendFileOrder interleaves Writes, an Enqueue and SendFile ranges at
// odd offsets from a producer goroutine under a small MaxOutput: the peer
// must receive exactly the bytes in the order they were queued.
func TestSendFileOrder(t *testing.T) {
	forEachSend(t, func(t *testing.T, v sendVariant) {
		const fileSize = 6 << 20
		path := patternFile(t, t.TempDir(), fileSize)
		var want bytes.Buffer
		type step struct {
			hdr      []byte
			off, len int
		}
		var steps []step
		for i, n := range sendSizes {
			off := (i*7919*13 + 5) % (fileSize - n + 1)
			hdr := []byte("part " + strconv.Itoa(i) + ":")
			steps = append(steps, step{hdr, off, n})
			want.Write(hdr)
			want.Write(pattern(off, n))
		}
		want.WriteString("end")
		producerErr := make(chan error, 1)
		s := start(t, v.backend, v.opts(Options{MaxOutput: 64 << 10}), funcs{open: func(c Conn) {
			go func() {
				producerErr <- func() error {
					for i, st := range steps {
						w := c.Write
						if i%2 == 1 {
							w = c.Enqueue
						}
						if err := w(st.hdr); err != nil {
							return err
						}
						if err := sendOpen(c, path, int64(st.off), int64(st.len)); err != nil {
							return err
						}
					}
					return c.Write([]byte("end"))
				}()
				c.CloseWrite()
			}()
		}})
		c := s.dial(t)
		c.SetReadDeadline(time.Now().Add(waitTimeout))
		got, err := io.ReadAll(c)
		if err != nil {
			t.Fatal(err)
		}
		if err := <-producerErr; err != nil {
			t.Fatal(err)
		}
		if i := firstDiff(got, want.Bytes()); i >= 0 {
			t.Fatalf("stream differs at %d (got %d bytes, want %d)", i, len(got), want.Len())
		}
		if err := s.rec.closeErr(t, s.rec.conn(t, 0)); err != nil {
			t.Fatalf("CloseWrite reported %v", err)
		}
		checkNoFDs(t, path)
	})
}

// TestSendFileFromCallback queues a file between two replies from inside
// OnData (on the reactor, on the loop: it must not wait for room) and closes
// the file before returning.
func TestSendFileFromCallback(t *testing.T) {
	forEachSend(t, func(t *testing.T, v sendVariant) {
		const off, n = 100, 5<<20 + 3
		path := patternFile(t, t.TempDir(), off+n)
		cbErr := make(chan error, 1)
		s := start(t, v.backend, v.opts(Options{MaxOutput: 16 << 10}), funcs{data: func(c Conn, in []byte) int {
			c.Enqueue([]byte("head"))
			cbErr <- sendOpen(c, path, off, n)
			c.Enqueue([]byte("tail"))
			c.CloseWrite()
			return len(in)
		}})
		c := s.dial(t)
		c.Write([]byte("go"))
		c.SetReadDeadline(time.Now().Add(waitTimeout))
		got, err := io.ReadAll(c)
		if err != nil {
			t.Fatal(err)
		}
		if err := <-cbErr; err != nil {
			t.Fatal(err)
		}
		want := append(append([]byte("head"), pattern(off, n)...), "tail"...)
		if i := firstDiff(got, want); i >= 0 {
			t.Fatalf("stream differs at %d (got %d bytes, want %d)", i, len(got), len(want))
		}
		checkNoFDs(t, path)
	})
}

// bigSend is larger than the socket buffers hold for a peer that does not
// read, and spans several SendFile windows.
const bigSend = 3 * sendWindow

// stalled is a SendFile waiting on a peer that does not read.
type stalled struct {
	s    *server
	c    *net.TCPConn // the peer
	sc   Conn
	path string
	fds  int        // descriptors open just before SendFile
	done chan error // SendFile's result
}

// stalledSend serves one connection whose peer does not read and starts a
// SendFile of a bigSend file on it from a goroutine. It returns once the
// queue is over MaxOutput.
func stalledSend(t *testing.T, v sendVariant) stalled {
	t.Helper()
	const max = 64 << 10
	path := patternFile(t, t.TempDir(), bigSend)
	s := start(t, v.backend, v.opts(Options{MaxOutput: max}), funcs{})
	c := s.dial(t)
	sc := s.rec.conn(t, 0)
	fds := fdCount(t)
	done := make(chan error, 1)
	go func() { done <- sendOpen(sc, path, 0, bigSend) }()
	waitFor(t, "output queue to exceed MaxOutput", func() bool {
		n, _ := sc.Pending()
		return n > max
	})
	return stalled{s, c, sc, path, fds, done}
}

// TestSendFileBlocks: a peer that stops reading makes SendFile wait, with
// the file's bytes counted by Pending; reading releases it, and progress
// time moves as sendfile sends.
func TestSendFileBlocks(t *testing.T) {
	forEachSend(t, func(t *testing.T, v sendVariant) {
		st := stalledSend(t, v)
		c, sc, path, done := st.c, st.sc, st.path, st.done
		time.Sleep(100 * time.Millisecond)
		select {
		case err := <-done:
			t.Fatalf("SendFile returned %v while the peer did not read", err)
		default:
		}
		n, last := sc.Pending()
		if n <= 64<<10 || n > bigSend || last.IsZero() {
			t.Fatalf("Pending = %d, %v; want file bytes over MaxOutput and a progress time", n, last)
		}
		if fdsOpenOn(t, path) < 2 {
			t.Fatal("no duplicate descriptor held for the queued segment")
		}
		time.Sleep(10 * time.Millisecond) // so progress is visibly later
		c.SetReadDeadline(time.Now().Add(waitTimeout))
		got := make([]byte, bigSend)
		if _, err := io.ReadFull(c, got); err != nil {
			t.Fatal(err)
		}
		checkPattern(t, got, 0)
		select {
		case err := <-done:
			if err != nil {
				t.Fatal(err)
			}
		case <-time.After(waitTimeout):
			t.Fatal("SendFile did not return after the peer read everything")
		}
		waitFor(t, "queue to drain", func() bool {
			n, l := sc.Pending()
			return n == 0 && l.After(last)
		})
		checkNoFDs(t, path)
	})
}

// TestSendFileCloseReleases: Close during a big send releases the blocked
// SendFile with ErrClosed and closes every duplicate.
func TestSendFileCloseReleases(t *testing.T) {
	forEachSend(t, func(t *testing.T, v sendVariant) {
		st := stalledSend(t, v)
		s, sc, path, done := st.s, st.sc, st.path, st.done
		sc.Close()
		select {
		case err := <-done:
			if !errors.Is(err, ErrClosed) {
				t.Fatalf("blocked SendFile returned %v, want ErrClosed", err)
			}
		case <-time.After(waitTimeout):
			t.Fatal("blocked SendFile not released by Close")
		}
		if err := s.rec.closeErr(t, sc); err != nil {
			t.Fatalf("local Close reported %v", err)
		}
		if err := sendOpen(sc, path, 0, 1); !errors.Is(err, ErrClosed) {
			t.Fatalf("SendFile after Close = %v", err)
		}
		if err := sendOpen(sc, path, 0, 0); !errors.Is(err, ErrClosed) {
			t.Fatalf("empty SendFile after Close = %v", err)
		}
		checkNoFDs(t, path)
		// Back to the count before SendFile, less the server's socket.
		waitFor(t, "descriptor count to return", func() bool { return fdCount(t) <= st.fds-1 })
	})
}

// TestSendFileTruncated: a file truncated after its range was queued closes
// the connection with an error instead of hanging or sending filler.
func TestSendFileTruncated(t *testing.T) {
	forEachSend(t, func(t *testing.T, v sendVariant) {
		st := stalledSend(t, v)
		s, c, sc, path, done := st.s, st.c, st.sc, st.path, st.done
		if err := os.Truncate(path, 0); err != nil {
			t.Fatal(err)
		}
		c.SetReadDeadline(time.Now().Add(waitTimeout))
		got, err := io.ReadAll(c)
		if errors.Is(err, os.ErrDeadlineExceeded) {
			t.Fatal("peer still waiting for bytes of a truncated file")
		}
		if len(got) >= bigSend {
			t.Fatalf("peer got %d bytes of a truncated file", len(got))
		}
		checkPattern(t, got, 0)
		if err := s.rec.closeErr(t, sc); !errors.Is(err, errFileShrank) {
			t.Fatalf("OnClose error %v, want errFileShrank", err)
		}
		select {
		case err := <-done:
			if err != nil && !errors.Is(err, ErrClosed) {
				t.Fatalf("SendFile returned %v", err)
			}
		case <-time.After(waitTimeout):
			t.Fatal("SendFile not released by the close")
		}
		checkNoFDs(t, path)
	})
}

// TestSendFileBadFiles: a range no file can hold, or a file with no
// offsets, is refused without harming the connection.
func TestSendFileBadFiles(t *testing.T) {
	forEach(t, func(t *testing.T, b backend) {
		path := patternFile(t, t.TempDir(), 10)
		s := start(t, b, Options{}, echo{})
		c := s.dial(t)
		roundTrip(t, c, []byte("hi"))
		sc := s.rec.conn(t, 0)
		if err := sendOpen(sc, path, -1, 1); !errors.Is(err, errBadRange) {
			t.Fatalf("negative offset: %v", err)
		}
		if err := sendOpen(sc, path, 1, -1); !errors.Is(err, errBadRange) {
			t.Fatalf("negative length: %v", err)
		}
		pr, pw, err := os.Pipe()
		if err != nil {
			t.Fatal(err)
		}
		defer pr.Close()
		defer pw.Close()
		if err := sc.SendFile(pr, 0, 1); !errors.Is(err, errNotSeekable) {
			t.Fatalf("pipe: %v", err)
		}
		if got := roundTrip(t, c, []byte("still")); string(got) != "still" {
			t.Fatalf("after refused SendFile got %q", got)
		}
		checkNoFDs(t, path)
	})
}

// TestSendFileOtherConns: the goroutine backend sends segments over unix
// sockets with sendfile and over TLS with pread and Write.
func TestSendFileOtherConns(t *testing.T) {
	const off, n = 3, 5<<20 + 3
	dir := t.TempDir()
	path := patternFile(t, dir, off+n)
	h := funcs{open: func(c Conn) {
		go func() {
			c.Write([]byte("x"))
			sendOpen(c, path, off, n)
			c.CloseWrite()
		}()
	}}
	check := func(t *testing.T, c net.Conn) {
		c.SetReadDeadline(time.Now().Add(waitTimeout))
		got, err := io.ReadAll(c)
		if err != nil {
			t.Fatal(err)
		}
		want := append([]byte("x"), pattern(off, n)...)
		if i := firstDiff(got, want); i >= 0 {
			t.Fatalf("stream differs at %d (got %d bytes, want %d)", i, len(got), len(want))
		}
	}
	t.Run("unix", func(t *testing.T) {
		sock := filepath.Join(dir, "s")
		ln, err := net.Listen("unix", sock)
		if err != nil {
			t.Skip(err)
		}
		startOn(t, backends[1], Options{}, ln, h)
		c, err := net.Dial("unix", sock)
		if err != nil {
			t.Fatal(err)
		}
		defer c.Close()
		check(t, c)
	})
	t.Run("tls", func(t *testing.T) {
		inner, err := net.Listen("tcp", "127.0.0.1:0")
		if err != nil {
			t.Fatal(err)
		}
		ln := tls.NewListener(inner, &tls.Config{Certificates: []tls.Certificate{selfSigned(t)}})
		s := startOn(t, backends[1], Options{}, ln, h)
		c, err := tls.DialWithDialer(&net.Dialer{Timeout: waitTimeout}, "tcp", s.addr,
			&tls.Config{InsecureSkipVerify: true})
		if err != nil {
			t.Fatal(err)
		}
		defer c.Close()
		check(t, c)
	})
	checkNoFDs(t, path)
}

// BenchmarkSendFile sends a 64 MiB file to a loopback peer that discards
// with large reads: by SendFile, and as the same bytes read from the file
// and written 256 KiB at a time.
func BenchmarkSendFile(b *testing.B) {
	const size = 64 << 20
	dir := "/dev/shm"
	if st, err := os.Stat(dir); err != nil || !st.IsDir() {
		dir = ""
	}
	tmp, err := os.MkdirTemp(dir, "netpoll-bench")
	if err != nil {
		tmp = b.TempDir()
	} else {
		defer os.RemoveAll(tmp)
	}
	path := patternFile(b, tmp, size)
	for _, be := range backends {
		for _, mode := range []string{"sendfile", "write256K"} {
			b.Run(be.name+"/"+mode, func(b *testing.B) {
				f, err := os.Open(path)
				if err != nil {
					b.Fatal(err)
				}
				defer f.Close()
				s := start(b, be, Options{}, funcs{})
				c := s.dial(b)
				sc := s.rec.conn(b, 0)
				received := make(chan error, 1)
				go func() {
					buf := make([]byte, 1<<20)
					for range b.N {
						var err error
						for got := 0; got < size && err == nil; {
							var n int
							n, err = c.Read(buf)
							got += n
						}
						received <- err
						if err != nil {
							return
						}
					}
				}()
				chunk := make([]byte, 256<<10)
				b.SetBytes(size)
				b.ResetTimer()
				for range b.N {
					if mode == "sendfile" {
						if err := sc.SendFile(f, 0, size); err != nil {
							b.Fatal(err)
						}
					} else {
						for off := int64(0); off < size; off += int64(len(chunk)) {
							if _, err := f.ReadAt(chunk, off); err != nil {
								b.Fatal(err)
							}
							if err := sc.Write(chunk); err != nil {
								b.Fatal(err)
							}
						}
					}
					if err := <-received; err != nil {
						b.Fatal(err)
					}
				}
			})
		}
	}
}
