package upper

import (
	"bytes"
	"context"
	"errors"
	"io"
	"strings"
	"testing"
	"testing/iotest"
	"unicode/utf8"

	"github.com/selectftp/selectftp/internal/readme"
	"github.com/selectftp/selectftp/sdk"
	"github.com/selectftp/selectftp/sdk/sdktest"
)

// both runs f in-process and through the plugin transport.
// both runs f on every transport a host may use (sdktest.Each).
func both(t *testing.T, f func(t *testing.T, cmd sdk.Command)) { sdktest.Each(t, New(), f) }

func TestDescribe(t *testing.T) {
	d := New().Describe()
	if d.Verb != "upper" || d.Summary == "" || strings.Contains(d.Summary, "\n") ||
		!strings.HasPrefix(d.Usage, "usage: upper") || !strings.HasSuffix(d.Usage, "\n") {
		t.Errorf("Describe = %+v", d)
	}
}

func TestWords(t *testing.T) {
	tests := []struct {
		args []string
		want string
	}{
		{[]string{"hello", "world"}, "HELLO WORLD\n"},
		{[]string{"hello"}, "HELLO\n"},
		{[]string{"héllo", "wörld", "ǆ", "straße"}, "HÉLLO WÖRLD Ǆ STRAßE\n"},
		{[]string{"Mixed CASE 123", ""}, "MIXED CASE 123 \n"},
	}
	both(t, func(t *testing.T, cmd sdk.Command) {
		for _, tt := range tests {
			res := sdktest.Run(t, cmd, sdktest.Request{Args: tt.args, Body: strings.NewReader("ignored")})
			if res.Err != nil || string(res.Body) != tt.want {
				t.Errorf("upper %q = %q, %v; want %q", tt.args, res.Body, res.Err, tt.want)
			}
		}
	})
}

// The host sends unknown verbs to upper with the client's word first.
func TestFallback(t *testing.T) {
	both(t, func(t *testing.T, cmd sdk.Command) {
		res := sdktest.Run(t, cmd, sdktest.Request{Verb: "upper", Args: []string{"hello", "world"}})
		if string(res.Body) != "HELLO WORLD\n" || res.Err != nil {
			t.Errorf("got %q, %v", res.Body, res.Err)
		}
	})
}

// text has multi-byte runes, invalid bytes and a truncated sequence at the
// end, so every chunk boundary a reader makes is tested.
var text = []byte("ascii héllo wörld ǆ ﬁ 日本語 \xff\xfe broken \xe6\x97 then ok 𝔞𝔟 ɐ\n" +
	strings.Repeat("ünïcödé ", 20000) + "end \xe6\x97")

func TestBody(t *testing.T) {
	want := bytes.ToUpper(text)
	readers := map[string]func() io.Reader{
		"whole":    func() io.Reader { return bytes.NewReader(text) },
		"one byte": func() io.Reader { return iotest.OneByteReader(bytes.NewReader(text)) },
		"half":     func() io.Reader { return iotest.HalfReader(bytes.NewReader(text)) },
		"data+err": func() io.Reader { return iotest.DataErrReader(bytes.NewReader(text)) },
	}
	for name, r := range readers {
		t.Run(name, func(t *testing.T) {
			var out bytes.Buffer
			if err := upperStream(t.Context(), &out, r()); err != nil {
				t.Fatal(err)
			}
			if !bytes.Equal(out.Bytes(), want) {
				t.Errorf("output differs from bytes.ToUpper of the whole input (%d vs %d bytes)", out.Len(), len(want))
			}
		})
	}
	both(t, func(t *testing.T, cmd sdk.Command) {
		res := sdktest.Run(t, cmd, sdktest.Request{Body: iotest.HalfReader(bytes.NewReader(text))})
		if res.Err != nil || !bytes.Equal(res.Body, want) {
			t.Errorf("upper with a body: %d bytes, %v", len(res.Body), res.Err)
		}
		res = sdktest.Run(t, cmd, sdktest.Request{})
		if res.Err != nil || len(res.Body) != 0 {
			t.Errorf("upper with no words and no body: %q, %v", res.Body, res.Err)
		}
	})
}

func TestBodyError(t *testing.T) {
	boom := errors.New("boom")
	var out bytes.Buffer
	err := upperStream(t.Context(), &out, io.MultiReader(strings.NewReader("ok"), iotest.ErrReader(boom)))
	if !errors.Is(err, boom) || out.String() != "OK" {
		t.Errorf("got %q, %v", out.String(), err)
	}
	ctx, cancel := context.WithCancel(t.Context())
	cancel()
	if err := upperStream(ctx, &out, strings.NewReader("x")); !errors.Is(err, context.Canceled) {
		t.Errorf("cancelled: %v", err)
	}
}

func TestCompleteRunes(t *testing.T) {
	euro := "€" // 3 bytes
	tests := []struct {
		in   string
		want int
	}{
		{"", 0},
		{"abc", 3},
		{"a" + euro, 4},
		{"a" + euro[:1], 1},
		{"a" + euro[:2], 1},
		{"\xff", 1},
		{"a\x80\x80\x80", 4}, // stray continuation bytes: nothing to wait for
		{"𝔞"[:3], 0},
	}
	for _, tt := range tests {
		if got := completeRunes([]byte(tt.in)); got != tt.want {
			t.Errorf("completeRunes(%q) = %d, want %d", tt.in, got, tt.want)
		}
		if got := completeRunes([]byte(tt.in)); got < len(tt.in) && utf8.FullRune([]byte(tt.in[got:])) {
			t.Errorf("completeRunes(%q) held back a full rune", tt.in)
		}
	}
}

func TestReadme(t *testing.T) {
	readme.Check(t, New(), true)
}
