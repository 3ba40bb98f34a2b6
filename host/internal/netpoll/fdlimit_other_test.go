//go:build !linux

package netpoll

import (
	"errors"
	"net"
	"testing"
)

func connectWithoutFDs(testing.TB, string) (func() net.Conn, error) {
	return nil, errors.New("descriptor limits not supported here")
}
