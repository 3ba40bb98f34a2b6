package plugside

import (
	"encoding/json"
	"testing"
)

// parseParams is what the plugin side should decode params with: a float64
// would turn a size of 2^62+1 into 2^62.
func TestParseParamsKeepsIntegers(t *testing.T) {
	m, err := parseParams([]byte(`{"size":4611686018427387905,"path":"a"}`))
	if err != nil {
		t.Fatal(err)
	}
	if m["size"] != json.Number("4611686018427387905") || m["path"] != "a" {
		t.Fatalf("parseParams = %#v", m)
	}
	for _, bad := range []string{`{"a":1} {}`, `[1]`, `{"a":`} {
		if _, err := parseParams([]byte(bad)); err == nil {
			t.Errorf("parseParams(%s) accepted", bad)
		}
	}
}
