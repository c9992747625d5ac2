package matrix

import (
	"bytes"
	"encoding/json"
	"fmt"
	"testing"
)

func TestAppendStringMatchesPython(t *testing.T) {
	tests := []struct{ in, want string }{
		{"plain", `"plain"`},
		{`a"b\c`, `"a\"b\\c"`},
		{"\n\r\t\b\f", `"\n\r\t\b\f"`},
		{"\x01\x1f\x7f", `"\u0001\u001f\u007f"`},
		{"é", `"\u00e9"`},
		{"日本", `"\u65e5\u672c"`},
		{"😀", `"\ud83d\ude00"`},
		{"<>&/", `"<>&/"`},
		{"\ufffd", `"\ufffd"`},
	}
	for _, tt := range tests {
		if got := string(appendString(nil, tt.in)); got != tt.want {
			t.Errorf("appendString(%q) = %s, want %s", tt.in, got, tt.want)
		}
		var back string
		if err := json.Unmarshal([]byte(tt.want), &back); err != nil || back != tt.in {
			t.Errorf("%s does not decode back to %q: %q, %v", tt.want, tt.in, back, err)
		}
	}
}

func TestWriteJSONEmptyIsBrackets(t *testing.T) {
	var b bytes.Buffer
	if err := WriteJSON(&b, []Row{}); err != nil {
		t.Fatal(err)
	}
	if b.String() != "[]\n" {
		t.Fatalf("got %q, want %q", b.String(), "[]\n")
	}
}

// Key orders A and B and the multi-node order (spec §5.1, §5.2, Q-1, Q-2).
func TestRowKeyOrders(t *testing.T) {
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
			got := string(AppendJSON(nil, []Row{tt.row}))
			if want := "[" + tt.want + "]"; got != want {
				t.Errorf("got\n%s\nwant\n%s", got, want)
			}
		})
	}
}

// Shard: consecutive chunks of at most n rows; no rows give no shards (not one empty
// shard, which would start a job on an empty matrix).
func TestShard(t *testing.T) {
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
		{0, 256, []int{}},
		{1, 256, []int{1}},
		{256, 256, []int{256}},
		{257, 256, []int{256, 1}},
		{5, 2, []int{2, 2, 1}},
		{3, 1, []int{1, 1, 1}},
		{3, 0, []int{1, 1, 1}},
	}
	for _, tt := range tests {
		got := Shard(rows(tt.rows), tt.n)
		if got == nil {
			t.Errorf("Shard(%d rows, %d) = nil, want an empty slice", tt.rows, tt.n)
		}
		sizes := []int{}
		next := int64(0)
		for _, s := range got {
			sizes = append(sizes, len(s))
			for _, r := range s {
				if r.Conc != next {
					t.Errorf("Shard(%d rows, %d): row %d out of order", tt.rows, tt.n, next)
				}
				next++
			}
		}
		if fmt.Sprint(sizes) != fmt.Sprint(tt.want) {
			t.Errorf("Shard(%d rows, %d) sizes %v, want %v", tt.rows, tt.n, sizes, tt.want)
		}
	}
}
