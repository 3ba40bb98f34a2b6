package protocol

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"unicode"
	"unicode/utf8"
)

// Errors of strict decoding. The error a decoder returns wraps one of these
// and says where.
var (
	// ErrInvalidUTF8 is a payload that is not valid UTF-8, or a string
	// escape that names half of a surrogate pair. encoding/json would turn
	// either into U+FFFD, so two different names would become one.
	ErrInvalidUTF8 = errors.New("invalid UTF-8")
	// ErrDuplicateKey is an object with one key twice. Keys that differ only
	// in case count as the same, since commands match parameters without
	// regard to case: last-wins (or random-wins) would hide one of them.
	ErrDuplicateKey = errors.New("duplicate key")
)

// DecodeRequest decodes a Request payload strictly, as Unmarshal does, and
// keeps the numbers in Params as json.Number so that integers keep their
// full precision (a float64 holds only 53 bits). A request without a verb is
// an error. Errors say what is wrong without naming the frame, for the
// caller's "invalid request: ".
func DecodeRequest(payload []byte) (Request, error) {
	var q Request
	if err := decodeStrict(payload, &q, true); err != nil {
		return Request{}, err
	}
	if q.Verb == "" {
		return Request{}, errors.New("the request has no verb")
	}
	return q, nil
}

// decodeStrict decodes p into msg, refusing invalid UTF-8, duplicate keys
// and trailing data. With useNumber, numbers decoded into interface values
// are json.Number.
func decodeStrict(p []byte, msg any, useNumber bool) error {
	if i := invalidUTF8(p); i >= 0 {
		return fmt.Errorf("%w at byte %d", ErrInvalidUTF8, i)
	}
	if useNumber {
		d := json.NewDecoder(bytes.NewReader(p))
		d.UseNumber()
		if err := d.Decode(msg); err != nil {
			return err
		}
		if _, err := d.Token(); err != io.EOF {
			return errors.New("data after the JSON object")
		}
	} else if err := json.Unmarshal(p, msg); err != nil {
		return err
	}
	return checkKeys(p)
}

// invalidUTF8 returns the offset of the first invalid byte, or -1.
func invalidUTF8(p []byte) int {
	if utf8.Valid(p) {
		return -1
	}
	for i := 0; i < len(p); {
		r, n := utf8.DecodeRune(p[i:])
		if r == utf8.RuneError && n == 1 {
			return i
		}
		i += n
	}
	return -1
}

// object is one open JSON object or array while checkKeys scans.
type object struct {
	isObj     bool
	expectKey bool
	start     int                 // its keys are keys[start:] while it is open
	set       map[string]struct{} // folded keys, once there are many
}

// linearKeys is how many keys an object holds before a map beats comparing
// each new key with every earlier one.
const linearKeys = 8

// checkKeys scans p, which json has already accepted, for duplicate keys
// and string escapes of lone surrogates. It never reads out of bounds on
// bad input. Requests are small and come in floods, so it allocates
// nothing for objects of a few keys without escapes.
func checkKeys(p []byte) error {
	var stackBuf [8]object
	var keyBuf [16][]byte
	stack, keys := stackBuf[:0], keyBuf[:0]
	for i := 0; i < len(p); {
		switch p[i] {
		case '{', '[':
			stack = append(stack, object{isObj: p[i] == '{', expectKey: p[i] == '{', start: len(keys)})
			i++
		case '}', ']':
			if n := len(stack); n > 0 {
				keys = keys[:stack[n-1].start]
				stack = stack[:n-1]
			}
			i++
		case ',':
			if n := len(stack); n > 0 && stack[n-1].isObj {
				stack[n-1].expectKey = true
			}
			i++
		case '"':
			end, escaped, err := scanString(p, i)
			if err != nil {
				return err
			}
			if n := len(stack); n > 0 && stack[n-1].expectKey {
				top := &stack[n-1]
				top.expectKey = false
				key, err := keyText(p[i:end], escaped)
				if err != nil {
					return err
				}
				if top.set == nil {
					for _, k := range keys[top.start:] {
						if bytes.EqualFold(k, key) {
							return fmt.Errorf("%w %q", ErrDuplicateKey, key)
						}
					}
					keys = append(keys, key)
					if len(keys)-top.start > linearKeys {
						top.set = make(map[string]struct{}, 4*linearKeys)
						for _, k := range keys[top.start:] {
							top.set[fold(string(k))] = struct{}{}
						}
						keys = keys[:top.start]
					}
				} else {
					f := fold(string(key))
					if _, dup := top.set[f]; dup {
						return fmt.Errorf("%w %q", ErrDuplicateKey, key)
					}
					top.set[f] = struct{}{}
				}
			}
			i = end
		default:
			i++
		}
	}
	return nil
}

