// Command plugin is the binary of the "pwd" verb (plugins.d/pwd).
package main

import (
	"github.com/selectftp/selectftp/plugins/pwd"
	"github.com/selectftp/selectftp/sdk"
)

func main() { sdk.Serve(pwd.New()) }
