package result

import (
	"encoding/json"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

func TestFingerprintKey(t *testing.T) {
	t.Parallel()
	base := NewFingerprint("launch", "img:1", json.RawMessage(`{"b": 1, "a": "inf"}`), "b200", "src:1")
	// A tool that reads the manifest and writes it again (keys sorted, indented) keeps the key.
	m := Manifest{Fingerprint: &base}
	b, err := json.Marshal(m)
	require.NoError(t, err)
	var generic map[string]any
	require.NoError(t, json.Unmarshal(b, &generic))
	b, err = json.MarshalIndent(generic, "", "    ")
	require.NoError(t, err)
	var back Manifest
	require.NoError(t, json.Unmarshal(b, &back))
	assert.Equal(t, base.Key, back.Fingerprint.ComputeKey())

	for _, tc := range []struct {
		what string
		f    Fingerprint
	}{
		{"launch", NewFingerprint("launch2", "img:1", json.RawMessage(`{"a": "inf", "b": 1}`), "b200", "src:1")},
		{"client", NewFingerprint("launch", "img:1", json.RawMessage(`{"a": "inf", "b": 2}`), "b200", "src:1")},
		{"runner type", NewFingerprint("launch", "img:1", json.RawMessage(`{"a": "inf", "b": 1}`), "h200", "src:1")},
		{"agent", NewFingerprint("launch", "img:1", json.RawMessage(`{"a": "inf", "b": 1}`), "b200", "src:2")},
	} {
		assert.NotEqual(t, base.Key, tc.f.Key, tc.what)
	}
	same := NewFingerprint("launch", "img:1", json.RawMessage(`{"a":"inf","b":1}`), "b200", "src:1")
	assert.Equal(t, base.Key, same.Key, "the client's key order does not matter")
	same.ImageDigest = "sha256:x"
	assert.Equal(t, base.Key, same.ComputeKey(), "the digest is recorded beside the key, not in it")
}