// scanString finds the end of the string starting at p[start] (the byte
// after its closing quote), checking \u escapes for lone surrogates.
func scanString(p []byte, start int) (end int, escaped bool, err error) {
	for i := start + 1; i < len(p); {
		switch p[i] {
		case '"':
			return i + 1, escaped, nil
		case '\\':
			escaped = true
			if i+1 < len(p) && p[i+1] == 'u' {
				r, ok := hex4(p, i+2)
				switch {
				case !ok:
				case r >= 0xd800 && r < 0xdc00:
					if r2, ok2 := hex4(p, i+8); ok2 && i+7 < len(p) && p[i+6] == '\\' && p[i+7] == 'u' && r2 >= 0xdc00 && r2 < 0xe000 {
						i += 12
						continue
					}
					return 0, false, fmt.Errorf("%w: unpaired surrogate \\u%04x at byte %d", ErrInvalidUTF8, r, i)
				case r >= 0xdc00 && r < 0xe000:
					return 0, false, fmt.Errorf("%w: unpaired surrogate \\u%04x at byte %d", ErrInvalidUTF8, r, i)
				}
				i += 6
				continue
			}
			i += 2
		default:
			i++
		}
	}
	return len(p), escaped, nil
}

// hex4 decodes the four hex digits at p[i:i+4].
func hex4(p []byte, i int) (rune, bool) {
	if i < 0 || i+4 > len(p) {
		return 0, false
	}
	var r rune
	for _, c := range p[i : i+4] {
		switch {
		case c >= '0' && c <= '9':
			r = r<<4 | rune(c-'0')
		case c >= 'a' && c <= 'f':
			r = r<<4 | rune(c-'a'+10)
		case c >= 'A' && c <= 'F':
			r = r<<4 | rune(c-'A'+10)
		default:
			return 0, false
		}
	}
	return r, true
}

// keyText is a key's text: its raw bytes, or its unescaped value when it
// has escapes, so that "a" and "\u0061" are the same key.
func keyText(quoted []byte, escaped bool) ([]byte, error) {
	if !escaped {
		return quoted[1 : len(quoted)-1], nil
	}
	var s string
	if err := json.Unmarshal(quoted, &s); err != nil {
		return nil, err
	}
	return []byte(s), nil
}

// fold maps s to one representative of the strings bytes.EqualFold calls
// equal to it (each rune becomes the smallest of its case-fold orbit), so a
// set of folded keys finds the duplicates the linear scan finds.
func fold(s string) string {
	ascii := true
	for i := 0; i < len(s); i++ {
		if c := s[i]; c >= utf8.RuneSelf || (c >= 'a' && c <= 'z') {
			ascii = false
			break
		}
	}
	if ascii {
		return s
	}
	b := make([]byte, 0, len(s))
	for _, r := range s {
		if r >= 'a' && r <= 'z' {
			b = append(b, byte(r-'a'+'A'))
			continue
		}
		m := r
		for f := unicode.SimpleFold(r); f != r; f = unicode.SimpleFold(f) {
			m = min(m, f)
		}
		b = utf8.AppendRune(b, m)
	}
	return string(b)
}
