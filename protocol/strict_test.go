package protocol

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"math/rand/v2"
	"strings"
	"testing"
)

// realRequests are payloads as the client and the load generator send them,
// the seeds of the fuzz targets.
var realRequests = []string{
	`{"verb":"put","params":{"path":"a.txt","sha256":"e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855","size":0}}`,
	`{"verb":"get","params":{"path":"dir/f"}}`,
	`{"verb":"helps"}`,
	`{"verb":"upper","args":["hello","world"]}`,
	`{"verb":"put","args":["x"],"params":{"size":4611686018427387904,"sha256":"00"}}`,
	`{"verb":"put","params":{"path":"caf\u00e9","size":12}}`,
	`{"verb":"wait","params":{"ms":5,"deep":{"a":[1,{"b":2}],"c":null}}}`,
}

func TestDecodeRequestStrict(t *testing.T) {
	tests := []struct {
		name, payload string
		want          error  // sentinel, or nil for any error
		msg           string // part of the error text
	}{
		{"duplicate key", `{"verb":"put","params":{"size":1,"size":2}}`, ErrDuplicateKey, `duplicate key "size"`},
		{"duplicate in another case", `{"verb":"put","params":{"path":"a","PATH":"b"}}`, ErrDuplicateKey, `"PATH"`},
		{"duplicate through an escape", `{"verb":"put","params":{"path":"a","p\u0061th":"b"}}`, ErrDuplicateKey, `"path"`},
		{"duplicate verb", `{"verb":"get","Verb":"put"}`, ErrDuplicateKey, `"Verb"`},
		{"duplicate deep", `{"verb":"x","params":{"l":[{"a":1,"a":1}]}}`, ErrDuplicateKey, `"a"`},
		{"duplicate by Kelvin sign", `{"verb":"x","params":{"k":1,"\u212a":2}}`, ErrDuplicateKey, "duplicate key"},
		{"invalid UTF-8 in a value", "{\"verb\":\"get\",\"params\":{\"path\":\"a\xffb\"}}", ErrInvalidUTF8, "at byte 33"},
		{"invalid UTF-8 in a key", "{\"verb\":\"get\",\"params\":{\"p\xc3\":\"a\"}}", ErrInvalidUTF8, "invalid UTF-8"},
		{"lone high surrogate", `{"verb":"get","params":{"path":"a\ud800b"}}`, ErrInvalidUTF8, `\ud800`},
		{"lone low surrogate", `{"verb":"get","params":{"path":"\udc00"}}`, ErrInvalidUTF8, `\udc00`},
		{"reversed pair", `{"verb":"get","params":{"path":"\udc00\ud800"}}`, ErrInvalidUTF8, "surrogate"},
		{"trailing data", `{"verb":"get"} {}`, nil, "after the JSON object"},
		{"not an object", `["get"]`, nil, "cannot unmarshal array"},
		{"no verb", `{"args":["x"]}`, nil, "no verb"},
		{"truncated", `{"verb":`, nil, "unexpected EOF"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := DecodeRequest([]byte(tt.payload))
			if err == nil {
				t.Fatal("accepted")
			}
			if tt.want != nil && !errors.Is(err, tt.want) {
				t.Errorf("error %v, want %v", err, tt.want)
			}
			if !strings.Contains(err.Error(), tt.msg) {
				t.Errorf("error %q does not say %q", err, tt.msg)
			}
			// Hello and the client's frames go through Unmarshal: same rules.
			if tt.want != nil {
				var q Request
				if err := Unmarshal(TypeRequest, []byte(tt.payload), &q); !errors.Is(err, tt.want) {
					t.Errorf("Unmarshal: %v, want %v", err, tt.want)
				}
			}
		})
	}
}

func TestDecodeRequestGood(t *testing.T) {
	tests := []struct {
		payload string
		size    any // params["size"], if any
	}{
		{`{"verb":"put","params":{"size":0}}`, json.Number("0")},
		{`{"verb":"put","params":{"size":4611686018427387904}}`, json.Number("4611686018427387904")},
		// 2^62+1 is not a float64: UseNumber keeps every digit.
		{`{"verb":"put","params":{"size":4611686018427387905}}`, json.Number("4611686018427387905")},
		{`{"verb":"put","params":{"size":9223372036854775807}}`, json.Number("9223372036854775807")},
		{`{"verb":"get","params":{"path":"\ud83d\ude00 é","Path2":"x","path3":"y"}}`, nil},
		// Keys that are equal only as different objects are fine.
		{`{"verb":"x","params":{"a":{"a":1},"b":[{"a":1},{"a":2}]}}`, nil},
		{" \n{\"verb\":\"helps\"}\n ", nil},
		// Escaped quotes and backslashes do not confuse the key scanner.
		{`{"verb":"x","params":{"a\"":1,"a\\":2,"a":"\\u0061","b":"\"a\":"}}`, nil},
	}
	for _, tt := range tests {
		q, err := DecodeRequest([]byte(tt.payload))
		if err != nil {
			t.Errorf("DecodeRequest(%s): %v", tt.payload, err)
			continue
		}
		if tt.size != nil && q.Params["size"] != tt.size {
			t.Errorf("DecodeRequest(%s): size %#v, want %#v", tt.payload, q.Params["size"], tt.size)
		}
	}
	for _, p := range realRequests {
		if _, err := DecodeRequest([]byte(p)); err != nil {
			t.Errorf("DecodeRequest(%s): %v", p, err)
		}
	}
}

