// Command selectftp is the selectftp client: it runs one command given on
// its command line, a script of commands read from stdin, or an interactive
// shell. Run selectftp --help for usage.
package main

import "os"

func main() {
	os.Exit(run(os.Args[1:], os.Stdin, os.Stdout, os.Stderr))
}
