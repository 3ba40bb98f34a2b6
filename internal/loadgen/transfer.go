package loadgen

import (
	"context"
	"errors"
	"fmt"
	"io"
	"math/rand/v2"
	"net"
	"os"
	"sync"
	"time"

	"github.com/selectftp/selectftp/client"
	"github.com/selectftp/selectftp/protocol"
)

// DefaultReadSize is the read size of downloads and of the limit's
// receiver: large reads, as a fast client would make.
const DefaultReadSize = 1 << 20

// Source is the content of an upload or of the limit measurement: a file
// (sent with sendfile) or, when File is empty, Size deterministic bytes (a
// 1 MiB pseudo-random block repeated).
type Source struct {
	File string
	Size int64
}

// size returns the number of bytes the source yields.
func (s Source) size() (int64, error) {
	if s.File == "" {
		if s.Size < 0 {
			return 0, errors.New("negative size")
		}
		return s.Size, nil
	}
	fi, err := os.Stat(s.File)
	if err != nil {
		return 0, err
	}
	return fi.Size(), nil
}

// open returns a reader of the source's bytes and a function to close it.
func (s Source) open() (io.Reader, func(), error) {
	if s.File == "" {
		return &repeatReader{block: block(), left: s.Size}, func() {}, nil
	}
	f, err := os.Open(s.File)
	if err != nil {
		return nil, nil, err
	}
	return f, func() { f.Close() }, nil
}

// sum returns the source's SHA-256 in hex.
func (s Source) sum(ctx context.Context) (string, error) {
	r, done, err := s.open()
	if err != nil {
		return "", err
	}
	defer done()
	_, sum, err := client.HashReader(ctx, r)
	return sum, err
}

var (
	blockOnce sync.Once
	blockData []byte
)

// block is the 1 MiB of pseudo-random bytes generated content repeats,
// always the same (fixed seed).
func block() []byte {
	blockOnce.Do(func() {
		rng := rand.NewChaCha8([32]byte{'s', 'e', 'l', 'e', 'c', 't', 'f', 't', 'p'})
		blockData = make([]byte, 1<<20)
		rng.Read(blockData)
	})
	return blockData
}

// repeatReader yields left bytes of block, repeated. Its WriteTo hands the
// writer whole blocks, so io.Copy to a socket makes 1 MiB writes.
type repeatReader struct {
	block []byte
	off   int
	left  int64
}

func (r *repeatReader) Read(p []byte) (int, error) {
	if r.left == 0 {
		return 0, io.EOF
	}
	chunk := r.block[r.off:]
	n := copy(p, chunk[:min(int64(len(chunk)), r.left)])
	r.off = (r.off + n) % len(r.block)
	r.left -= int64(n)
	return n, nil
}

func (r *repeatReader) WriteTo(w io.Writer) (int64, error) {
	var total int64
	for r.left > 0 {
		chunk := r.block[r.off:]
		n, err := w.Write(chunk[:min(int64(len(chunk)), r.left)])
		total += int64(n)
		r.off = (r.off + n) % len(r.block)
		r.left -= int64(n)
		if err != nil {
			return total, err
		}
	}
	return total, nil
}

// span records the earliest start and latest end of concurrent transfers.
type span struct {
	mu         sync.Mutex
	start, end time.Time
}

func (s *span) add(t0, t1 time.Time) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.start.IsZero() || t0.Before(s.start) {
		s.start = t0
	}
	if t1.After(s.end) {
		s.end = t1
	}
}

// parallel runs f(0..n-1) on n goroutines and waits for them.
func parallel(n int, f func(i int)) {
	var wg sync.WaitGroup
	for i := range n {
		wg.Go(func() { f(i) })
	}
	wg.Wait()
}

// finish fills the rates of a transfer result.
func (r *Result) finish(wall time.Duration, sp *span) {
	r.Seconds = wall.Seconds()
	r.MBps = rate(float64(r.Bytes)/MB, wall)
	if !sp.start.IsZero() {
		x := sp.end.Sub(sp.start)
		r.XferSeconds = x.Seconds()
		r.XferMBps = rate(float64(r.Bytes)/MB, x)
	}
}

