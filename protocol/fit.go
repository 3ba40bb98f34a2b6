package protocol

import (
	"encoding/json"
	"unicode/utf8"
)

// Ellipsis ends a Status message that was cut to fit its frame.
const Ellipsis = "…"

// maxCode bounds a status code: codes are short words, and a longer one
// (a plugin can return any string) is not a code the client knows.
const maxCode = 64

// FitStatus returns st, or st with its message cut (on a UTF-8 boundary,
// ending in Ellipsis) so that its JSON encoding takes at most max bytes.
// The code is kept, unless it is itself absurdly long; then the status
// becomes an internal error. Escaping can make a message up to six times
// longer on the wire than in memory (a control character is \u00XX), which
// is how a 60,000-byte path became a 360 KB frame.
func FitStatus(st Status, max int) Status {
	if encodedLen(st) <= max {
		return st
	}
	if len(st.Code) > maxCode {
		st = Status{Code: "internal", Message: "the command's status code is too long: " + st.Message}
	}
	budget := max - encodedLen(Status{Code: st.Code, Message: Ellipsis, Fallback: st.Fallback})
	if budget < 0 {
		return Status{Code: st.Code}
	}
	msg, used, cut := st.Message, 0, 0
	for cut < len(msg) {
		r, size := utf8.DecodeRuneInString(msg[cut:])
		e := escapedLen(r, size)
		if used+e > budget {
			break
		}
		used += e
		cut += size
	}
	out := Status{Code: st.Code, Message: msg[:cut] + Ellipsis, Fallback: st.Fallback}
	// escapedLen follows encoding/json; were they ever to disagree, cut
	// further rather than send a frame the peer refuses.
	for encodedLen(out) > max && cut > 0 {
		cut = cut * 3 / 4
		for cut > 0 && !utf8.RuneStart(msg[cut]) {
			cut--
		}
		out.Message = msg[:cut] + Ellipsis
	}
	return out
}

// encodedLen is the length of json.Marshal(v).
func encodedLen(v any) int {
	p, err := json.Marshal(v)
	if err != nil {
		return 0
	}
	return len(p)
}

// escapedLen is how many bytes encoding/json writes for the rune r that
// took size bytes of a string.
func escapedLen(r rune, size int) int {
	switch {
	case r == utf8.RuneError && size == 1:
		return len(`\ufffd`) // an invalid byte
	case r == '"' || r == '\\' || r == '\b' || r == '\f' || r == '\n' || r == '\r' || r == '\t':
		return 2
	case r < 0x20 || r == '<' || r == '>' || r == '&' || r == '\u2028' || r == '\u2029':
		return len(`\u0000`)
	}
	return size
}
