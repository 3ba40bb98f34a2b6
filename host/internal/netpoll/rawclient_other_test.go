//go:build !linux

package netpoll

import "errors"

type rawClients struct{}

func newRawClients(string) (*rawClients, error) {
	return nil, errors.New("raw client sockets are Linux-only here")
}

func (*rawClients) dial(int) error { return nil }
func (*rawClients) close()         {}