// Get downloads path once on each of conns connections at once, throwing
// the bytes away (no hashing: the point is the server's speed). readSize
// <= 0 means DefaultReadSize.
func Get(ctx context.Context, addr, path string, conns, readSize int) Result {
	if readSize <= 0 {
		readSize = DefaultReadSize
	}
	res := Result{Mode: "get", Conns: conns}
	req := protocol.Request{Verb: "get", Params: map[string]any{"path": path}}
	var errs errCount
	var sp span
	var mu sync.Mutex
	start := time.Now()
	parallel(conns, func(int) {
		c, err := client.Dial(ctx, addr, client.WithDialTimeout(helloTimeout), client.WithReadSize(readSize))
		if err != nil {
			errs.add(err)
			return
		}
		defer c.Close()
		var n counter
		t0 := time.Now()
		// Do, not Get: Get would hash every byte, and the hashing
		// would be measured instead of the server.
		meta, err := c.Do(ctx, req, nil, &n)
		t1 := time.Now()
		mu.Lock()
		res.Bytes += int64(n)
		mu.Unlock()
		announced, ok := meta["size"].(float64)
		switch {
		case err != nil:
			errs.add(err)
		case ok && int64(announced) != int64(n):
			errs.add(fmt.Errorf("got %d bytes, the server announced %d", n, int64(announced)))
		default:
			sp.add(t0, t1)
		}
	})
	res.finish(time.Since(start), &sp)
	errs.into(&res)
	return res
}

// counter counts and discards what it is given.
type counter int64

func (c *counter) Write(p []byte) (int, error) {
	*c += counter(len(p))
	return len(p), nil
}

// Put uploads src on each of conns connections at once, to path-0,
// path-1... (path itself when conns is 1). The size and SHA-256 are
// computed before the clock starts; each body travels as one Data frame
// announcing its whole size (split only past 4 GiB) followed by the raw
// bytes, sent with sendfile when src is a file.
func Put(ctx context.Context, addr, path string, src Source, conns int) Result {
	res := Result{Mode: "put", Conns: conns}
	size, err := src.size()
	var sum string
	if err == nil {
		sum, err = src.sum(ctx)
	}
	if err != nil {
		res.Errors, res.FirstError = 1, err.Error()
		return res
	}
	var errs errCount
	var sp span
	var mu sync.Mutex
	start := time.Now()
	parallel(conns, func(i int) {
		name := path
		if conns > 1 {
			name = fmt.Sprintf("%s-%d", path, i)
		}
		t0, t1, err := putOne(ctx, addr, name, src, size, sum)
		if err != nil {
			errs.add(err)
			return
		}
		sp.add(t0, t1)
		mu.Lock()
		res.Bytes += size
		mu.Unlock()
	})
	res.finish(time.Since(start), &sp)
	errs.into(&res)
	return res
}

func putOne(ctx context.Context, addr, name string, src Source, size int64, sum string) (t0, t1 time.Time, err error) {
	body, done, err := src.open()
	if err != nil {
		return t0, t1, err
	}
	defer done()
	// One Data frame for the whole body, by sendfile for a file.
	c, err := client.Dial(ctx, addr, client.WithDialTimeout(helloTimeout), client.WithOneFrameBodies())
	if err != nil {
		return t0, t1, err
	}
	defer c.Close()
	t0 = time.Now()
	err = c.Put(ctx, body, size, sum, name, nil)
	return t0, time.Now(), err
}

// Limit measures what plain Go moves over loopback TCP: a sender doing
// io.Copy from src into a *net.TCPConn (sendfile for a file) and a
// receiver reading into a readSize buffer and discarding it, in one process.
func Limit(ctx context.Context, src Source, readSize int) Result {
	if readSize <= 0 {
		readSize = DefaultReadSize
	}
	res := Result{Mode: "limit", Conns: 1}
	fail := func(err error) Result {
		res.Errors, res.FirstError = 1, err.Error()
		return res
	}
	body, done, err := src.open()
	if err != nil {
		return fail(err)
	}
	defer done()
	var lc net.ListenConfig
	ln, err := lc.Listen(ctx, "tcp", "127.0.0.1:0")
	if err != nil {
		return fail(err)
	}
	defer ln.Close()
	type got struct {
		n   int64
		err error
	}
	recv := make(chan got, 1)
	go func() {
		c, err := ln.Accept()
		if err != nil {
			recv <- got{err: err}
			return
		}
		defer c.Close()
		buf := make([]byte, readSize)
		var n int64
		for {
			k, err := c.Read(buf)
			n += int64(k)
			if err != nil {
				if errors.Is(err, io.EOF) {
					err = nil
				}
				recv <- got{n, err}
				return
			}
		}
	}()
	start := time.Now()
	var d net.Dialer
	nc, err := d.DialContext(ctx, "tcp", ln.Addr().String())
	if err != nil {
		return fail(err)
	}
	_, err = io.Copy(nc, body)
	nc.Close()
	g := <-recv
	wall := time.Since(start)
	res.Bytes = g.n
	res.finish(wall, &span{})
	if err == nil {
		err = g.err
	}
	if err != nil {
		return fail(err)
	}
	return res
}
