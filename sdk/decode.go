package sdk

import (
	"errors"
	"fmt"
	"math"
	"reflect"
	"strings"

	"github.com/go-viper/mapstructure/v2"
)

// Decode fills the struct v from the request's Params, with the words after
// the verb available under the key "args". Field names match keys
// case-insensitively, or by `mapstructure:"key"` tags; strings such as "42"
// convert to numbers. A value of the wrong shape is a bad_request error that
// names the field.
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

// DecodeSettings fills the struct v from plugin settings, as Decode does,
// but an unknown key is an error: a misspelt setting should not pass
// silently.
func DecodeSettings(settings map[string]any, v any) error {
	if err := decode(settings, v, true); err != nil {
		return fmt.Errorf("invalid settings: %w", err)
	}
	return nil
}

func decode(in map[string]any, v any, strict bool) error {
	d, err := mapstructure.NewDecoder(&mapstructure.DecoderConfig{
		Result:           v,
		WeaklyTypedInput: true,
		ErrorUnused:      strict,
		DecodeHook: mapstructure.ComposeDecodeHookFunc(
			mapstructure.StringToTimeDurationHookFunc(), wholeNumbers),
	})
	if err != nil {
		return err
	}
	if err := d.Decode(in); err != nil {
		return errors.New(oneLine(err.Error()))
	}
	return nil
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

// wholeNumbers refuses a fraction where an integer is wanted: JSON numbers
// arrive as float64, and mapstructure would drop the fraction silently
// (a size of 1.5 would become 1).
func wholeNumbers(from, to reflect.Kind, data any) (any, error) {
	f, ok := data.(float64)
	if !ok || from != reflect.Float64 {
		return data, nil
	}
	switch to {
	case reflect.Int, reflect.Int8, reflect.Int16, reflect.Int32, reflect.Int64,
		reflect.Uint, reflect.Uint8, reflect.Uint16, reflect.Uint32, reflect.Uint64:
		if f != math.Trunc(f) {
			return nil, fmt.Errorf("%v is not a whole number", f)
		}
	}
	return data, nil
}
