// Package upper is the "upper" verb of selectftp: the command itself, served as
// a plugin binary by plugin/ and registrable in-process. README.md tells
// how to use it.
package upper

import (
	"bytes"
	"context"
	"errors"
	"io"
	"strings"
	"unicode/utf8"

	"github.com/selectftp/selectftp/sdk"
)

const upperUsage = `usage: upper [WORD...]

Answers the words joined by single spaces, in upper case (full Unicode),
followed by a newline. With no words it upper-cases the request body
instead, as it streams (for programs that send one; the selectftp
client sends words).

The server sends unknown verbs here too, with the client's word first, so
"hello world" answers "HELLO WORLD".

Examples:
  upper hello world        answers HELLO WORLD
  upper héllo wörld        answers HÉLLO WÖRLD
  hello world              unknown verb: answers HELLO WORLD
`

// upper serves the "upper" verb. It holds no state, so concurrent Run calls
// are safe.
type upper struct{}

// New returns the "upper" command, to serve as a plugin (see plugin/) or to
// register in-process with host.Server.Register.
func New() sdk.Command { return upper{} }

func (upper) Describe() sdk.Description {
	return sdk.Description{
		Verb:    "upper",
		Summary: "answer the words, or the body, in upper case",
		Usage:   upperUsage,
	}
}

func (upper) Run(ctx context.Context, req *sdk.Request, w sdk.ResponseWriter) error {
	if len(req.Args) > 0 {
		_, err := io.WriteString(w, strings.ToUpper(strings.Join(req.Args, " "))+"\n")
		return err
	}
	return upperStream(ctx, w, req.Body)
}

// upperStream copies r to w upper-cased, a chunk at a time. A UTF-8
// sequence cut by a chunk boundary is held back until the rest arrives, so
// the output equals bytes.ToUpper of the whole input.
func upperStream(ctx context.Context, w io.Writer, r io.Reader) error {
	if r == nil {
		return nil
	}
	buf := make([]byte, 64<<10)
	held := 0 // bytes of an incomplete sequence at the start of buf
	for {
		if err := ctx.Err(); err != nil {
			return err
		}
		n, err := r.Read(buf[held:])
		n += held
		cut := n
		if err == nil {
			cut = completeRunes(buf[:n])
		}
		if cut > 0 {
			if _, werr := w.Write(bytes.ToUpper(buf[:cut])); werr != nil {
				return werr
			}
		}
		held = copy(buf, buf[cut:n])
		if errors.Is(err, io.EOF) {
			return nil
		}
		if err != nil {
			return err
		}
	}
}

// completeRunes returns the length of the longest prefix of p that does not
// end inside a UTF-8 sequence that more bytes could complete.
func completeRunes(p []byte) int {
	for i := len(p) - 1; i >= 0 && i >= len(p)-utf8.UTFMax+1; i-- {
		if utf8.RuneStart(p[i]) {
			if utf8.FullRune(p[i:]) {
				return len(p)
			}
			return i
		}
	}
	return len(p)
}
