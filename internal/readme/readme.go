// Package readme reads the console examples of a plugin's README.md and
// checks them: in-process against the command (Check, used by each plugin's
// tests) or against a real server (the end-to-end tests use Examples).
package readme

import (
	"bufio"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/selectftp/selectftp/sdk"
	"github.com/selectftp/selectftp/sdk/sdktest"
)

// This file is the same in every plugin folder: it checks README.md's
// console examples in-process, as the end-to-end test later runs them
// against a real server (cmd/selectftpd).

// Example is one command line of a README console block and the standard
// output it shows.
type Example struct {
	// Words are the words after "selectftp".
	Words []string
	// Out is the standard output the README shows for it.
	Out string
}

// Examples reads the ```console blocks of the README at path.
func Examples(t testing.TB, path string) []Example {
	t.Helper()
	f, err := os.Open(path)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	var exs []Example
	in := false
	s := bufio.NewScanner(f)
	for s.Scan() {
		line := s.Text()
		switch {
		case line == "```console":
			in = true
		case !in:
		case line == "```":
			in = false
		case strings.HasPrefix(line, "$ selectftp "):
			exs = append(exs, Example{Words: strings.Fields(strings.TrimPrefix(line, "$ selectftp "))})
		case strings.HasPrefix(line, "$"):
			t.Errorf("README: %q does not run selectftp", line)
		case len(exs) == 0:
			t.Errorf("README: output %q before any command", line)
		default:
			exs[len(exs)-1].Out += line + "\n"
		}
	}
	if err := s.Err(); err != nil {
		t.Fatal(err)
	}
	if len(exs) == 0 {
		t.Fatal("README.md has no console examples")
	}
	return exs
}

// Check runs the README's examples, in order, on one empty root, the
// way the selectftp client turns them into requests: its own verb runs cmd;
// "helps VERB" must show cmd's usage; "put - NAME" (stdin is empty) stores
// an empty file. With fallback, cmd is the server's fallback verb and any
// other verb runs it with the word first.
func Check(t *testing.T, cmd sdk.Command, fallback bool) {
	d := cmd.Describe()
	root := t.TempDir()
	for _, ex := range Examples(t, "README.md") {
		line := "selectftp " + strings.Join(ex.Words, " ")
		verb, args := ex.Words[0], ex.Words[1:]
		var req sdktest.Request
		raw := false // the client prints the body as it is, not as text
		switch {
		case verb == "helps" && d.Verb != "helps":
			if len(args) != 1 || args[0] != d.Verb {
				t.Errorf("README: %s: only helps %s is checked here", line, d.Verb)
			} else if ex.Out != d.Usage {
				t.Errorf("README: %s\nshows %q\nusage %q", line, ex.Out, d.Usage)
			}
			continue
		case verb == "put" && len(args) == 2 && args[0] == "-":
			// The client streams stdin: no declared size.
			req = sdktest.Request{Params: map[string]any{"path": args[1]}}
			if d.Verb != "put" {
				if err := os.WriteFile(filepath.Join(root, args[1]), nil, 0o644); err != nil {
					t.Fatal(err)
				}
				continue
			}
		case verb == "put":
			t.Errorf("README: %s: only put - NAME runs without local files", line)
			continue
		case verb == "get" && d.Verb != "get":
			// Read the file the way get would send it.
			b, err := os.ReadFile(filepath.Join(root, args[0]))
			if len(args) != 2 || args[1] != "-" {
				b = nil // the client writes it to a local file
			}
			if err != nil || string(b) != ex.Out {
				t.Errorf("README: %s\ngot  %q (%v)\nwant %q", line, b, err, ex.Out)
			}
			continue
		case verb == "get" && len(args) == 2 && args[1] == "-":
			req, raw = sdktest.Request{Args: args[:1]}, true
		case verb == "get" && len(args) >= 1:
			req = sdktest.Request{Args: args[:1]} // the file goes to disk
		case verb == d.Verb:
			req = sdktest.Request{Args: args}
		case fallback:
			req = sdktest.Request{Args: ex.Words}
		default:
			t.Errorf("README: %s: a verb this test cannot check", line)
			continue
		}
		if verb != d.Verb && !fallback {
			t.Errorf("README: %s: a verb this test cannot check", line)
			continue
		}
		req.Root = root
		res := sdktest.Run(t, cmd, req)
		out := string(res.Body)
		switch {
		case verb == "put", verb == "get" && !raw:
			out = "" // the client prints nothing
		case !raw && out != "" && !strings.HasSuffix(out, "\n"):
			out += "\n" // as the client prints text
		}
		if res.Err != nil || out != ex.Out {
			t.Errorf("README: %s\ngot  %q (%v)\nwant %q", line, out, res.Err, ex.Out)
		}
	}
}
