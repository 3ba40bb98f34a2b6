//go:build !linux

package digest

import (
	"errors"
	"os"
)

var errNoXattr = errors.New("digest: extended attributes not used here")

func getAttr(*os.File, string) (string, error) { return "", errNoXattr }

func setAttr(*os.File, string, string) error { return errNoXattr }

func removeAttr(*os.File, string) error { return errNoXattr }
