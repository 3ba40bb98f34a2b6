//go:build !linux

package put

import (
	"os"
	"syscall"
)

const oDirectory = syscall.O_DIRECTORY

func newUnnamedStage(*os.Root, string, string) (stage, error) { return nil, errNoUnnamed }
