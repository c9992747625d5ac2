package result

import (
	"bytes"
	"encoding/json"
	"math"
	"path/filepath"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/inferbench/inferbench/internal/testkit"
)

// golden compares got with testdata/<name> (rewritten with -update).
func golden(t *testing.T, name string, got []byte) {
	t.Helper()
	testkit.Golden(t, filepath.Join("testdata", name), got)
}

func f(v float64) *float64 { return &v }

func sampleRaw() *Raw {
	return &Raw{
		Date: "20261127-101500", Backend: "vllm", ModelID: "openai/gpt-oss-120b", TokenizerID: "openai/gpt-oss-120b",
		BestOf: 1, NumPrompts: 640, RequestRate: math.Inf(1), Burstiness: 1, MaxConcurrency: 64,
		Duration: 120.5, Completed: 640, TotalInputTokens: 589824, TotalOutputTokens: 655360,
		RequestThroughput: 5.311, OutputThroughput: 5438.5, TotalTokenThroughput: 10333.2,
		Metrics: []Metric{
			{Name: "ttft", Unit: "ms", Stat: Stat{Mean: 100, Median: 95, Std: 10, Percentiles: []Percentile{{99, 150}}}},
			{Name: "tpot", Unit: "ms", Stat: Stat{Mean: 20, Median: 25, Std: 0, Percentiles: []Percentile{{99, 40}}}},
			{Name: "itl", Unit: "ms", Stat: Stat{Mean: 20, Median: 20, Std: 1, Percentiles: []Percentile{{99, 22}, {99.9, 30}}}},
			{Name: "e2el", Unit: "ms", Stat: Stat{Mean: 20000, Median: 20000, Std: 100, Percentiles: []Percentile{{99, 20500}}}},
			{Name: MetricSendLag, Unit: "ms", Stat: Stat{Mean: 0.1, Median: 0.1, Std: 0.01, Percentiles: []Percentile{{99, 0.3}}, Max: f(0.5)}},
			{Name: MetricIntvtyPerRequest, Stat: Stat{Mean: 48, Median: 40, Std: 3.5, Percentiles: []Percentile{{99, 25}}}},
		},
		Ext: &RawExt{IgnoreEOS: true, NumWarmups: 128, Failed: 2, Errors: map[string]int{"HTTP 500": 2}},
	}
}

func TestRawGoldenAndRoundTrip(t *testing.T) {
	t.Parallel()
	b, err := json.Marshal(sampleRaw())
	require.NoError(t, err)
	golden(t, "raw.json", append(b, '\n'))

	var back Raw
	require.NoError(t, json.Unmarshal(b, &back))
	b2, err := json.Marshal(&back)
	require.NoError(t, err)
	assert.Equal(t, string(b), string(b2), "round trip must be lossless")
	assert.True(t, math.IsInf(back.RequestRate, 1))
	assert.InDelta(t, 2.0/642, back.FailureRate(), 1e-12)
}

func TestRawReadsReferenceFile(t *testing.T) {
	t.Parallel()
	ref := `{"date": "20260209-120000", "backend": "vllm", "model_id": "m", "tokenizer_id": "m", "best_of": 1,
	"num_prompts": 10, "request_rate": "inf", "burstiness": 1.0, "max_concurrency": 1, "duration": 2.0,
	"completed": 10, "total_input_tokens": 100, "total_output_tokens": 200, "request_throughput": 5.0,
	"request_goodput:": null, "output_throughput": 100.0, "total_token_throughput": 150.0,
	"mean_ttft_ms": 10.0, "median_ttft_ms": 9.0, "std_ttft_ms": 1.0, "p99_ttft_ms": 12.0,
	"mean_tpot_ms": 0.0, "median_tpot_ms": 0.0, "std_tpot_ms": 0.0, "p99_tpot_ms": 0.0}`
	var r Raw
	require.NoError(t, json.Unmarshal([]byte(ref), &r))
	assert.Nil(t, r.Ext)
	assert.Equal(t, 10, r.Completed)
	ttft, ok := r.Metric("ttft")
	require.True(t, ok)
	assert.Equal(t, []Percentile{{99, 12}}, ttft.Percentiles)

	// All-zero TPOT crashed process_result.py; here it yields interactivity 0.
	a, err := NewAgg(&r, Job{HW: "h100", TP: 1, EP: 1})
	require.NoError(t, err)
	iv, ok := a.Get("mean_intvty")
	require.True(t, ok)
	assert.Equal(t, 0.0, iv)
}

