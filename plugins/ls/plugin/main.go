// Command plugin is the binary of the "ls" verb (plugins.d/ls).
package main

import (
	"github.com/selectftp/selectftp/plugins/ls"
	"github.com/selectftp/selectftp/sdk"
)

func main() { sdk.Serve(ls.New()) }
