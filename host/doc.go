// Package host is the selectftp server, ready to embed. It owns the
// listener, a readiness-multiplexed event loop (epoll on Linux, a goroutine
// per connection elsewhere or on request), the wire framing, sessions,
// limits and timers, and dispatches every request to a command: one
// registered in-process with Register, or one served by a plugin binary from
// the plugins folder.
//
// A Server is shaped like http.Server: configure its fields, call Serve or
// ListenAndServe, stop it with Shutdown (graceful) or Close. The loop never
// blocks: commands run on their own goroutines, request bodies reach them
// through a bounded buffer that pauses the socket when full, and output waits
// while the connection's queue is full.
package host
