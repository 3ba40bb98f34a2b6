package protocol

import (
	"bytes"
	"errors"
	"strings"
	"testing"
	"unicode/utf8"
)

// readBack decodes frame with the package's own Reader at its default
// limit, as the client reads.
func readBack(t *testing.T, frame []byte) Frame {
	t.Helper()
	f, err := NewReader(bytes.NewReader(frame), 0).Next()
	if err != nil {
		t.Fatalf("our own reader refuses the frame (%d bytes): %v", len(frame), err)
	}
	return f
}

// The attack: a path of control characters, echoed in a status, escaped six
// times over. 60,000 of them made a 360 KB frame.
func TestMarshalStatusFitsTheLimit(t *testing.T) {
	tests := []struct{ name, msg string }{
		{"control characters", "open " + strings.Repeat("\x01", 60000) + ": file name too long"},
		{"html characters", strings.Repeat("<&>", 30000)},
		{"multibyte", strings.Repeat("é漢😀", 20000)},
		{"invalid UTF-8", strings.Repeat("\xff", 70000)},
		{"line separators", strings.Repeat("\u2028", 70000)},
		{"plain", strings.Repeat("x", 1<<20)},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			frame, err := Marshal(TypeStatus, Status{Code: "bad_request", Message: tt.msg})
			if err != nil {
				t.Fatal(err)
			}
			if len(frame)-HeaderLen > DefaultMaxControl {
				t.Fatalf("status frame of %d bytes, over the %d limit", len(frame)-HeaderLen, DefaultMaxControl)
			}
			f := readBack(t, frame)
			var st Status
			if err := Unmarshal(f.Type, f.Payload, &st); err != nil {
				t.Fatal(err)
			}
			if st.Code != "bad_request" || !strings.HasSuffix(st.Message, Ellipsis) || !utf8.ValidString(st.Message) {
				t.Fatalf("status %q ... (%d bytes)", st.Message[:min(40, len(st.Message))], len(st.Message))
			}
			// Cut close to the limit, not far below it.
			if len(frame)-HeaderLen < DefaultMaxControl-16 {
				t.Errorf("frame of %d bytes: cut more than needed", len(frame)-HeaderLen)
			}
		})
	}
}

func TestFitStatus(t *testing.T) {
	st := Status{Code: "internal", Message: "short"}
	if got := FitStatus(st, 100); got != st {
		t.Errorf("a status that fits changed: %+v", got)
	}
	got := FitStatus(Status{Code: "internal", Message: "aé\x01bcdefgh"}, len(`{"code":"internal","message":"aé\u0001…"}`))
	if got.Message != "aé\x01"+Ellipsis {
		t.Errorf("FitStatus = %q", got.Message)
	}
	got = FitStatus(Status{Code: Code(strings.Repeat("c", 70000)), Message: "m"}, 1000)
	if got.Code != "internal" || encodedLen(got) > 1000 {
		t.Errorf("a huge code: %q, %d bytes", got.Code[:min(20, len(got.Code))], encodedLen(got))
	}
	if got := FitStatus(Status{Code: "internal", Message: "long message"}, 10); got.Message != "" {
		t.Errorf("no room for a message: %+v", got)
	}
	// A cut message still says which verb answered in place of the one
	// asked for, and the whole still fits.
	limit := len(`{"code":"internal","message":"ab…","fallback":"upper"}`)
	got = FitStatus(Status{Code: "internal", Message: "abcdefgh", Fallback: "upper"}, limit)
	if got.Fallback != "upper" || got.Message != "ab"+Ellipsis || encodedLen(got) > limit {
		t.Errorf("a cut status with a fallback: %+v, %d bytes", got, encodedLen(got))
	}
}

// Other control messages are not cut: they would mean something else.
func TestMarshalRefusesLargeControl(t *testing.T) {
	big := strings.Repeat("x", DefaultMaxControl)
	for _, tc := range []struct {
		t   Type
		msg any
	}{
		{TypeResponse, Response{Meta: map[string]any{"v": big}}},
		{TypeRequest, Request{Verb: "put", Params: map[string]any{"path": big}}},
		{TypeHello, Hello{Protocol: big}},
		{TypeStatus, struct{ Code, Message string }{"x", big}}, // not a Status: cannot be cut
	} {
		if _, err := Marshal(tc.t, tc.msg); !errors.Is(err, ErrTooLarge) {
			t.Errorf("Marshal(%v, %d bytes) = %v, want ErrTooLarge", tc.t, len(big), err)
		}
	}
	// A pointer to a Status is cut like a Status.
	frame, err := Marshal(TypeStatus, &Status{Code: "x", Message: big})
	if err != nil || len(frame)-HeaderLen > DefaultMaxControl {
		t.Errorf("Marshal(*Status) = %d bytes, %v", len(frame), err)
	}
	// Exactly at the limit is fine.
	msg := big[:DefaultMaxControl-len(`{"code":"x","message":""}`)]
	frame, err = Marshal(TypeStatus, Status{Code: "x", Message: msg})
	if err != nil || len(frame)-HeaderLen != DefaultMaxControl {
		t.Fatalf("at the limit: %d bytes, %v", len(frame)-HeaderLen, err)
	}
	if f := readBack(t, frame); !bytes.Contains(f.Payload, []byte(msg)) {
		t.Error("a status at the limit was cut")
	}
}
