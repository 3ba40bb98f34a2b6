// Package hook lets sdktest reach into sdk without widening sdk's public
// API: sdk fills these in at init.
package hook

import "github.com/selectftp/selectftp/internal/fdpass"

// SetFiles gives an *sdk.Plugin a descriptor channel, as the environment
// does for a real plugin process.
var SetFiles func(plugin any, s *fdpass.Sender)
