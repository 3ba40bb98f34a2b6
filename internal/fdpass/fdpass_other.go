//go:build !(linux || darwin || freebsd || netbsd || openbsd)

package fdpass

import (
	"os"
	"syscall"
	"time"
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

// Take is never reached here.
func (s *Sender) Take(uint64, time.Duration) (*os.File, error) { return nil, ErrUnavailable }

// OpenRoot is unavailable here: plugins get no root they could trust.
func OpenRoot(*os.File) (*os.Root, error) { return nil, ErrUnavailable }
