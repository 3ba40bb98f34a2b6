// Package layers holds no code: its test checks which of the module's
// packages may import which (docs/ARCHITECTURE.md draws the layers), so a
// shortcut across them fails the build of the test suite, not a review.
package layers
