package sdk_test

import (
	"encoding/json"
	"reflect"
	"strings"
	"testing"
	"time"

	"github.com/selectftp/selectftp/sdk"
)

type params struct {
	Path   string   `mapstructure:"path"`
	Size   int64    `mapstructure:"size"`
	Force  bool     `mapstructure:"force"`
	Args   []string `mapstructure:"args"`
	Wait   time.Duration
	Hidden string // untagged: matched as "Hidden" or "hidden"
}

func TestDecode(t *testing.T) {
	req := &sdk.Request{
		Args: []string{"a.txt", "b"},
		Params: map[string]any{
			"path": "dir/f", "size": float64(1 << 40), "force": true,
			"wait": "1.5s", "hidden": "yes", "extra": "ignored",
		},
	}
	var p params
	if err := req.Decode(&p); err != nil {
		t.Fatal(err)
	}
	want := params{Path: "dir/f", Size: 1 << 40, Force: true, Args: []string{"a.txt", "b"}, Wait: 1500 * time.Millisecond, Hidden: "yes"}
	if !reflect.DeepEqual(p, want) {
		t.Errorf("Decode = %+v, want %+v", p, want)
	}
}

// Decoding is strict: each field takes only its own JSON type (item 10 of
// the hardening issue; decode_strict_test.go has the integer cases).
func TestDecodeNoWeakTyping(t *testing.T) {
	for _, in := range []map[string]any{
		{"size": "42"}, {"force": "true"}, {"path": 7}, {"path": json.Number("7")},
		{"path": true}, {"args": "one"}, {"force": 1},
	} {
		var p params
		err := (&sdk.Request{Params: in}).Decode(&p)
		if sdk.CodeOf(err) != sdk.CodeBadRequest {
			t.Errorf("Decode(%v) = %v, %+v; want bad_request", in, err, p)
		}
	}
}

func TestDecodeArgsParamWins(t *testing.T) {
	req := &sdk.Request{Args: []string{"typed"}, Params: map[string]any{"args": []any{"from", "params"}}}
	var p params
	if err := req.Decode(&p); err != nil {
		t.Fatal(err)
	}
	if !reflect.DeepEqual(p.Args, []string{"from", "params"}) {
		t.Errorf("Args = %q", p.Args)
	}
}

func TestDecodeWrongType(t *testing.T) {
	for _, in := range []map[string]any{
		{"size": "forty-two"},
		{"size": []any{1, 2}},
		{"force": map[string]any{"x": 1}},
	} {
		var p params
		err := (&sdk.Request{Params: in}).Decode(&p)
		if sdk.CodeOf(err) != sdk.CodeBadRequest {
			t.Errorf("Decode(%v): %v is %s, want bad_request", in, err, sdk.CodeOf(err))
			continue
		}
		for field := range in {
			if msg := sdk.MessageOf(err); !strings.Contains(msg, "'"+field+"'") {
				t.Errorf("Decode(%v): message %q does not name %q", in, msg, field)
			}
		}
	}
}

type settings struct {
	MaxSize int64         `mapstructure:"max_size"`
	Timeout time.Duration `mapstructure:"timeout"`
}

func TestDecodeSettings(t *testing.T) {
	var s settings
	if err := sdk.DecodeSettings(map[string]any{"max_size": float64(1024), "timeout": "2s"}, &s); err != nil {
		t.Fatal(err)
	}
	if s != (settings{MaxSize: 1024, Timeout: 2 * time.Second}) {
		t.Errorf("DecodeSettings = %+v", s)
	}
	if err := sdk.DecodeSettings(nil, &s); err != nil {
		t.Errorf("no settings: %v", err)
	}
}

func TestDecodeSettingsUnknownKey(t *testing.T) {
	var s settings
	err := sdk.DecodeSettings(map[string]any{"max_size": 1, "maxsize": 2}, &s)
	if err == nil || !strings.Contains(err.Error(), "maxsize") {
		t.Fatalf("DecodeSettings with a misspelt key: %v", err)
	}
	err = sdk.DecodeSettings(map[string]any{"max_size": "big"}, &s)
	if err == nil || !strings.Contains(err.Error(), "max_size") {
		t.Fatalf("DecodeSettings with a wrong type: %v", err)
	}
}

// JSON numbers arrive as float64; a fraction must not be dropped on its way
// into an integer, and the error is one line naming the field.
func TestDecodeRefusesFractions(t *testing.T) {
	var v struct {
		N int64 `mapstructure:"n"`
	}
	req := &sdk.Request{Params: map[string]any{"n": 1.5}}
	err := req.Decode(&v)
	if sdk.CodeOf(err) != sdk.CodeBadRequest || !strings.Contains(err.Error(), "'n' 1.5 is not a whole number") || strings.Contains(err.Error(), "\n") {
		t.Fatalf("Decode = %v", err)
	}
	req.Params["n"] = 2.0
	if err := req.Decode(&v); err != nil || v.N != 2 {
		t.Fatalf("Decode(2.0) = %v, %d", err, v.N)
	}
}

// A key in another case does not fill a field: the host's permission check
// reads declared names exactly, so "Path" must not name the file a command
// opens while the host checked the session's folder instead.
func TestDecodeKeysMatchExactly(t *testing.T) {
	req := &sdk.Request{Params: map[string]any{"Path": "/private/x", "FORCE": true, "HIDDEN": "no"}}
	var p params
	if err := req.Decode(&p); err != nil {
		t.Fatal(err)
	}
	if p.Path != "" || p.Force || p.Hidden != "" {
		t.Errorf("keys in another case filled fields: %+v", p)
	}
	var s struct {
		MaxSize int64 `mapstructure:"max_size"`
	}
	if err := sdk.DecodeSettings(map[string]any{"Max_Size": json.Number("5")}, &s); err == nil {
		t.Errorf("a setting in another case passed: %+v", s)
	}
}
