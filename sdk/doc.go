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
//  1. discover: the host lists plugins.d and refuses files that others may
//     write.
//  2. start: the host starts the binary (it dies with the host).
//  3. handshake: go-plugin checks the magic cookie and protocol version; the
//     plugin must print nothing to stdout before Serve.
//  4. describe: the host calls Describe and registers the verb; a duplicate
//     verb is logged and the later plugin stopped.
//  5. configure: if the command implements Configurer, it receives the
//     operator's settings for its verb, once, before any request.
//  6. serve: Run is called for each request, concurrently: commands must be
//     safe for concurrent use. ctx is cancelled when the client goes away.
//  7. stop: the host kills the process at shutdown, or when its binary is
//     removed; a crashed plugin is started again for the next request.
//
// Bodies are io.Reader and io.Writer so that the transport stays the SDK's
// business: copying an *os.File into the ResponseWriter with io.Copy is the
// idiom that later versions move without copying.
//
// Errors returned by Run reach the client as a status code and message: use
// Errorf with a Code, or return errors from the os package, which CodeOf maps
// (fs.ErrNotExist becomes not_found, and so on).
//
// The sdktest package runs a command in-process for tests.
package sdk
