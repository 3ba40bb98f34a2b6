package plugins

import (
	"os/exec"
	"syscall"
)

// dieWithHost makes the kernel kill the plugin when the host dies, even by
// SIGKILL, which go-plugin's own cleanup cannot see.
func dieWithHost(cmd *exec.Cmd) {
	cmd.SysProcAttr = &syscall.SysProcAttr{Pdeathsig: syscall.SIGKILL}
}
