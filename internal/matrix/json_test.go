package matrix

import (
	"bytes"
	"encoding/json"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// Strings are escaped as Python's json.dumps escapes them with ensure_ascii.
func TestAppendStringMatchesPython(t *testing.T) {
	t.Parallel()
	tests := []struct{ in, want string }{
		{in: "plain", want: `"plain"`},
		{in: `a"b\c`, want: `"a\"b\\c"`},                   // quote and backslash escaped
		{in: "\n\r\t\b\f", want: `"\n\r\t\b\f"`},           // short escapes
		{in: "\x01\x1f\x7f", want: `"\u0001\u001f\u007f"`}, // other controls and DEL as \u
		{in: "é", want: `"\u00e9"`},                        // non-ASCII as \u
		{in: "日本", want: `"\u65e5\u672c"`},                 // one \u per rune
		{in: "😀", want: `"\ud83d\ude00"`},                  // beyond the BMP: a surrogate pair
		{in: "<>&/", want: `"<>&/"`},                       // not HTML-escaped, '/' kept
		{in: "\ufffd", want: `"\ufffd"`},                   // the replacement character itself
	}
	for _, tt := range tests {
		assert.Equal(t, tt.want, string(appendString(nil, tt.in)), "appendString(%q)", tt.in)
		var back string
		if assert.NoError(t, json.Unmarshal([]byte(tt.want), &back), tt.want) {
			assert.Equal(t, tt.in, back, "%s does not decode back", tt.want)
		}
	}
}

func TestWriteJSONEmptyIsBrackets(t *testing.T) {
	t.Parallel()
	var b bytes.Buffer
	require.NoError(t, WriteJSON(&b, []Row{}))
	assert.Equal(t, "[]\n", b.String())
}

// Key orders A and B and the multi-node order (docs/generator.md#rows,
// docs/generator.md#quirk-key-order, docs/generator.md#quirk-worker-blocks).
func TestRowKeyOrders(t *testing.T) {
	t.Parallel()
	m, r := fixture(t)
	sweep, _ := TestConfig(m, nil, TestConfigOptions{Keys: []string{"sn", "mn"}})
	rms, _ := RunnerModelSweep(m, r, RunnerModelOptions{RunnerType: "gb200", Kind: MultiNode})
	rss, _ := RunnerModelSweep(m, r, RunnerModelOptions{RunnerType: "h100", Kind: SingleNode})
	tests := []struct {
		name string
		row  Row
		want string
	}{
		{"single A", sweep[0], `{"image": "img", "model": "m", "model-prefix": "mp", "precision": "fp8", "framework": "vllm", "runner": "h100", "isl": 1024, "osl": 8192, "tp": 2, "conc": 4, "max-model-len": 9416, "ep": 1, "dp-attn": false, "spec-decoding": "none", "exp-name": "mp_1k8k", "disagg": false, "run-eval": false}`},
		{"single B", rss[0], `{"image": "img", "model": "m", "model-prefix": "mp", "precision": "fp8", "framework": "vllm", "runner": "h100-a_0", "isl": 1024, "osl": 1024, "tp": 4, "ep": 1, "dp-attn": true, "spec-decoding": "none", "conc": 4, "max-model-len": 2048, "exp-name": "mp_test", "disagg": false, "run-eval": false}`},
		{"multi verbatim", sweep[len(sweep)-2], `{"image": "img-mn", "model": "m", "model-prefix": "mp", "precision": "fp4", "framework": "dynamo-trt", "runner": "gb200", "isl": 1024, "osl": 1024, "spec-decoding": "none", "prefill": {"tp": 4, "num-worker": 1, "ep": 4, "dp-attn": true}, "decode": {"num-worker": 1, "tp": 8, "ep": 8, "dp-attn": false, "additional-settings": ["A=1"]}, "conc": [64, 16], "max-model-len": 2248, "exp-name": "mp_1k1k", "disagg": true, "run-eval": false}`},
		{"multi verbatim null and empty settings", sweep[len(sweep)-1], `{"image": "img-mn", "model": "m", "model-prefix": "mp", "precision": "fp4", "framework": "dynamo-trt", "runner": "gb200", "isl": 1024, "osl": 1024, "spec-decoding": "mtp", "prefill": {"num-worker": 2, "tp": 4, "ep": 4, "dp-attn": true, "additional-settings": null}, "decode": {"num-worker": 1, "tp": 8, "ep": 8, "dp-attn": false, "additional-settings": []}, "conc": [4, 8, 16], "max-model-len": 2248, "exp-name": "mp_1k1k", "disagg": true, "run-eval": false}`},
		{"multi rebuilt", rms[0], `{"image": "img-mn", "model": "m", "model-prefix": "mp", "precision": "fp4", "framework": "dynamo-trt", "runner": "gb200-a_0", "isl": 1024, "osl": 1024, "spec-decoding": "none", "prefill": {"num-worker": 1, "tp": 4, "ep": 4, "dp-attn": true, "additional-settings": []}, "decode": {"num-worker": 1, "tp": 8, "ep": 8, "dp-attn": false, "additional-settings": ["A=1"]}, "conc": [16], "max-model-len": 2048, "exp-name": "mp_test", "disagg": true, "run-eval": false}`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			assert.Equal(t, "["+tt.want+"]", string(AppendJSON(nil, []Row{tt.row})))
		})
	}
}

// Shard: consecutive chunks of at most n rows; no rows give no shards (not one empty
// shard, which would start a job on an empty matrix).
func TestShard(t *testing.T) {
	t.Parallel()
	rows := func(k int) []Row {
		r := make([]Row, k)
		for i := range r {
			r[i].Conc = int64(i)
		}
		return r
	}
	tests := []struct {
		rows, n int
		want    []int // rows per shard
	}{
		{rows: 0, n: 256, want: []int{}}, // no shards, not one empty shard
		{rows: 1, n: 256, want: []int{1}},
		{rows: 256, n: 256, want: []int{256}}, // exactly full
		{rows: 257, n: 256, want: []int{256, 1}},
		{rows: 5, n: 2, want: []int{2, 2, 1}},
		{rows: 3, n: 1, want: []int{1, 1, 1}},
		{rows: 3, n: 0, want: []int{1, 1, 1}}, // n < 1 means one row per shard
	}
	for _, tt := range tests {
		got := Shard(rows(tt.rows), tt.n)
		assert.NotNil(t, got, "Shard(%d rows, %d) = nil, want an empty slice", tt.rows, tt.n)
		sizes := []int{}
		next := int64(0)
		for _, s := range got {
			sizes = append(sizes, len(s))
			for _, r := range s {
				assert.Equal(t, next, r.Conc, "Shard(%d rows, %d): row out of order", tt.rows, tt.n)
				next++
			}
		}
		assert.Equal(t, tt.want, sizes, "Shard(%d rows, %d) sizes", tt.rows, tt.n)
	}
}
