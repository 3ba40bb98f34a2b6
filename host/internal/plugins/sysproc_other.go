//go:build !linux

package plugins

import "os/exec"

func dieWithHost(*exec.Cmd) {}
