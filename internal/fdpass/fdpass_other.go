//go:build !(linux || darwin || freebsd || netbsd || openbsd)

package fdpass

import (
	"os"
	"syscall"
)

// Pair is unavailable here: plugins stream bytes over gRPC instead.
func Pair() (*Receiver, *os.File, error) { return nil, nil, ErrUnavailable }

// Sender is unavailable here.
type Sender struct{}

// FromEnv always reports ErrUnavailable here.
func FromEnv() (*Sender, error) { return nil, ErrUnavailable }

// Send is never reached here.
func (s *Sender) Send(uint64, syscall.Conn) error { return ErrUnavailable }

// Close does nothing here.
func (s *Sender) Close() error { return nil }

// NewSender is unavailable here.
func NewSender(*os.File) (*Sender, error) { return nil, ErrUnavailable }

// Dup is unavailable here.
func Dup(syscall.Conn, string) (*os.File, error) { return nil, ErrUnavailable }
