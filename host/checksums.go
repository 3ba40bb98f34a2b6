package host

import (
	"fmt"
	"strings"

	"github.com/selectftp/selectftp/internal/checksum"
	"github.com/selectftp/selectftp/protocol"
)

// acceptChecksums parses MinChecksum into the algorithms the server takes,
// the minimum itself first: it is the default for a client that names none.
func (s *Server) acceptChecksums() error {
	minimum := checksum.Default
	if s.MinChecksum != "" {
		var err error
		if minimum, err = checksum.Parse(s.MinChecksum); err != nil {
			return fmt.Errorf("host: MinChecksum: %w", err)
		}
	}
	s.minSum = minimum
	s.sums = []string{minimum.String()}
	for _, a := range checksum.All() {
		if a != minimum && a.Meets(minimum) {
			s.sums = append(s.sums, a.String())
		}
	}
	return nil
}

// algorithm is the digest algorithm of request q: the one it names, or
// the server's default. It says why when the server does not take it.
func (s *Server) algorithm(q protocol.Request) (checksum.Algorithm, error) {
	if q.Checksum == "" {
		return s.minSum, nil
	}
	a, err := checksum.Parse(q.Checksum)
	if err != nil {
		return a, err
	}
	if !a.Meets(s.minSum) {
		return a, fmt.Errorf("this server requires a cryptographic checksum: %s is too weak; use one of %s",
			a, strings.Join(s.sums, ", "))
	}
	return a, nil
}

// checkTransfer says what is wrong with a request's transfer fields, or ""
// when nothing is.
func (s *Server) checkTransfer(q protocol.Request) string {
	if _, err := s.algorithm(q); err != nil {
		return err.Error()
	}
	if q.Size != nil && *q.Size < 0 {
		return fmt.Sprintf("invalid request: negative body size %d", *q.Size)
	}
	return ""
}
