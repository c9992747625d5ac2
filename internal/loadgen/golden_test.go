package loadgen

import (
	"bytes"
	"encoding/json"
	"math"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/inferbench/inferbench/internal/result"
	"github.com/inferbench/inferbench/internal/testkit"
)

// goldenOutcome is a small fixed run: two successes (one with 4-token chunks), a failure,
// a response without usage and a short output.
func goldenOutcome() *Outcome {
	cfg := DefaultConfig()
	cfg.BaseURL, cfg.Model, cfg.InputLen, cfg.OutputLen = "http://127.0.0.1:8000", "org/model", 16, 8
	cfg.NumPrompts, cfg.MaxConcurrency, cfg.NumWarmups = 5, 2, 4
	cfg.Normalize()
	ms := time.Millisecond
	ch := func(at ...time.Duration) []Chunk {
		var out []Chunk
		for _, a := range at {
			out = append(out, Chunk{At: a, Tokens: 1})
		}
		return out
	}
	recs := []Record{
		{Index: 0, ID: "bench-0", PromptLen: 16, MaxTokens: 8, Sent: 1 * ms, Headers: 2 * ms, End: 40 * ms, Status: 200,
			Chunks: ch(11*ms, 15*ms, 19*ms, 23*ms, 27*ms, 31*ms, 35*ms, 39*ms), OutputTokens: 8, ServerPromptTokens: 16},
		{Index: 1, ID: "bench-1", PromptLen: 14, MaxTokens: 8, Sent: 1 * ms, Headers: 2 * ms, End: 30 * ms, Status: 200,
			Chunks: []Chunk{{12 * ms, 1}, {20 * ms, 4}, {28 * ms, 3}}, OutputTokens: 8, ServerPromptTokens: 14},
		{Index: 2, ID: "bench-2", PromptLen: 13, MaxTokens: 7, Eligible: 40 * ms, Sent: 41 * ms, End: 42 * ms, Status: 500,
			Error: "HTTP 500 Internal Server Error: boom"},
		{Index: 3, ID: "bench-3", PromptLen: 15, MaxTokens: 8, Eligible: 30 * ms, Sent: 30 * ms, Headers: 31 * ms, End: 60 * ms, Status: 200,
			Chunks: ch(40*ms, 50*ms, 60*ms), OutputTokens: 3, UsageMissing: true, TokensSpread: true, ReadLag: 2 * ms},
		{Index: 4, ID: "bench-4", PromptLen: 16, MaxTokens: 8, Eligible: 42 * ms, Sent: 43 * ms, End: 70 * ms, Status: 200,
			Chunks: ch(53*ms, 69*ms), OutputTokens: 4, ServerPromptTokens: 16, Short: true},
	}
	start := time.Date(2026, 2, 9, 12, 0, 0, 0, time.UTC)
	o := &Outcome{Config: cfg, Start: start, End: start.Add(100 * ms), Duration: 100 * ms, Records: recs, Warmups: 4,
		ClientCPU: 5 * ms}
	o.Metrics = Aggregate(&o.Config, recs, o.Duration, o.ClientCPU)
	return o
}

func TestGoldenRawResult(t *testing.T) {
	dir := t.TempDir()
	o := goldenOutcome()
	paths, err := WriteResults(dir, "bench_result", o)
	require.NoError(t, err)
	assert.Equal(t, "bench_result.json", filepath.Base(paths.Raw))
	assert.Equal(t, "bench_result.requests.jsonl", filepath.Base(paths.Requests))
	raw, err := o.MarshalRaw(time.UTC, "bench_result.requests.jsonl")
	require.NoError(t, err)
	written, _ := os.ReadFile(paths.Raw)
	assert.Equal(t, string(raw), string(bytes.ReplaceAll(written, []byte(`"date": "`+o.End.Local().Format("20060102-150405")), []byte(`"date": "20260209-120000`))), "WriteResults and MarshalRaw disagree")
	jsonl, _ := os.ReadFile(paths.Requests)
	golden(t, "raw.golden.json", append(indent(t, raw), '\n'))
	golden(t, "requests.golden.jsonl", jsonl)

	// The reference's keys come first, in the reference's order (with the p90/p99.9
	// percentiles of the later default; docs/measurement.md#raw-result).
	var ref []string
	for _, k := range []string{"date", "backend", "model_id", "tokenizer_id", "best_of", "num_prompts", "request_rate",
		"burstiness", "max_concurrency", "duration", "completed", "total_input_tokens", "total_output_tokens",
		"request_throughput", "request_goodput:", "output_throughput", "total_token_throughput"} {
		ref = append(ref, k)
	}
	for _, m := range []string{"ttft", "tpot", "itl", "e2el"} {
		for _, s := range []string{"mean", "median", "std", "p90", "p99", "p99.9"} {
			ref = append(ref, s+"_"+m+"_ms")
		}
	}
	keys := orderedKeys(t, raw)
	assert.Equal(t, strings.Join(ref, ","), strings.Join(keys[:len(ref)], ","), "leading keys")
	// And the lead's reader takes the file back.
	var back result.Raw
	assert.NoError(t, json.Unmarshal(raw, &back), "result.Raw round trip")
	assert.Equal(t, 4, back.Completed, "result.Raw round trip")
	require.NotNil(t, back.Ext, "result.Raw round trip")
	assert.Equal(t, 1, back.Ext.Failed, "result.Raw round trip")
}

