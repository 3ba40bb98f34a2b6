// Command plugin is the binary of the "sum" verb (plugins.d/sum).
package main

import (
	"github.com/selectftp/selectftp/plugins/sum"
	"github.com/selectftp/selectftp/sdk"
)

func main() { sdk.Serve(sum.New()) }
