package pyjson

import (
	"encoding/json"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	_ "github.com/inferbench/inferbench/internal/testkit" // defines -update, so `go test ./... -update` runs here too
)

// The expectations are Python's json.dumps output for the same values.
func TestAppendString(t *testing.T) {
	t.Parallel()
	for in, want := range map[string]string{
		"plain text":         `"plain text"`,
		`q"b\s`:              `"q\"b\\s"`,
		"\n\r\t\b\f\x01\x7f": `"\n\r\t\b\f\u0001\u007f"`,
		"é and 🚀":            `"\u00e9 and \ud83d\ude80"`,
		"":                   `""`,
	} {
		assert.Equal(t, want, string(AppendString(nil, in)), in)
	}
}

// json.dumps(v, sort_keys=True, separators=(",", ":"), ensure_ascii=True).
func TestAppendSorted(t *testing.T) {
	t.Parallel()
	got, err := AppendSorted(nil, json.RawMessage(`{"b": [1, {"z": null, "a": true}], "a": "é", "c": 2.5}`))
	require.NoError(t, err)
	assert.Equal(t, `{"a":"\u00e9","b":[1,{"a":true,"z":null}],"c":2.5}`, string(got))
	_, err = AppendSorted(nil, json.RawMessage(`{`))
	assert.Error(t, err)
}