// Many keys switch the duplicate check from a list to a map.
func TestDecodeRequestManyKeys(t *testing.T) {
	var b strings.Builder
	b.WriteString(`{"verb":"x","params":{`)
	for i := range 5000 {
		if i > 0 {
			b.WriteByte(',')
		}
		fmt.Fprintf(&b, `"k%d":1`, i)
	}
	good := b.String() + "}}"
	if _, err := DecodeRequest([]byte(good)); err != nil {
		t.Fatalf("5000 distinct keys: %v", err)
	}
	bad := b.String() + `,"K4321":2}}`
	if _, err := DecodeRequest([]byte(bad)); !errors.Is(err, ErrDuplicateKey) {
		t.Fatalf("a duplicate after 5000 keys: %v", err)
	}
}

// referenceCheck finds duplicate keys with encoding/json's own tokenizer,
// slowly: the fuzz target compares checkKeys against it.
func referenceCheck(p []byte) error {
	d := json.NewDecoder(bytes.NewReader(p))
	type level struct {
		obj    bool
		keyNow bool
		seen   map[string]bool
	}
	var stack []*level
	for {
		tok, err := d.Token()
		if err == io.EOF {
			return nil
		}
		if err != nil {
			return err
		}
		var top *level
		if len(stack) > 0 {
			top = stack[len(stack)-1]
		}
		if top != nil && top.obj && top.keyNow {
			if s, ok := tok.(string); ok {
				if top.seen[fold(s)] {
					return ErrDuplicateKey
				}
				top.seen[fold(s)] = true
				top.keyNow = false
				continue
			}
		}
		if top != nil && top.obj {
			top.keyNow = true // the value is done; a key comes next
		}
		switch tok {
		case json.Delim('{'):
			stack = append(stack, &level{obj: true, keyNow: true, seen: map[string]bool{}})
		case json.Delim('['):
			stack = append(stack, &level{})
		case json.Delim('}'), json.Delim(']'):
			stack = stack[:len(stack)-1]
			if len(stack) > 0 && stack[len(stack)-1].obj {
				stack[len(stack)-1].keyNow = true
			}
		}
	}
}

func FuzzDecodeRequest(f *testing.F) {
	for _, p := range realRequests {
		f.Add([]byte(p))
	}
	f.Add([]byte(`{"verb":"put","params":{"size":1,"SIZE":2}}`))
	f.Add([]byte("{\"verb\":\"get\",\"params\":{\"path\":\"\xff\"}}"))
	f.Add([]byte(`{"verb":"get","params":{"path":"\ud800"}}`))
	f.Fuzz(func(t *testing.T, p []byte) {
		q, err := DecodeRequest(p)
		if !json.Valid(p) {
			if err == nil {
				t.Fatalf("accepted invalid JSON %q", p)
			}
			return
		}
		// Duplicates: the fast scanner agrees with encoding/json's tokenizer
		// (which turns bad UTF-8 into U+FFFD, so only on valid text).
		if kerr := checkKeys(p); invalidUTF8(p) < 0 && !errors.Is(kerr, ErrInvalidUTF8) {
			if got, want := errors.Is(kerr, ErrDuplicateKey), errors.Is(referenceCheck(p), ErrDuplicateKey); got != want {
				t.Fatalf("checkKeys duplicate=%v, reference %v, for %q", got, want, p)
			}
		}
		if err != nil {
			return
		}
		// What is accepted re-encodes to a payload that decodes the same.
		again, err := json.Marshal(q)
		if err != nil {
			t.Fatalf("re-encode: %v", err)
		}
		q2, err := DecodeRequest(again)
		if err != nil {
			t.Fatalf("re-encoded %q refused: %v", again, err)
		}
		b1, _ := json.Marshal(q2)
		if !bytes.Equal(again, b1) {
			t.Fatalf("round trip differs: %s vs %s", again, b1)
		}
	})
}

