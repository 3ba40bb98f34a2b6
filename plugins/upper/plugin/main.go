// Command plugin is the binary of the "upper" verb: the server starts it from
// its plugins folder (the Makefile installs it as plugins.d/upper). The
// command itself lives in the parent package, so embedders can register it
// in-process too.
package main

import (
	"github.com/selectftp/selectftp/plugins/upper"
	"github.com/selectftp/selectftp/sdk"
)

func main() { sdk.Serve(upper.New()) }
