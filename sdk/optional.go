package sdk

import "context"

// Optional capabilities of a Command. The host finds them by type
// assertion, as net/http finds http.Flusher; each is one method. A command
// that implements one says so with a compile-time check next to its type,
// so that a changed signature fails to build instead of silently dropping
// the capability:
//
//	var _ sdk.Configurer = (*put)(nil)

// Configurer is implemented by commands that take operator settings. The
// host calls Configure once, before any Run. Decode the settings with
// DecodeSettings.
type Configurer interface {
	Configure(ctx context.Context, settings map[string]any) error
}
