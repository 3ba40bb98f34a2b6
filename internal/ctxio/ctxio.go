// Package ctxio makes a long read stop when its context ends.
//
// io.Copy from a file or a pipe does not watch a context; hashing a large
// file or reading stdin would then go on long after the caller gave up.
package ctxio

import (
	"context"
	"io"
)

// Reader reads R until Ctx is done; then every Read fails with Ctx's cause.
// OnRead, when set, is called before each read that goes ahead (a command
// reports progress with it).
type Reader struct {
	Ctx    context.Context
	R      io.Reader
	OnRead func()
}

// Read reads from R unless Ctx is done.
func (c Reader) Read(p []byte) (int, error) {
	if c.Ctx.Err() != nil {
		return 0, context.Cause(c.Ctx)
	}
	if c.OnRead != nil {
		c.OnRead()
	}
	return c.R.Read(p)
}
