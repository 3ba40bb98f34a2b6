// Command plugin is the binary of the "stat" verb (plugins.d/stat).
package main

import (
	"github.com/selectftp/selectftp/plugins/stat"
	"github.com/selectftp/selectftp/sdk"
)

func main() { sdk.Serve(stat.New()) }