func TestAggSingleNodeGolden(t *testing.T) {
	t.Parallel()
	job := Job{HW: "b200-trt", Runner: "b200-nv_0", ResultFilename: "stem", Image: "nvcr.io/x:1",
		ModelPrefix: "gptoss", Framework: "trt", Precision: "fp4", SpecDecoding: "none",
		ISL: 1024, OSL: 1024, TP: 8, EP: 1, DPAttention: false}
	a, err := NewAgg(sampleRaw(), job)
	require.NoError(t, err)
	b, err := json.MarshalIndent(a, "", "  ")
	require.NoError(t, err)
	golden(t, "agg_single.json", append(b, '\n'))

	assert.InDelta(t, 10333.2/8, a.TputPerGPU, 1e-9)
	assert.InDelta(t, (10333.2-5438.5)/8, a.InputTputPerGPU, 1e-9)
	for key, want := range map[string]float64{
		"median_ttft": 0.095, "mean_intvty": 50, "median_intvty": 40, "p99_intvty": 25,
		"std_intvty": 3.5, // spread of per-request interactivity, not 1000/std_tpot (= inf here)
		"p99.9_itl":  0.030, "mean_send_lag": 0.0001,
	} {
		got, ok := a.Get(key)
		require.True(t, ok, key)
		assert.InDelta(t, want, got, 1e-12, key)
	}

	var back Agg
	require.NoError(t, json.Unmarshal(b, &back))
	b2, err := json.MarshalIndent(&back, "", "  ")
	require.NoError(t, err)
	assert.Equal(t, string(b), string(b2))
}

func TestAggMultiNode(t *testing.T) {
	t.Parallel()
	raw := &Raw{MaxConcurrency: 128, TotalTokenThroughput: 28000, OutputThroughput: 16000}
	job := Job{HW: "gb200", Disagg: true, Multinode: &Multinode{
		Prefill: Workers{TP: 4, EP: 4, NumWorkers: 5}, Decode: Workers{TP: 8, EP: 8, NumWorkers: 1, DPAttention: true},
		PrefillGPUs: 20, DecodeGPUs: 8}}
	a, err := NewAgg(raw, job)
	require.NoError(t, err)
	assert.Equal(t, 1000.0, a.TputPerGPU)       // 28000/28
	assert.Equal(t, 2000.0, a.OutputTputPerGPU) // 16000/8
	assert.Equal(t, 600.0, a.InputTputPerGPU)   // 12000/20
	assert.Equal(t, "true", a.Decode.DPAttention)
	assert.Equal(t, 28, a.GPUs())
}

func TestAggRefusesImpossibleJobs(t *testing.T) {
	t.Parallel()
	for name, job := range map[string]Job{
		"zero tp":            {TP: 0},
		"disagg single-node": {TP: 8, Disagg: true},
		"zero decode gpus":   {Disagg: true, Multinode: &Multinode{PrefillGPUs: 4}},
	} {
		t.Run(name, func(t *testing.T) {
			_, err := NewAgg(&Raw{}, job)
			assert.Error(t, err)
		})
	}
}

func TestAggReadsReferenceStringsAndBools(t *testing.T) {
	t.Parallel()
	var a Agg
	require.NoError(t, json.Unmarshal([]byte(`{"hw":"h200","conc":4,"tp":8,"ep":1,"dp_attention":true,"mean_ttft":0.1}`), &a))
	assert.Equal(t, "true", a.DPAttention)
	assert.Nil(t, a.Ext)
	v, _ := a.Get("mean_ttft")
	assert.Equal(t, 0.1, v)
}

func TestNaming(t *testing.T) {
	t.Parallel()
	assert.Equal(t, "dsr1_1k8k_fp8_sglang_tp8-ep1-dpafalse_disagg-false_spec-none_conc64_b200-nv_0",
		SingleNodeStem("dsr1_1k8k", "fp8", "sglang", 8, 1, false, false, "none", 64, "b200-nv_0"))
	assert.Equal(t, "dsr1_8k1k_fp4_dynamo-trt_prefill-tp4-ep4-dptrue-nw2_decode-tp8-ep8-dpfalse-nw1_disagg-true_spec-none_conc64x128_gb200-nv_1",
		MultiNodeStem("dsr1_8k1k", "fp4", "dynamo-trt", Workers{TP: 4, EP: 4, NumWorkers: 2, DPAttention: true}, Workers{TP: 8, EP: 8, NumWorkers: 1}, true, "none", []int{64, 128}, "gb200-nv_1"))
	// 2026-08 names carry the parallel sizes and, for changelog rows, the recipe.
	assert.Equal(t, "dsr1_8k1k_fp8_sglang_tp8-pp2-dcp1-pcp1-ep1-dpafalse_disagg-false_spec-none_conc64_b200-nv_0_recipe-0123456789abcdef",
		SingleNodeStem0208("dsr1_8k1k", "fp8", "sglang", 8, 2, 1, 1, 1, false, false, "none", 64, "b200-nv_0", "0123456789abcdef0123"))
	assert.Equal(t, "dsr1_8k1k_fp4_dynamo-trt_prefill-tp4-pp1-dcp1-pcp2-ep4-dptrue-nw2_decode-tp8-pp1-dcp2-pcp1-ep8-dpfalse-nw1_disagg-true_spec-none_conc64x128_gb200-nv_1",
		MultiNodeStem0208("dsr1_8k1k", "fp4", "dynamo-trt", Workers{TP: 4, EP: 4, NumWorkers: 2, DPAttention: true, PP: 1, DCPSize: 1, PCPSize: 2},
			Workers{TP: 8, EP: 8, NumWorkers: 1, PP: 1, DCPSize: 2, PCPSize: 1}, true, "none", []int{64, 128}, "gb200-nv_1", ""))
	assert.Equal(t, "b200", SKU("b200-trt"))
	assert.Equal(t, "gb200", SKU("gb200"))
	assert.Equal(t, "2048_128", SeqLenName(2048, 128))
	assert.Equal(t, "eval_dsr1_1k8k_stem", EvalArtifact("dsr1_1k8k", "stem"))
}

