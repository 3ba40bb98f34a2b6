package host

import (
	"context"
	"crypto/sha256"
	"io"
	"net"
	"sync/atomic"
	"testing"
	"time"

	"github.com/selectftp/selectftp/internal/checksum"
	"github.com/selectftp/selectftp/protocol"
	"github.com/selectftp/selectftp/sdk"
)

// A command that does not read its upload must stop the socket being read:
// the client's writes block long before the body is all sent, and the server
// holds only a bounded amount of it.
func TestStalledUploadStopsReading(t *testing.T) {
	forEachBackend(t, func(t *testing.T, backend string) {
		release := make(chan struct{})
		got := make(chan [32]byte, 1)
		_, addr := startServer(t, backend, func(s *Server) {
			s.Register(sdk.Func(sdk.Description{Verb: "slow"}, func(ctx context.Context, req *sdk.Request, w sdk.ResponseWriter) error {
				<-release
				h := sha256.New()
				if _, err := io.Copy(h, req.Body); err != nil {
					return err
				}
				var sum [32]byte
				copy(sum[:], h.Sum(nil))
				got <- sum
				return nil
			}))
		})
		c := dialRaw(t, addr).hello()
		c.Conn.(*net.TCPConn).SetWriteBuffer(64 << 10)
		const total = 256 << 20
		chunk := make([]byte, 1<<20)
		for i := range chunk {
			chunk[i] = byte(i * 7)
		}
		c.send(protocol.TypeRequest, protocol.Request{Verb: "slow"})
		var sent atomic.Int64
		writeErr := make(chan error, 1)
		go func() {
			c.SetWriteDeadline(time.Now().Add(60 * time.Second))
			c.write(protocol.AppendHeader(nil, protocol.TypeData, total))
			for sent.Load() < total {
				n, err := c.Conn.Write(chunk)
				sent.Add(int64(n))
				if err != nil {
					writeErr <- err
					return
				}
			}
			h := checksum.XXH128.New()
			for range total / len(chunk) {
				h.Write(chunk)
			}
			end, _ := protocol.EndFrame(protocol.Trailer{Digest: checksum.XXH128.Encode(h.Sum(nil))})
			c.write(end)
			writeErr <- nil
		}()
		// Wait until the writer stops making progress.
		var last int64 = -1
		for sent.Load() != last {
			last = sent.Load()
			time.Sleep(300 * time.Millisecond)
		}
		if last > 48<<20 {
			t.Fatalf("the server took %d MiB of an upload nobody reads", last>>20)
		}
		close(release)
		if err := <-writeErr; err != nil {
			t.Fatal(err)
		}
		want := sha256.New()
		for range total / len(chunk) {
			want.Write(chunk)
		}
		select {
		case sum := <-got:
			if string(sum[:]) != string(want.Sum(nil)) {
				t.Fatal("body corrupted across pause and resume")
			}
		case <-time.After(60 * time.Second):
			t.Fatalf("the command did not read the whole body: %+v", c.status())
		}
		if st := c.status(); !st.OK() {
			t.Fatalf("%+v", st)
		}
	})
}

// A client that does not read its download makes the command's writes wait:
// the server does not buffer the whole output.
func TestSlowDownloaderMakesProducerWait(t *testing.T) {
	forEachBackend(t, func(t *testing.T, backend string) {
		var produced atomic.Int64
		const total = 256 << 20
		_, addr := startServer(t, backend, func(s *Server) {
			s.Register(sdk.Func(sdk.Description{Verb: "produce"}, func(ctx context.Context, req *sdk.Request, w sdk.ResponseWriter) error {
				buf := make([]byte, 64<<10)
				for produced.Load() < total {
					n, err := w.Write(buf)
					produced.Add(int64(n))
					if err != nil {
						return err
					}
				}
				return nil
			}))
		})
		c := dialRaw(t, addr).hello()
		c.Conn.(*net.TCPConn).SetReadBuffer(64 << 10)
		c.send(protocol.TypeRequest, protocol.Request{Verb: "produce"})
		c.write(protocol.AppendHeader(nil, protocol.TypeEnd, 0))
		var last int64 = -1
		for produced.Load() != last {
			last = produced.Load()
			time.Sleep(300 * time.Millisecond)
		}
		if last > 48<<20 {
			t.Fatalf("the command produced %d MiB for a client that reads nothing", last>>20)
		}
		var n int64
		for {
			f := c.next()
			if f.Type == protocol.TypeStatus {
				break
			}
			m, err := c.r.WriteTo(discard{})
			if err != nil {
				t.Fatal(err)
			}
			n += m
		}
		if n != total {
			t.Fatalf("received %d bytes, want %d", n, total)
		}
	})
}
