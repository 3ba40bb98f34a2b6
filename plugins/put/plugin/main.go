// Command plugin is the binary of the "put" verb: the server starts it from
// its plugins folder (the Makefile installs it as plugins.d/put). The
// command itself lives in the parent package, so embedders can register it
// in-process too.
package main

import (
	"github.com/selectftp/selectftp/plugins/put"
	"github.com/selectftp/selectftp/sdk"
)

func main() { sdk.Serve(put.New()) }
