package sdk

import (
	"bytes"
	"encoding/json"
	"testing"
)

// FuzzDecode feeds Decode params objects as a client sends them (JSON,
// numbers kept exact as the plugin runtime keeps them), seeded with the
// parameter maps the standard verbs take. Decode must return a value or an
// error, never panic, and a value it accepts must keep exact integers.
func FuzzDecode(f *testing.F) {
	for _, seed := range []string{
		`{"path":"a.txt","size":11,"sha256":"c0535e4be2b79ffd93291305436bf889314e4a3faec05ecffcbb7df31ad9e51a"}`,
		`{"path":"dir/b.bin","size":4611686018427387905,"sha256":"00","mode":420}`,
		`{"path":"x","offset":3,"length":1099511627776}`,
		`{"path":"x","size":-1}`,
		`{"path":"x","size":1.5}`,
		`{"path":"x","size":"12"}`,
		`{"path":null,"extra":[1,{"a":true}]}`,
		`{}`,
	} {
		f.Add([]byte(seed))
	}
	f.Fuzz(func(t *testing.T, p []byte) {
		var m map[string]any
		d := json.NewDecoder(bytes.NewReader(p))
		d.UseNumber()
		if d.Decode(&m) != nil {
			return
		}
		var v struct {
			Path   string
			Size   int64
			Offset int64
			Length int64
			SHA256 string `mapstructure:"sha256"`
			Mode   uint32
		}
		if err := (&Request{Params: m}).Decode(&v); err != nil {
			return
		}
		if n, ok := m["size"].(json.Number); ok {
			if want, err := n.Int64(); err == nil && want != v.Size {
				t.Fatalf("size %s decoded as %d", n, v.Size)
			}
		}
	})
}
