// Package pb holds the generated gRPC code of the plugin protocol
// (command.proto) and the go-plugin handshake both sides must agree on. It is
// internal: plugin authors use the sdk package, which never exposes these
// types.
package pb

import plugin "github.com/hashicorp/go-plugin"

// PluginName is the single plugin each plugin binary serves.
const PluginName = "command"

// Handshake is checked by go-plugin before anything else: the cookie stops a
// plugin binary run by hand from serving, and the version gates the RPC.
var Handshake = plugin.HandshakeConfig{
	ProtocolVersion:  4, // 2: lazy body, descriptor passing; 3: roots by descriptor; 4: digests by algorithm
	MagicCookieKey:   "SELECTFTP_PLUGIN",
	MagicCookieValue: "d7c1a5f0-verb-plugin",
}

// MaxMessage bounds gRPC messages both ways; data travels in chunks far
// below it.
const MaxMessage = 4 << 20

// ChunkSize is the size of the data chunks streamed over gRPC.
const ChunkSize = 256 << 10