// TestGoldenDetailed: --save-detailed appends the reference's per-request keys after
// everything else, and the file still reads back.
func TestGoldenDetailed(t *testing.T) {
	o := goldenOutcome()
	o.Config.SaveDetailed = true
	raw, err := o.MarshalRaw(time.UTC, "bench_result.requests.jsonl")
	require.NoError(t, err)
	golden(t, "raw_detailed.golden.json", append(indent(t, raw), '\n'))
	var d struct {
		TTFTs  []float64   `json:"ttfts"`
		ITLs   [][]float64 `json:"itls"`
		Errors []string    `json:"request_errors"`
	}
	require.NoError(t, json.Unmarshal(raw, &d))
	require.Len(t, d.TTFTs, 5, "detailed keys")
	assert.Equal(t, 0.01, d.TTFTs[0], "detailed keys")
	assert.Equal(t, float64(0), d.TTFTs[2], "detailed keys")
	require.Len(t, d.ITLs[0], 7, "detailed keys")
	assert.Equal(t, 0.004, d.ITLs[0][0], "detailed keys")
	assert.Empty(t, d.ITLs[2], "detailed keys")
	assert.Empty(t, d.Errors[0], "detailed keys")
	assert.Contains(t, d.Errors[2], "HTTP 500", "detailed keys")
	var back result.Raw
	assert.NoError(t, json.Unmarshal(raw, &back), "result.Raw round trip")
	assert.Equal(t, 4, back.Completed, "result.Raw round trip")
	keys := orderedKeys(t, raw)
	assert.Equal(t, "ttfts,itls,request_errors", strings.Join(keys[len(keys)-3:], ","), "last keys")
	seen := map[string]bool{}
	for _, k := range keys {
		assert.False(t, seen[k], "key %q appears twice", k)
		seen[k] = true
	}
}

// TestGoldenAgg: our raw result, read back as a file would be, converts to the agg record
// the dashboard reads (docs/measurement.md#agg-record), including the per-request interactivity.
func TestGoldenAgg(t *testing.T) {
	raw, err := goldenOutcome().MarshalRaw(time.UTC, "bench_result.requests.jsonl")
	require.NoError(t, err)
	var back result.Raw
	require.NoError(t, json.Unmarshal(raw, &back))
	job := result.Job{HW: "h100", Runner: "h100_0", ResultFilename: "bench_result", Image: "vllm/vllm-openai:v0.11.0",
		Model: "org/model", ModelPrefix: "model", Framework: "vllm", Precision: "fp8", SpecDecoding: "none",
		ISL: 16, OSL: 8, TP: 2, EP: 1}
	a, err := result.NewAgg(&back, job)
	require.NoError(t, err)
	b, err := json.MarshalIndent(a, "", "  ")
	require.NoError(t, err)
	golden(t, "agg.golden.json", append(b, '\n'))
	v, ok := a.Get("mean_ttft")
	assert.True(t, ok, "mean_ttft = %v (%v), want the raw mean 10.25 ms in seconds", v, ok)
	assert.InDelta(t, 0.01025, v, 1e-12, "mean_ttft")
}

// TestGoldenMetrics pins the arithmetic behind the golden file.
func TestGoldenMetrics(t *testing.T) {
	m := goldenOutcome().Metrics
	near := func(a, b float64) bool { return math.Abs(a-b) < 1e-9 }
	checks := []struct {
		what      string
		got, want float64
	}{
		{"completed", float64(m.Completed), 4},
		{"failed", float64(m.Failed), 1},
		{"total input", float64(m.TotalInput), 16 + 14 + 15 + 16},
		{"total output", float64(m.TotalOutput), 8 + 8 + 3 + 4},
		{"mean ttft", m.TTFT.Mean, (10 + 11 + 10 + 10) / 4.0},
		{"mean e2el", m.E2EL.Mean, (38 + 27 + 30 + 26) / 4.0},
		// TPOT = (E2EL-TTFT)/(o-1): 28/7, 16/7, 20/2, 16/3.
		{"mean tpot", m.TPOT.Mean, (4 + 16.0/7 + 10 + 16.0/3) / 4},
		// Chunk gaps: 7x4, (8, 8), (10, 10), (16).
		{"mean itl", m.ITL.Mean, (7*4 + 8 + 8 + 10 + 10 + 16) / 12.0},
		// Per token: 7 tokens at 4 ms; 4 at 2 ms and 3 at 8/3 ms; 2 at 10 ms; 1 at 16 ms.
		{"mean itl per token", m.ITLPerToken.Mean, (7*4 + 4*2 + 3*(8.0/3) + 2*10 + 16) / 17},
		{"missing usage", float64(m.MissingUsage), 1},
		{"short", float64(m.ShortOutputs), 1},
		{"output throughput", m.OutputThroughput, 23 / 0.1},
		{"send lag max", m.SendLagMax, 1},
	}
	for _, c := range checks {
		assert.True(t, near(c.got, c.want), "%s = %v, want %v", c.what, c.got, c.want)
	}
}

func indent(t *testing.T, b []byte) []byte {
	// Indent keeps key order, so the golden file stays readable and exact.
	var out bytes.Buffer
	require.NoError(t, json.Indent(&out, b, "", "  "))
	return out.Bytes()
}

func orderedKeys(t *testing.T, b []byte) []string {
	dec := json.NewDecoder(bytes.NewReader(b))
	_, err := dec.Token()
	require.NoError(t, err)
	var keys []string
	for dec.More() {
		k, err := dec.Token()
		require.NoError(t, err)
		keys = append(keys, k.(string))
		var skip json.RawMessage
		require.NoError(t, dec.Decode(&skip))
	}
	return keys
}

func golden(t *testing.T, name string, got []byte) {
	t.Helper()
	testkit.Golden(t, filepath.Join("testdata", name), got)
}
