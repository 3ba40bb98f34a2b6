//go:build !linux

package netpoll

// NewReactor reports ErrUnsupported: the reactor needs epoll. Use
// NewGoroutine instead.
func NewReactor(opts Options) (Engine, error) {
	return nil, ErrUnsupported
}
