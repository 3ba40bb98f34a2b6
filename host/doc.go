// Package host is the selectftp server, ready to embed. It owns the
// listener, a readiness-multiplexed event loop (epoll on Linux, a goroutine
// per connection elsewhere or on request), the wire framing, sessions,
// limits and timers, and dispatches every request to a command: one
// registered in-process with Register, or one served by a plugin binary from
// the plugins folder.
//
// A Server is shaped like http.Server: configure its fields (a zero field
// means its Default constant), call Serve or ListenAndServe, stop it with
// Shutdown (graceful) or Close. New serves in-process commands only; set
// PluginDir to load plugin binaries too. The loop never
// blocks: commands run on their own goroutines, request bodies reach them
// through a bounded buffer that pauses the socket when full, and output waits
// while the connection's queue is full.
//
// Each session has one owner, its connection's event loop: the command's
// goroutine, the timers and Shutdown post events to it, and one pure
// function (step) turns the session's state and an event into the next
// state and the actions to take.
package host
