// Command plugin is the binary of the "mkdir" verb (plugins.d/mkdir).
package main

import (
	"github.com/selectftp/selectftp/plugins/mkdir"
	"github.com/selectftp/selectftp/sdk"
)

func main() { sdk.Serve(mkdir.New()) }
