// Package client is the Go client of the selectftp protocol
// (docs/PROTOCOL.md, package protocol).
//
// A [Conn] is one TCP connection that has completed the Hello exchange;
// [Dial] opens one, with [Option] values for timeouts, framing and how to
// connect. A Conn carries one request at a time, as the protocol does
// (HTTP/1.1 style): its methods may be called from several goroutines, and
// concurrent calls wait for each other. To transfer in parallel, open more
// connections: a [Pool] keeps a bounded number of them and drops broken
// ones.
//
// [Conn.Do] is the general request, for any verb: it sends the request
// and its body while it reads the response, because a command may answer
// before it has read the whole body. The helpers build on it: [Conn.Put]
// and [Conn.PutFile] upload with a declared size and SHA-256, [Conn.Get]
// and [Conn.GetFile] download and verify both, [Conn.Helps], [Conn.Verbs]
// and [Conn.Command] run text commands. Transfers report progress through
// a [Progress] callback. Every call takes a context; cancelling it ends
// the call at once.
//
// A request the server refused fails with an error wrapping a
// *protocol.StatusError: errors.Is(err, [ErrNotFound]) (and the other
// Err... sentinels) tells the codes apart, [Code] extracts the code, and
// the error's text keeps the server's message. A download whose bytes do
// not match what the server declared fails with [ErrChecksum] as well. A
// transport failure or a cancelled context leaves the Conn unusable
// ([Conn.Err]), since the position in the frame stream is then unknown;
// the next request on it fails with [ErrClosed] without being sent.
//
// Tests run the real server with package host/hosttest.
package client
