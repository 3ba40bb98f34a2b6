package client

import (
	"bytes"
	"fmt"
)

// lineWriter is an io.Writer that calls fn with each complete line (without
// its newline) as the bytes arrive, so a long listing is decoded while it
// streams and only one line is ever buffered. Blank lines are skipped.
type lineWriter struct {
	max  int // longest line accepted
	fn   func(line []byte) error
	part []byte // the start of a line whose newline has not come yet
	err  error
}

func (l *lineWriter) Write(p []byte) (int, error) {
	if l.err != nil {
		return 0, l.err
	}
	n := len(p)
	for len(p) > 0 {
		i := bytes.IndexByte(p, '\n')
		if i < 0 {
			if len(l.part)+len(p) > l.max {
				l.err = fmt.Errorf("the server sent a line over %d bytes", l.max)
				return 0, l.err
			}
			l.part = append(l.part, p...)
			break
		}
		line := p[:i]
		if len(l.part) > 0 {
			if len(l.part)+i > l.max {
				l.err = fmt.Errorf("the server sent a line over %d bytes", l.max)
				return 0, l.err
			}
			line = append(l.part, line...)
		}
		p = p[i+1:]
		if err := l.line(line); err != nil {
			l.err = err
			return 0, err
		}
		l.part = l.part[:0]
	}
	return n, nil
}

func (l *lineWriter) line(b []byte) error {
	b = bytes.TrimSuffix(b, []byte("\r"))
	if len(bytes.TrimSpace(b)) == 0 {
		return nil
	}
	return l.fn(b)
}

// flush passes on a last line that had no newline.
func (l *lineWriter) flush() error {
	if l.err != nil || len(l.part) == 0 {
		return l.err
	}
	err := l.line(l.part)
	l.part = nil
	return err
}
