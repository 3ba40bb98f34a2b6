// Command plugin is the binary of the "helps" verb: the server starts it from
// its plugins folder (the Makefile installs it as plugins.d/helps). The
// command itself lives in the parent package, so embedders can register it
// in-process too.
package main

import (
	"github.com/selectftp/selectftp/plugins/helps"
	"github.com/selectftp/selectftp/sdk"
)

func main() { sdk.Serve(helps.New()) }
