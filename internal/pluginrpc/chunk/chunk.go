// Package chunk lends the buffers both halves of the plugin RPC stream body
// bytes through. It lives apart from the generated code in internal/pb.
package chunk

import (
	"sync"

	"github.com/selectftp/selectftp/internal/pb"
)

// Size is the size of the data chunks streamed over gRPC.
const Size = pb.ChunkSize

// chunks recycles streaming buffers: a streamed request would otherwise
// allocate Size bytes however little it sends.
var chunks = sync.Pool{New: func() any { b := make([]byte, Size); return &b }}

// Get lends a Size-byte buffer; give it back with Put. grpc-go marshals a
// message before Send returns, so a buffer may be reused once Send is done
// with it.
func Get() *[]byte { return chunks.Get().(*[]byte) }

// Put returns a buffer lent by Get.
func Put(b *[]byte) { chunks.Put(b) }
