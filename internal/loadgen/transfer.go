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
	"github.com/selectftp/selectftp/internal/ratelimit"
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

// TransferOptions tunes Get and Put. The zero value is what the bench
// has always measured: unpaced, unverified downloads read DefaultReadSize
// at a time.
type TransferOptions struct {
	// ReadSize is the read size of downloads (<= 0: DefaultReadSize).
	ReadSize int
	// Rate paces each transfer to this many bytes/s (0: as fast as it
	// goes); see ratelimit.Limiter.
	Rate int64
	// Verify makes each download check the server's digest, as the CLI
	// does, instead of counting bytes only.
	Verify bool
}

// readSize returns the read size for a download: a paced one reads in the
// limiter's chunks, so its pacing holds over short windows.
func (o TransferOptions) readSize(l *ratelimit.Limiter) int {
	if l != nil {
		return l.Chunk()
	}
	if o.ReadSize <= 0 {
		return DefaultReadSize
	}
	return o.ReadSize
}

// limiter returns a new Limiter for one transfer, nil when unpaced.
func (o TransferOptions) limiter() *ratelimit.Limiter {
	if o.Rate <= 0 {
		return nil
	}
	return ratelimit.New(o.Rate)
}

// Get downloads path once on each of conns connections at once, throwing
// the bytes away. Unless o.Verify, nothing is hashed (the point is the
// server's speed) and only the announced size is checked.
func Get(ctx context.Context, addr, path string, conns int, o TransferOptions) Result {
	res := Result{Mode: "get", Conns: conns}
	var errs errCount
	var sp span
	var mu sync.Mutex
	start := time.Now()
	parallel(conns, func(int) {
		l := o.limiter()
		c, err := dialTransfer(ctx, addr, o.readSize(l), false)
		if err != nil {
			errs.add(err)
			return
		}
		defer c.Close()
		var n counter
		var w io.Writer = &n
		if l != nil {
			w = &ratelimit.Writer{Ctx: ctx, W: w, L: l}
		}
		t0 := time.Now()
		err = getOnce(ctx, c, path, w, o.Verify)
		t1 := time.Now()
		mu.Lock()
		res.Bytes += int64(n)
		mu.Unlock()
		if err != nil {
			errs.add(err)
			return
		}
		sp.add(t0, t1)
	})
	res.finish(time.Since(start), &sp)
	errs.into(&res)
	return res
}

// The calls into the client package, kept together so that a change of the
// client's API touches only these: dialTransfer, getOnce, putOnce, probe
// (hol.go).

// dialTransfer opens a client connection for transfers. oneFrame sends each
// upload body as one Data frame announcing its whole size (split only past
// 4 GiB), by sendfile when the body is a file. readSize 0 keeps the
// client's default.
func dialTransfer(ctx context.Context, addr string, readSize int, oneFrame bool) (*client.Conn, error) {
	opts := []client.Option{client.WithDialTimeout(helloTimeout)}
	if readSize > 0 {
		opts = append(opts, client.WithReadSize(readSize))
	}
	if oneFrame {
		opts = append(opts, client.WithOneFrameBodies())
	}
	return client.Dial(ctx, addr, opts...)
}

// getOnce downloads path into w. verify: through the client's verifying
// Get (every byte hashed, the digest checked). Otherwise through Do, which
// hashes nothing, so the server is measured rather than the client's hash;
// the announced size is still checked.
func getOnce(ctx context.Context, c *client.Conn, path string, w io.Writer, verify bool) error {
	if verify {
		return c.Get(ctx, path, w, nil)
	}
	var n counter
	meta, err := c.Do(ctx, protocol.Request{Verb: "get", Params: map[string]any{"path": path}}, nil, io.MultiWriter(w, &n))
	if err != nil {
		return err
	}
	if announced, ok := meta["size"].(float64); ok && int64(announced) != int64(n) {
		return fmt.Errorf("got %d bytes, the server announced %d", n, int64(announced))
	}
	return nil
}

// putOnce uploads size bytes of body as name; the client hashes them as
// they go (a file body by sendfile, hashed beside it).
func putOnce(ctx context.Context, c *client.Conn, body io.Reader, size int64, name string) error {
	return c.Put(ctx, body, size, name, nil)
}

// counter counts and discards what it is given.
type counter int64

func (c *counter) Write(p []byte) (int, error) {
	*c += counter(len(p))
	return len(p), nil
}

// Put uploads src on each of conns connections at once, to path-0,
// path-1... (path itself when conns is 1). The size and digest are
// computed before the clock starts; unpaced, a file body goes by sendfile.
// o.ReadSize and o.Verify do not apply.
func Put(ctx context.Context, addr, path string, src Source, conns int, o TransferOptions) Result {
	res := Result{Mode: "put", Conns: conns}
	size, err := src.size()
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
		t0, t1, err := putOne(ctx, addr, name, src, size, o.limiter())
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

// putOne dials and uploads src once, paced by l when it is not nil.
func putOne(ctx context.Context, addr, name string, src Source, size int64, l *ratelimit.Limiter) (t0, t1 time.Time, err error) {
	body, done, err := src.open()
	if err != nil {
		return t0, t1, err
	}
	defer done()
	if l != nil {
		body = &ratelimit.Reader{Ctx: ctx, R: body, L: l}
	}
	c, err := dialTransfer(ctx, addr, 0, true)
	if err != nil {
		return t0, t1, err
	}
	defer c.Close()
	t0 = time.Now()
	err = putOnce(ctx, c, body, size, name)
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