// A 2026-08 job's record carries what the 2026-08 process_result.py adds, in its order,
// divides by tp × pp × pcp GPUs, and reads back.
func TestAgg0208(t *testing.T) {
	keys := func(b []byte) []string {
		dec := json.NewDecoder(bytes.NewReader(b))
		_, _ = dec.Token()
		var out []string
		for dec.More() {
			k, _ := dec.Token()
			out = append(out, k.(string))
			var skip json.RawMessage
			_ = dec.Decode(&skip)
		}
		return out
	}
	raw := &Raw{MaxConcurrency: 64, TotalTokenThroughput: 8000, OutputThroughput: 4000}
	job := Job{HW: "b200", Model: "m", Image: "img", TP: 4, EP: 1, Gen0208: true, PP: 2, DCPSize: 1, PCPSize: 1,
		RecipeFingerprint: "fp", Router: &Component{Name: "r", Version: "1"}}
	a, err := NewAgg(raw, job)
	require.NoError(t, err)
	a.Ext, a.Stats = nil, nil
	assert.InDelta(t, 1000, a.TputPerGPU, 1e-9, "8000 tokens/s over 4 × 2 GPUs")
	b, err := json.Marshal(a)
	require.NoError(t, err)
	assert.Equal(t, []string{"hw", "conc", "image", "model", "infmax_model_prefix", "framework", "precision", "spec_decoding",
		"disagg", "recipe_fingerprint", "isl", "osl", "router", "is_multinode", "tp", "pp", "dcp_size", "pcp_size", "ep",
		"dp_attention", "tput_per_gpu", "output_tput_per_gpu", "input_tput_per_gpu"}, keys(b))
	var back Agg
	require.NoError(t, json.Unmarshal(b, &back))
	assert.True(t, back.Gen0208)
	assert.Equal(t, 8, back.GPUs())
	assert.Equal(t, "r", back.Router.Name)

	mn := Job{HW: "gb200", Gen0208: true, KVP2PTransfer: "nixl", Multinode: &Multinode{
		Prefill:     Workers{TP: 4, EP: 4, NumWorkers: 1, PP: 1, DCPSize: 1, PCPSize: 2, Hardware: "gb200"},
		Decode:      Workers{TP: 8, EP: 8, NumWorkers: 1, PP: 1, DCPSize: 1, PCPSize: 1, Hardware: "gb300"},
		PrefillGPUs: 8, DecodeGPUs: 8}}
	a, err = NewAgg(raw, mn)
	require.NoError(t, err)
	a.Ext, a.Stats = nil, nil
	b, err = json.Marshal(a)
	require.NoError(t, err)
	assert.Equal(t, []string{"hw", "conc", "image", "model", "infmax_model_prefix", "framework", "precision", "spec_decoding",
		"disagg", "recipe_fingerprint", "isl", "osl", "kv_p2p_transfer", "is_multinode",
		"prefill_tp", "prefill_pp", "prefill_dcp_size", "prefill_pcp_size", "prefill_ep", "prefill_dp_attention", "prefill_num_workers",
		"decode_tp", "decode_pp", "decode_dcp_size", "decode_pcp_size", "decode_ep", "decode_dp_attention", "decode_num_workers",
		"num_prefill_gpu", "num_decode_gpu", "tput_per_gpu", "output_tput_per_gpu", "input_tput_per_gpu", "prefill_hw", "decode_hw"}, keys(b))
	require.NoError(t, json.Unmarshal(b, &back))
	assert.Equal(t, 2, back.Prefill.PCPSize)
	assert.Equal(t, "gb300", back.DecodeHW)
}
