package host

import (
	"context"
	"crypto/tls"
	"errors"
	"io"
	"net"
	"os"
	"path/filepath"
	"testing"

	"github.com/hashicorp/go-hclog"

	"github.com/selectftp/selectftp/client"
	"github.com/selectftp/selectftp/protocol"
)

// BenchmarkGetTLS gets a 256 MiB file (from /dev/shm where there is one)
// over loopback, in clear (sendfile) and over TLS 1.3 (pread, AES-GCM on
// the command's goroutine), on both backends. Run it once:
//
//	go test -run '^$' -bench GetTLS -benchtime 3x ./host/
func BenchmarkGetTLS(b *testing.B) {
	const size = 256 << 20
	dir := "/dev/shm"
	if st, err := os.Stat(dir); err != nil || !st.IsDir() {
		dir = ""
	}
	tmp, err := os.MkdirTemp(dir, "tls-bench")
	if err != nil {
		b.Fatal(err)
	}
	defer os.RemoveAll(tmp)
	path := filepath.Join(tmp, "big")
	f, err := os.Create(path)
	if err != nil {
		b.Fatal(err)
	}
	if err := f.Truncate(size); err != nil {
		b.Fatal(err)
	}
	f.Close()
	pki := newPKI(b)
	cert := pki.server(b)
	for _, backend := range backends {
		for _, mode := range []string{"plain", "tls"} {
			b.Run(backend+"/"+mode, func(b *testing.B) {
				s := &Server{Root: b.TempDir(), Backend: backend,
					Logger: hclog.New(&hclog.LoggerOptions{Level: hclog.Error, Output: io.Discard})}
				var opts []client.Option
				if mode == "tls" {
					s.TLSConfig = &tls.Config{Certificates: []tls.Certificate{cert}}
					opts = append(opts, client.WithTLS(&tls.Config{RootCAs: pki.pool}))
				}
				if err := s.Register(sendFileCommand(path)); err != nil {
					b.Fatal(err)
				}
				ln, err := net.Listen("tcp", "127.0.0.1:0")
				if err != nil {
					b.Fatal(err)
				}
				served := make(chan error, 1)
				go func() { served <- s.Serve(ln) }()
				defer func() {
					s.Close()
					if err := <-served; !errors.Is(err, ErrServerClosed) {
						b.Error(err)
					}
				}()
				c, err := client.Dial(context.Background(), ln.Addr().String(), opts...)
				if err != nil {
					b.Fatal(err)
				}
				defer c.Close()
				b.SetBytes(size)
				b.ResetTimer()
				for range b.N {
					if _, err := c.Do(context.Background(), protocol.Request{Verb: "sendbig"}, nil, io.Discard); err != nil {
						b.Fatal(err)
					}
				}
			})
		}
	}
}
