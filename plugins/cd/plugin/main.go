// Command plugin is the binary of the "cd" verb (plugins.d/cd).
package main

import (
	"github.com/selectftp/selectftp/plugins/cd"
	"github.com/selectftp/selectftp/sdk"
)

func main() { sdk.Serve(cd.New()) }
