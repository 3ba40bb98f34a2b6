package client_test

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"log"
	"net"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"time"

	"github.com/hashicorp/go-hclog"

	"github.com/selectftp/selectftp/client"
	"github.com/selectftp/selectftp/host"
	"github.com/selectftp/selectftp/plugins"
	"github.com/selectftp/selectftp/protocol"
)

// exampleServer runs a real server with the standard verbs in a temporary
// folder, for the examples; a program would dial selectftpd instead.
// (Tests use hosttest.NewServer, which needs a testing.TB.)
func exampleServer() (addr string, stop func()) {
	root, err := os.MkdirTemp("", "selectftp-client-example")
	if err != nil {
		log.Fatal(err)
	}
	srv := host.New()
	srv.Root, srv.PluginDir, srv.Logger = root, "", hclog.NewNullLogger()
	for _, cmd := range plugins.Standard() {
		if err := srv.Register(cmd); err != nil {
			log.Fatal(err)
		}
	}
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		log.Fatal(err)
	}
	go srv.Serve(ln)
	return ln.Addr().String(), func() {
		ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		defer cancel()
		srv.Shutdown(ctx)
		os.RemoveAll(root)
	}
}

// Dial connects and completes the Hello; options bound the wait.
func ExampleDial() {
	addr, stop := exampleServer()
	defer stop()

	ctx := context.Background()
	c, err := client.Dial(ctx, addr, client.WithDialTimeout(5*time.Second))
	if err != nil {
		log.Fatal(err)
	}
	defer c.Close()
	out, err := c.Command(ctx, "upper", []string{"hello"})
	if err != nil {
		log.Fatal(err)
	}
	fmt.Print(out)
	// Output:
	// HELLO
}

// Put uploads a stream of known size (or -1 for a pipe) and sends its digest
// after the bytes; Get downloads into any writer and checks the digest the
// server sends after them. Progress callbacks see every piece.
func ExampleConn_Put() {
	addr, stop := exampleServer()
	defer stop()
	ctx := context.Background()
	c, err := client.Dial(ctx, addr)
	if err != nil {
		log.Fatal(err)
	}
	defer c.Close()

	data := []byte("a small report\n")
	err = c.Put(ctx, bytes.NewReader(data), int64(len(data)), "report.txt",
		func(done, total int64) {
			if done == total {
				fmt.Printf("sent %d of %d bytes\n", done, total)
			}
		})
	if err != nil {
		log.Fatal(err)
	}
	var back strings.Builder
	if err := c.Get(ctx, "report.txt", &back, nil); err != nil {
		log.Fatal(err)
	}
	fmt.Print(back.String())
	// Output:
	// sent 15 of 15 bytes
	// a small report
}

// PutFile and GetFile move files; GetFile replaces the local file only once
// the download is whole and verified.
func ExampleConn_GetFile() {
	addr, stop := exampleServer()
	defer stop()
	ctx := context.Background()
	c, err := client.Dial(ctx, addr)
	if err != nil {
		log.Fatal(err)
	}
	defer c.Close()

	dir, _ := os.MkdirTemp("", "selectftp-local")
	defer os.RemoveAll(dir)
	os.WriteFile(filepath.Join(dir, "notes.txt"), []byte("remember the milk\n"), 0o644)
	if err := c.PutFile(ctx, filepath.Join(dir, "notes.txt"), "", nil); err != nil {
		log.Fatal(err)
	}
	if err := c.GetFile(ctx, "notes.txt", filepath.Join(dir, "copy.txt"), nil); err != nil {
		log.Fatal(err)
	}
	b, _ := os.ReadFile(filepath.Join(dir, "copy.txt"))
	fmt.Print(string(b))
	// Output:
	// remember the milk
}

// Do runs any verb, with a request body and typed parameters.
func ExampleConn_Do() {
	addr, stop := exampleServer()
	defer stop()
	ctx := context.Background()
	c, err := client.Dial(ctx, addr)
	if err != nil {
		log.Fatal(err)
	}
	defer c.Close()

	var out strings.Builder
	_, err = c.Do(ctx, protocol.Request{Verb: "upper"}, strings.NewReader("a body, shouted\n"), &out)
	if err != nil {
		log.Fatal(err)
	}
	fmt.Print(out.String())
	// Output:
	// A BODY, SHOUTED
}

// A refused request's error matches the sentinel of its status code, and
// still reads as the server's message.
func ExampleErrNotFound() {
	addr, stop := exampleServer()
	defer stop()
	ctx := context.Background()
	c, err := client.Dial(ctx, addr)
	if err != nil {
		log.Fatal(err)
	}
	defer c.Close()

	err = c.Get(ctx, "no/such/file", os.Stdout, nil)
	switch {
	case errors.Is(err, client.ErrNotFound):
		fmt.Println("not there; code", client.Code(err))
	case err != nil:
		log.Fatal(err)
	}
	fmt.Println("connection still usable:", c.Err() == nil)
	// Output:
	// not there; code not_found
	// connection still usable: true
}

// A Pool bounds the connections of parallel transfers.
func ExamplePool() {
	addr, stop := exampleServer()
	defer stop()
	ctx := context.Background()
	pool := client.NewPool(addr, 2)
	defer pool.Close()

	var wg sync.WaitGroup
	results := make([]string, 4)
	for i := range results {
		wg.Go(func() {
			c, err := pool.Get(ctx)
			if err != nil {
				log.Fatal(err)
			}
			defer pool.Put(c)
			results[i], _ = c.Command(ctx, "upper", []string{fmt.Sprint("job", i)})
		})
	}
	wg.Wait()
	fmt.Print(strings.Join(results, ""))
	// Output:
	// JOB0
	// JOB1
	// JOB2
	// JOB3
}
