//go:build !linux

package main

import "context"

// startDelayLine needs TUN devices: Linux only.
func (n *wanNet) startDelayLine(context.Context, string, string) error { return errNoTUN }
