package sdk_test

import (
	"encoding/json"
	"math/big"
	"strings"
	"testing"
	"time"

	"github.com/selectftp/selectftp/protocol"
	"github.com/selectftp/selectftp/sdk"
)

// sizeParams is put's shape: an optional int64 size.
type sizeParams struct {
	Size *int64 `mapstructure:"size"`
}

// decodeSize decodes a request payload as the host does (protocol.DecodeRequest)
// and its params as put does.
func decodeSize(t testing.TB, payload string) (*int64, error) {
	q, err := protocol.DecodeRequest([]byte(payload))
	if err != nil {
		t.Fatalf("DecodeRequest(%s): %v", payload, err)
	}
	var p sizeParams
	err = (&sdk.Request{Params: q.Params}).Decode(&p)
	return p.Size, err
}

func TestDecodeIntegersStrict(t *testing.T) {
	bad := []struct{ json, msg string }{
		{`true`, "'size' got true, want an integer"},
		{`false`, "want an integer"},
		{`"0x10"`, `'size' got the string "0x10", want an integer`},
		{`"0"`, `got the string "0"`},
		{`"16"`, "want an integer"},
		{`""`, "want an integer"},
		{`9.3e18`, "'size' 9.3e18 is not a whole number"},
		{`9223372036854775808`, "'size' 9223372036854775808 is out of range for int64"},
		{`-9223372036854775809`, "out of range"},
		{`1e3`, "not a whole number"},
		{`1.5`, "not a whole number"},
		{`1.0`, "not a whole number"},
		{`[1]`, "'size'"},
		{`{"n":1}`, "'size'"},
	}
	for _, tt := range bad {
		size, err := decodeSize(t, `{"verb":"put","params":{"size":`+tt.json+`}}`)
		if sdk.CodeOf(err) != sdk.CodeBadRequest || !strings.Contains(sdk.MessageOf(err), tt.msg) {
			t.Errorf("size %s: got %v (size %v), want bad_request saying %q", tt.json, err, size, tt.msg)
		}
	}
	good := []struct {
		json string
		want int64
	}{
		{`0`, 0}, {`-0`, 0}, {`1`, 1}, {`-1`, -1},
		{`4611686018427387904`, 1 << 62},
		{`4611686018427387905`, 1<<62 + 1}, // not a float64: kept exactly
		{`9223372036854775807`, 1<<63 - 1},
		{`-9223372036854775808`, -1 << 63},
	}
	for _, tt := range good {
		size, err := decodeSize(t, `{"verb":"put","params":{"size":`+tt.json+`}}`)
		if err != nil || size == nil || *size != tt.want {
			t.Errorf("size %s: got %v, %v; want %d", tt.json, size, err, tt.want)
		}
	}
	if size, err := decodeSize(t, `{"verb":"put","params":{"size":null}}`); err != nil || size != nil {
		t.Errorf("size null: %v, %v", size, err)
	}
}

// Go values, as sdktest and in-process callers pass them, and float64 as
// encoding/json makes without UseNumber.
func TestDecodeIntegerKinds(t *testing.T) {
	type all struct {
		I8  int8
		U8  uint8
		U16 uint16
		I32 int32
		U   uint
		I64 int64
		U64 uint64
	}
	good := []map[string]any{
		{"i8": -128, "u8": 255, "u16": 65535, "i32": int64(-1 << 31), "u": uint8(7), "i64": float64(1 << 62), "u64": json.Number("18446744073709551615")},
		{"i8": float64(127), "u8": json.Number("0"), "u64": uint64(1 << 63), "i64": uint32(5)},
	}
	for _, in := range good {
		var v all
		if err := (&sdk.Request{Params: in}).Decode(&v); err != nil {
			t.Errorf("Decode(%v): %v", in, err)
		}
	}
	if v := (all{}); (&sdk.Request{Params: good[0]}).Decode(&v) == nil && (v.U64 != 1<<64-1 || v.I8 != -128 || v.I64 != 1<<62) {
		t.Errorf("Decode = %+v", v)
	}
	bad := []map[string]any{
		{"i8": 128}, {"i8": float64(-129)}, {"u8": 256}, {"u8": -1}, {"u8": json.Number("-1")},
		{"u16": float64(65536)}, {"i32": int64(1 << 31)}, {"u": -1}, {"u": float64(-1)},
		{"i64": float64(1 << 63)}, {"i64": uint64(1 << 63)}, {"i64": 9.3e18}, {"u64": float64(1 << 64)},
		{"i64": 0.5}, {"u64": json.Number("18446744073709551616")},
	}
	for _, in := range bad {
		var v all
		if err := (&sdk.Request{Params: in}).Decode(&v); sdk.CodeOf(err) != sdk.CodeBadRequest {
			t.Errorf("Decode(%v) = %v, %+v; want bad_request", in, err, v)
		}
	}
}

func TestDecodeOtherTypes(t *testing.T) {
	var v struct {
		F    float64
		Wait time.Duration
		Raw  json.Number
		Any  any
	}
	in := map[string]any{"f": json.Number("2.5"), "wait": "1.5s", "raw": json.Number("1e400"), "any": json.Number("12")}
	if err := (&sdk.Request{Params: in}).Decode(&v); err != nil {
		t.Fatal(err)
	}
	if v.F != 2.5 || v.Wait != 1500*time.Millisecond || v.Raw != "1e400" || v.Any != json.Number("12") {
		t.Errorf("Decode = %+v", v)
	}
	for _, in := range []map[string]any{{"f": json.Number("1e400")}, {"wait": "soon"}, {"f": "2.5"}} {
		if err := (&sdk.Request{Params: in}).Decode(&v); sdk.CodeOf(err) != sdk.CodeBadRequest {
			t.Errorf("Decode(%v) = %v, want bad_request", in, err)
		}
	}
}

// FuzzDecodeSize: whatever the request says, a size that Decode accepts is
// exactly the integer written in the JSON, and anything else is a
// bad_request.
func FuzzDecodeSize(f *testing.F) {
	for _, s := range []string{"0", "1", "4611686018427387904", "9223372036854775807", "-1",
		"true", `"0x10"`, `"0"`, "9.3e18", "1.5", "1e3", "null", "[]", `{"a":1}`, "-0", "1E2"} {
		f.Add(`{"verb":"put","params":{"path":"a.txt","size":` + s + `,"sha256":"00"}}`)
	}
	f.Fuzz(func(t *testing.T, payload string) {
		q, err := protocol.DecodeRequest([]byte(payload))
		if err != nil {
			return
		}
		var p sizeParams
		err = (&sdk.Request{Params: q.Params}).Decode(&p)
		if err != nil {
			if sdk.CodeOf(err) != sdk.CodeBadRequest || strings.Contains(err.Error(), "\n") {
				t.Fatalf("Decode error %v: want a one-line bad_request", err)
			}
			return
		}
		if p.Size == nil {
			return
		}
		raw, ok := q.Params["size"].(json.Number)
		if !ok {
			for k, v := range q.Params {
				if strings.EqualFold(k, "size") {
					raw, ok = v.(json.Number)
				}
			}
		}
		want, exact := new(big.Int).SetString(string(raw), 10)
		if !ok || !exact || want.Cmp(big.NewInt(*p.Size)) != 0 {
			t.Fatalf("size %v (from %#v) decoded as %d", raw, q.Params["size"], *p.Size)
		}
	})
}