func FuzzUnmarshalHello(f *testing.F) {
	f.Add([]byte(`{"protocol":"selectftp","versions":[1]}`))
	f.Add([]byte(`{"protocol":"selectftp","version":1,"server":"selectftpd/0.1"}`))
	f.Add([]byte(`{"protocol":"selectftp","Protocol":"ftp","versions":[1]}`))
	f.Fuzz(func(t *testing.T, p []byte) {
		var h Hello
		err := Unmarshal(TypeHello, p, &h)
		if err == nil && (invalidUTF8(p) >= 0 || !json.Valid(p)) {
			t.Fatalf("accepted %q", p)
		}
	})
}

// Random documents with colliding keys (in case, through escapes, nested
// and many to an object), compared with the reference: what the fuzz
// target does, for a fixed number of cases on every test run.
func TestCheckKeysMatchesReference(t *testing.T) {
	rng := rand.New(rand.NewPCG(6, 10))
	keys := []string{`"a"`, `"A"`, `"\u0061"`, `"k"`, `"\u212a"`, `"ſ"`, `"S"`, `"a\""`, `"a\\"`, `"é"`, `"É"`, `"\ud83d\ude00"`, `"x1"`, `"x2"`, `"x3"`, `"x4"`, `"x5"`, `"x6"`, `"x7"`, `"x8"`, `"x9"`}
	var value func(depth int) string
	value = func(depth int) string {
		switch r := rng.IntN(6); {
		case r == 0 && depth < 4:
			n := rng.IntN(12)
			parts := make([]string, n)
			for i := range parts {
				parts[i] = keys[rng.IntN(len(keys))] + ":" + value(depth+1)
			}
			return "{" + strings.Join(parts, ",") + "}"
		case r == 1 && depth < 4:
			return "[" + value(depth+1) + "," + value(depth+1) + "]"
		case r == 2:
			return keys[rng.IntN(len(keys))] // a string value that looks like a key
		default:
			return "1"
		}
	}
	dups := 0
	for range 5000 {
		p := []byte(value(0))
		if !json.Valid(p) {
			t.Fatalf("generated invalid JSON %s", p)
		}
		got, want := checkKeys(p), referenceCheck(p)
		if errors.Is(got, ErrDuplicateKey) != errors.Is(want, ErrDuplicateKey) {
			t.Fatalf("checkKeys %v, reference %v, for %s", got, want, p)
		}
		if got != nil {
			dups++
		}
	}
	if dups == 0 || dups == 5000 {
		t.Fatalf("%d of 5000 documents had duplicates: the generator tests nothing", dups)
	}
}

// FuzzDecodeTrailer: an End payload is either nothing or a strict JSON
// Trailer; what is accepted re-encodes through EndFrame to the same
// trailer.
func FuzzDecodeTrailer(f *testing.F) {
	f.Add([]byte(``))
	f.Add([]byte(`{"digest":"99aa06d3014798d86001c324468d497f"}`))
	f.Add([]byte(`{"abort":"stdin failed"}`))
	f.Add([]byte(`{"digest":"a","Digest":"b"}`))
	f.Fuzz(func(t *testing.T, p []byte) {
		tr, err := DecodeTrailer(p)
		if err != nil {
			return
		}
		if len(p) > 0 && (invalidUTF8(p) >= 0 || !json.Valid(p)) {
			t.Fatalf("accepted %q", p)
		}
		frame, err := EndFrame(tr)
		if err != nil {
			if len(p) <= DefaultMaxControl {
				t.Fatalf("re-encode %+v: %v", tr, err)
			}
			return
		}
		var par Parser
		ev, _, err := par.Next(frame)
		if err != nil || ev.Kind != EventEnd {
			t.Fatalf("EndFrame(%+v) parses as %+v, %v", tr, ev, err)
		}
		if again, err := DecodeTrailer(ev.Payload); err != nil || again != tr {
			t.Fatalf("round trip: %+v -> %+v, %v", tr, again, err)
		}
	})
}

// TestEndFrame: the zero trailer is an empty End, anything else its JSON;
// a trailer must be JSON and strict about keys.
func TestEndFrame(t *testing.T) {
	empty, err := EndFrame(Trailer{})
	if err != nil || !bytes.Equal(empty, AppendHeader(nil, TypeEnd, 0)) {
		t.Fatalf("zero trailer: % x, %v", empty, err)
	}
	full, err := EndFrame(Trailer{Digest: "00ff"})
	if err != nil || string(full[HeaderLen:]) != `{"digest":"00ff"}` || full[4] != byte(TypeEnd) {
		t.Fatalf("digest trailer: %q, %v", full, err)
	}
	for _, bad := range []string{`nope`, `{"digest":"a","digest":"b"}`, `{"digest":1}`, "{\"abort\":\"\xff\"}"} {
		if _, err := DecodeTrailer([]byte(bad)); err == nil {
			t.Errorf("DecodeTrailer(%q) accepted", bad)
		}
	}
}
