//go:build !linux

package put

import "os"

func newUnnamedStage(*os.Root, string, string) (stage, error) { return nil, errNoUnnamed }
