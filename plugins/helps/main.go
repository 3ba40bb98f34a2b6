// Command helps is the selectftp plugin that serves the "helps" verb. The server
// starts it from its plugins folder; see README.md for what it does.
package main

import "github.com/selectftp/selectftp/sdk"

func main() { sdk.Serve(newHelps()) }
