// Package sdk is everything a selectftp command plugin imports.
//
// A command describes itself and runs requests:
//
//	type Command interface {
//		Describe() Description
//		Run(ctx context.Context, req *Request, w ResponseWriter) error
//	}
//
// A plugin binary is a main package that calls Serve with its command. The
// host runs it through go-plugin over gRPC; the plugin never sees a socket, a
// frame or the event loop.
//
// # Lifecycle
//
// In order, for each executable in the plugins folder:
//
//  1. discover: the host opens the plugins folder checking every folder from
//     / down to it (owned by root or the server's user, not writable by
//     others, links followed only if theirs), and refuses a binary that is
//     not a regular executable file owned the same way.
//  2. start: the host executes the binary from the descriptor it checked,
//     never by path, with an empty environment (PATH and the log level
//     only) and a socket pair for descriptors; the plugin dies with the host.
//  3. handshake: go-plugin checks the magic cookie and protocol version; the
//     plugin must print nothing to stdout before Serve.
//  4. describe: the host calls Describe and registers the verb; a duplicate
//     verb is logged and the later plugin stopped.
//  5. configure: if the command implements Configurer, it receives the
//     operator's settings for its verb, once, before any request.
//  6. serve: Run is called for each request, concurrently: commands must be
//     safe for concurrent use. ctx is cancelled when the client goes away.
//     Meanwhile the host pings the process; three missed pings in a row
//     and it is killed as stuck.
//  7. stop: the host kills the process at shutdown, when its binary is
//     removed, replaced or re-permissioned (a rescan), or when it is stuck;
//     a crashed or killed plugin is started again for the next request.
//
// # Bodies
//
// Bodies are io.Reader and io.Writer, so the transport stays the SDK's
// business. Two idioms move files without the plugin touching their bytes:
//
//   - Downloads: SendFile(req, w, f, off, n, known) (or io.Copy(w, f) of an
//     *os.File) hands f's descriptor to the host, which sends it with
//     sendfile(2) and hashes it beside, in the request's algorithm, for the
//     status; a digest the command already knows (known) spares that read.
//   - Uploads: SaveBody(req, f, limit) hands f to the host, which writes the
//     body into it, verifies it against the digest the client sent after the
//     bytes, and returns its size and Digest in the request's algorithm.
//     Call SaveBody rather than copying req.Body yourself: it is the one
//     call that is fast on every path and always returns the digest.
//
// A body's length may be unknown (Request.BodySize -1: a stream); a
// command that limits sizes refuses a declared size before reading, and a
// stream once it grows past the limit.
//
// Errors returned by Run reach the client as a status code and message: use
// Errorf with a Code, or return errors from the os package, which CodeOf maps
// (fs.ErrNotExist becomes not_found, and so on).
//
// The sdktest package runs a command in-process for tests.
package sdk
