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
// (here, instead of) plugin binaries, serves on its own listener, and shuts
// the server down gracefully.
func Example() {
	root, _ := os.MkdirTemp("", "selectftp-example")
	defer os.RemoveAll(root)

	srv := host.New()
	srv.Root = root
	srv.PluginDir = "" // no plugin binaries in this example
	srv.Fallback = "shout"
	srv.Logger = hclog.NewNullLogger()
	srv.Register(sdk.Func(
		sdk.Description{Verb: "shout", Summary: "upper-case the words", Usage: "shout WORD..."},
		func(ctx context.Context, req *sdk.Request, w sdk.ResponseWriter) error {
			_, err := io.WriteString(w, strings.ToUpper(strings.Join(req.Args, " "))+"!\n")
			return err
		}))

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
	out, _ := c.Command(ctx, "shout", []string{"hello", "world"})
	fmt.Print(out)
	out, _ = c.Command(ctx, "select", []string{"ftp"}) // unknown: the fallback answers
	fmt.Print(out)
	c.Close()

	ctx, cancel := context.WithTimeout(ctx, 5*time.Second)
	defer cancel()
	fmt.Println(srv.Shutdown(ctx))
	// Output:
	// HELLO WORLD!
	// SELECT FTP!
	// <nil>
}
