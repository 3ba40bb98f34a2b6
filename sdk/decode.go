package sdk

import (
	"fmt"

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
		DecodeHook:       mapstructure.StringToTimeDurationHookFunc(),
	})
	if err != nil {
		return err
	}
	return d.Decode(in)
}
