// Package client is the Go client of the selectftp protocol (docs/PROTOCOL.md).
//
// A [Conn] is one TCP connection that has completed the Hello exchange. It
// carries one request at a time and can be reused for any number of
// sequential requests; concurrent calls on one Conn wait for each other, so
// open more connections to transfer in parallel.
//
// [Conn.Do] is the general request: it sends the request and its body while
// it reads the response, as the protocol asks, because a command may answer
// before it has read the whole body. The helpers build on it: [Conn.Put] and
// [Conn.PutFile] upload with a declared size and SHA-256, [Conn.Get] and
// [Conn.GetFile] download and verify both, [Conn.Helps], [Conn.Verbs] and
// [Conn.Command] run text commands.
//
// A failed request is reported as an error; when the server refused it, the
// error wraps a *protocol.StatusError whose code [Code] extracts. A transport
// failure or a cancelled context leaves the Conn unusable ([Conn.Err]), since
// the position in the frame stream is then unknown.
package client
