package sdk

import (
	"context"
	"io"
	"os"

	"github.com/hashicorp/go-hclog"
)

// Command is one verb.
type Command interface {
	// Describe names the verb and tells users how to call it.
	Describe() Description
	// Run serves one request. It may be called concurrently.
	Run(ctx context.Context, req *Request, w ResponseWriter) error
}

// Description is what helps shows for a verb.
type Description struct {
	// Verb is the command word, lower case, no spaces.
	Verb string
	// Summary is one line.
	Summary string
	// Usage is the full help text.
	Usage string
	// Options are the verb's options, so that the host finds the paths
	// among a request's words as the command does. They must match what
	// the command parses: a word the host takes for an option value is a
	// path it does not check.
	Options []Option
	// Access declares what the verb does to which paths; the host checks
	// the user's permissions before Run. None: the command gets no Root.
	Access []Access
}

// RunFunc is the signature of Command.Run.
type RunFunc func(ctx context.Context, req *Request, w ResponseWriter) error

// Func adapts a description and a function to a Command, as
// http.HandlerFunc does for handlers.
func Func(d Description, run RunFunc) Command { return funcCommand{d, run} }

type funcCommand struct {
	d   Description
	run RunFunc
}

func (f funcCommand) Describe() Description { return f.d }

func (f funcCommand) Run(ctx context.Context, req *Request, w ResponseWriter) error {
	return f.run(ctx, req, w)
}

// Request is one client request as a command sees it.
type Request struct {
	// Verb is the verb the command was called as; for the fallback command
	// it is the fallback's own verb, and the client's word is Args[0].
	Verb string
	// Args are the words the client typed after the verb.
	Args []string
	// Params are typed parameters from the client; see Decode. They hold
	// what JSON decodes to, except that numbers are json.Number, so that
	// integers arrive exact (a size of 2^62+1 stays that): read them with
	// Decode rather than by type assertion.
	Params map[string]any
	// Body is the request body (an upload). It reads io.EOF at its end,
	// once the host has verified it against the digest the client sent
	// after the bytes; a body that does not match reads an error instead
	// (CodeChecksum), as does one the client abandoned (CodeCanceled).
	Body io.Reader
	// BodySize is the body's length as the client declared it, so that a
	// command can refuse a body before it is sent or make room for it; -1
	// means unknown (a stream). The host fails a body that turns out
	// longer or shorter.
	BodySize int64
	// Checksum names the digest algorithm the client chose for this
	// request ("xxh128", "sha256", "blake3"; see Algorithms): the body's,
	// and the response body's, which the host computes.
	Checksum string
	// Root is the session's root folder. Every path a command touches goes
	// through it, which confines the command to the root: "..", absolute
	// paths and symlinks that point outside fail. Turn the paths a client
	// gives into Root's with Resolve.
	Root *os.Root
	// Dir is the session's current folder as the client sees it: "/" is
	// the top of the tree (Root), "" means "/". Resolve starts relative
	// paths here; SetDir changes it.
	Dir string
	// Host answers questions about the server.
	Host Host
	// Log writes to the host's log under the plugin's name.
	Log hclog.Logger
	// SessionID identifies the client connection in logs.
	SessionID string
	// RemoteAddr is the client's address.
	RemoteAddr string
	// User is who logged in; nil on a server without users (anonymous,
	// every permission). See Allows.
	User *User
}

// ResponseWriter receives a command's output.
type ResponseWriter interface {
	// Write sends body bytes to the client.
	io.Writer
	// SetMeta sets a response metadata key (such as "size"). Metadata goes to
	// the client before the body: calls after the first Write fail.
	SetMeta(key string, value any) error
}

// Host is the server, as seen from a command. In a plugin, calls travel on
// the request's stream behind the request body: read (or discard) a large
// body before calling the host, or the call waits for it.
type Host interface {
	// Commands lists the server's verbs, sorted.
	Commands(ctx context.Context) ([]Description, error)
}
