package host_test

import (
	"context"
	"fmt"
	"io"
	"log"
	"net"
	"os"
	"strings"
	"time"

	"github.com/hashicorp/go-hclog"

	"github.com/selectftp/selectftp/client"
	"github.com/selectftp/selectftp/host"
	"github.com/selectftp/selectftp/sdk"
)

// A Go program embeds the server: it registers an in-process command beside
// (here, instead of) plugin binaries, serves on its own listener, talks to
// it with the public client, and shuts the server down gracefully. It uses
// only public packages, so it can be copied into a program of its own.
func Example() {
	root, err := os.MkdirTemp("", "selectftp-example")
	if err != nil {
		log.Fatal(err)
	}
	defer os.RemoveAll(root)

	srv := host.New()
	srv.Root = root
	srv.PluginDir = "" // no plugin binaries in this example
	srv.Fallback = "shout"
	srv.Logger = hclog.NewNullLogger()
	err = srv.Register(sdk.Func(
		sdk.Description{Verb: "shout", Summary: "upper-case the words", Usage: "shout WORD..."},
		func(ctx context.Context, req *sdk.Request, w sdk.ResponseWriter) error {
			_, err := io.WriteString(w, strings.ToUpper(strings.Join(req.Args, " "))+"!\n")
			return err
		}))
	if err != nil {
		log.Fatal(err)
	}

	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		log.Fatal(err)
	}
	go srv.Serve(ln)

	ctx := context.Background()
	c, err := client.Dial(ctx, ln.Addr().String())
	if err != nil {
		log.Fatal(err)
	}
	for _, words := range [][]string{{"shout", "hello", "world"}, {"select", "ftp"}} {
		// "select" is no verb: the fallback answers it.
		out, err := c.Command(ctx, words[0], words[1:])
		if err != nil {
			log.Fatal(err)
		}
		fmt.Print(out)
	}
	c.Close()

	ctx, cancel := context.WithTimeout(ctx, 5*time.Second)
	defer cancel()
	fmt.Println(srv.Shutdown(ctx))
	// Output:
	// HELLO WORLD!
	// SELECT FTP!
	// <nil>
}
