// Command plugin is the binary of the "mv" verb (plugins.d/mv).
package main

import (
	"github.com/selectftp/selectftp/plugins/mv"
	"github.com/selectftp/selectftp/sdk"
)

func main() { sdk.Serve(mv.New()) }
