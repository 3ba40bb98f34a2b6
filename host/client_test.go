package host

import (
	"bytes"
	"context"
	"testing"
	"time"

	"github.com/selectftp/selectftp/client"
	"github.com/selectftp/selectftp/protocol"
)

// Bodies cut into frames as the client cuts them, crossing the body
// buffer's size, must pause and resume the socket without losing a byte.
// (A frame header that arrived while the buffer was full once hung here.)
func TestClientFramedBodies(t *testing.T) {
	forEachBackend(t, func(t *testing.T, backend string) {
		_, addr := startServer(t, backend, nil)
		ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
		defer cancel()
		c, err := client.Dial(ctx, addr)
		if err != nil {
			t.Fatal(err)
		}
		for _, n := range []int{262143, 262144, 262145, 1 << 20, 3<<20 + 1} {
			body := bytes.Repeat([]byte("x"), n)
			var out bytes.Buffer
			if _, err := c.Do(ctx, protocol.Request{Verb: "echo"}, bytes.NewReader(body), &out); err != nil {
				t.Fatal(n, err)
			}
			if !bytes.Equal(out.Bytes(), body) {
				t.Fatalf("%d bytes: echo differs", n)
			}
		}
	})
}
