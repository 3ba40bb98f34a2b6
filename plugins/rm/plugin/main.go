// Command plugin is the binary of the "rm" verb (plugins.d/rm).
package main

import (
	"github.com/selectftp/selectftp/plugins/rm"
	"github.com/selectftp/selectftp/sdk"
)

func main() { sdk.Serve(rm.New()) }
