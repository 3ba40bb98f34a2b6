package sdk

import (
	"encoding/json"
	"errors"
	"fmt"
	"math"
	"reflect"
	"strconv"
	"strings"
	"time"

	"github.com/go-viper/mapstructure/v2"
)

// Decode fills the struct v from the request's Params, with the words after
// the verb available under the key "args". Field names match keys
// by `mapstructure:"key"` tags exactly, or, untagged, by the field's name
// exactly or in lower case ("wait" fills Wait). Never by another case:
// "Path" does not fill a field tagged "path", because the host's permission
// check (Description.Access) reads the declared names exactly, and a key it
// did not read must not name the file the command acts on. Decoding is strict:
// an integer field takes only a JSON integer within its type's range (not
// true, "16", "0x10", 1.5 or 9.3e18), a string field only a string, a bool
// only a bool; a time.Duration takes a string such as "1.5s". A value of the
// wrong shape is a bad_request error that names the field.
func (r *Request) Decode(v any) error {
	in := make(map[string]any, len(r.Params)+1)
	for k, val := range r.Params {
		in[k] = val
	}
	if _, ok := in["args"]; !ok {
		in["args"] = r.Args
	}
	if err := decode(in, v, false); err != nil {
		return Errorf(CodeBadRequest, "invalid request parameters: %v", err)
	}
	return nil
}

// DecodeSettings fills the struct v from plugin settings, as strictly as
// Decode does, and an unknown key is an error too: a misspelt setting
// should not pass silently.
func DecodeSettings(settings map[string]any, v any) error {
	if err := decode(settings, v, true); err != nil {
		return fmt.Errorf("invalid settings: %w", err)
	}
	return nil
}

func decode(in map[string]any, v any, unknownKeys bool) error {
	d, err := mapstructure.NewDecoder(&mapstructure.DecoderConfig{
		Result:      v,
		ErrorUnused: unknownKeys,
		DecodeHook:  strictTypes,
		MatchName:   matchName,
	})
	if err != nil {
		return err
	}
	if err := d.Decode(in); err != nil {
		return errors.New(oneLine(err.Error()))
	}
	return nil
}

// matchName is Decode's key rule: the tag (or field name) exactly, or an
// untagged field's name in lower case; mapstructure would otherwise match
// any case.
func matchName(key, field string) bool {
	return key == field || key == strings.ToLower(field)
}

// oneLine turns mapstructure's multi-line error list into one line, as
// clients show errors.
func oneLine(msg string) string {
	msg = strings.TrimPrefix(msg, "decoding failed due to the following error(s):")
	var parts []string
	for _, l := range strings.Split(msg, "\n") {
		if l = strings.TrimSpace(strings.TrimPrefix(strings.TrimSpace(l), "* ")); l != "" {
			parts = append(parts, l)
		}
	}
	return strings.Join(parts, "; ")
}

var (
	durationType   = reflect.TypeFor[time.Duration]()
	jsonNumberType = reflect.TypeFor[json.Number]()
)

// strictTypes is the decode hook behind Decode and DecodeSettings. It
// converts what mapstructure would get wrong or accept loosely: integers
// arrive as json.Number (from the wire) or float64 (from encoding/json
// without UseNumber, or Go callers), and must land in the target exactly.
func strictTypes(_ reflect.Type, to reflect.Type, data any) (any, error) {
	if data == nil {
		return nil, nil
	}
	if to == durationType {
		if s, ok := data.(string); ok {
			return time.ParseDuration(s)
		}
	}
	num, isNum := data.(json.Number)
	switch to.Kind() {
	case reflect.Int, reflect.Int8, reflect.Int16, reflect.Int32, reflect.Int64,
		reflect.Uint, reflect.Uint8, reflect.Uint16, reflect.Uint32, reflect.Uint64, reflect.Uintptr:
		return toInteger(data, to)
	case reflect.String:
		if isNum && to != jsonNumberType {
			return nil, fmt.Errorf("got the number %s, want a string", num)
		}
	case reflect.Float32, reflect.Float64:
		if isNum {
			f, err := strconv.ParseFloat(string(num), to.Bits())
			if err != nil {
				return nil, fmt.Errorf("%s is out of range", num)
			}
			return reflect.ValueOf(f).Convert(to).Interface(), nil
		}
	}
	return data, nil
}

// toInteger converts a decoded JSON (or Go) number to the integer type to,
// refusing anything that is not a whole number within its range.
func toInteger(data any, to reflect.Type) (any, error) {
	out := reflect.New(to).Elem()
	signed := out.CanInt()
	v := reflect.ValueOf(data)
	switch {
	case v.CanInt():
		i := v.Int()
		if signed && !out.OverflowInt(i) {
			out.SetInt(i)
		} else if !signed && i >= 0 && !out.OverflowUint(uint64(i)) {
			out.SetUint(uint64(i))
		} else {
			return nil, outOfRange(data, to)
		}
	case v.CanUint():
		u := v.Uint()
		if signed && u <= math.MaxInt64 && !out.OverflowInt(int64(u)) {
			out.SetInt(int64(u))
		} else if !signed && !out.OverflowUint(u) {
			out.SetUint(u)
		} else {
			return nil, outOfRange(data, to)
		}
	case v.CanFloat():
		return floatToInteger(v.Float(), out)
	case v.Type() == jsonNumberType:
		return numberToInteger(data.(json.Number), out)
	case v.Kind() == reflect.Bool:
		return nil, fmt.Errorf("got %v, want an integer", data)
	case v.Kind() == reflect.String:
		return nil, fmt.Errorf("got the string %q, want an integer", data)
	default:
		return data, nil // mapstructure names the mismatch
	}
	return out.Interface(), nil
}

// floatToInteger takes a float64 as an integer only if it is whole and
// fits: the float64 conversion would otherwise wrap 9.3e18 to a negative
// number.
func floatToInteger(f float64, out reflect.Value) (any, error) {
	if f != math.Trunc(f) || math.IsInf(f, 0) {
		return nil, fmt.Errorf("%v is not a whole number", f)
	}
	bits := out.Type().Bits()
	if out.CanInt() {
		// -2^(bits-1) <= f < 2^(bits-1), in exactly representable bounds.
		if f < -math.Ldexp(1, bits-1) || f >= math.Ldexp(1, bits-1) {
			return nil, outOfRange(f, out.Type())
		}
		out.SetInt(int64(f))
	} else {
		if f < 0 || f >= math.Ldexp(1, bits) {
			return nil, outOfRange(f, out.Type())
		}
		out.SetUint(uint64(f))
	}
	return out.Interface(), nil
}

// numberToInteger takes a JSON number as an integer only if it is written
// as one: 1.0 and 1e3 are refused rather than rounded or guessed at.
func numberToInteger(n json.Number, out reflect.Value) (any, error) {
	if strings.ContainsAny(string(n), ".eE") {
		return nil, fmt.Errorf("%s is not a whole number", n)
	}
	bits := out.Type().Bits()
	if out.CanInt() {
		i, err := strconv.ParseInt(string(n), 10, bits)
		if err != nil {
			return nil, outOfRange(n, out.Type())
		}
		out.SetInt(i)
	} else {
		u, err := strconv.ParseUint(string(n), 10, bits)
		if err != nil {
			return nil, outOfRange(n, out.Type())
		}
		out.SetUint(u)
	}
	return out.Interface(), nil
}

func outOfRange(v any, to reflect.Type) error {
	return fmt.Errorf("%v is out of range for %v", v, to)
}
