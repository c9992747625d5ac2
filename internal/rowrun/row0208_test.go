package rowrun

import (
	"encoding/json"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/inferbench/inferbench/internal/inventory"
	"github.com/inferbench/inferbench/internal/result"
)

// Rows of the 2026-08 generator, as it prints them.
const (
	single0208 = `{"image": "img", "model": "m/one", "model-prefix": "dsr1", "precision": "fp8", "framework": "sglang",
 "runner": "b200", "isl": 8192, "osl": 1024, "tp": 4, "pp": 2, "dcp-size": 2, "pcp-size": 1, "conc": 64,
 "max-model-len": 9472, "ep": 1, "dp-attn": false, "spec-decoding": "none", "exp-name": "dsr1_8k1k", "disagg": false,
 "run-eval": true, "router": {"name": "sgl-router", "version": "0.2"}, "eval-only": true,
 "recipe-fingerprint": "0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef"}`
	multi0208 = `{"image": "img", "model": "m", "model-prefix": "dsr1", "precision": "fp4", "framework": "dynamo-trt",
 "runner": "gb200", "isl": 8192, "osl": 1024, "spec-decoding": "mtp",
 "prefill": {"num-worker": 1, "tp": 4, "ep": 4, "dp-attn": true, "additional-settings": ["A=1"], "pp": 1, "dcp-size": 1, "pcp-size": 2, "hardware": "gb200"},
 "decode": {"num-worker": 2, "tp": 8, "ep": 8, "dp-attn": false, "pp": 2, "dcp-size": 1, "pcp-size": 1, "hardware": "gb300"},
 "conc": [16, 64], "max-model-len": 9472, "exp-name": "dsr1_8k1k", "disagg": true, "run-eval": true,
 "router": {"name": "dynamo-router", "version": "1.0"}, "kv-p2p-transfer": "nixl", "eval-conc": 64}`
	agentic0208 = `{"image": "img", "model": "m", "model-prefix": "qwen", "precision": "fp8", "framework": "sglang",
 "runner": "cluster:h100-dgxc", "tp": 8, "pp": 1, "dcp-size": 1, "pcp-size": 1, "ep": 8, "dp-attn": false,
 "spec-decoding": "none", "conc": 4, "kv-offloading": "none", "total-cpu-dram-gb": 0, "duration": 3600,
 "exp-name": "qwen_tp8_conc4_kvnone", "scenario-type": "agentic-coding", "run-eval": false}`
)

func TestParseRow0208(t *testing.T) {
	t.Parallel()
	r, err := ParseRow([]byte(single0208))
	require.NoError(t, err)
	assert.True(t, r.Gen0208)
	assert.Equal(t, []int{4, 2, 2, 1}, []int{r.TP, r.PP, r.DCPSize, r.PCPSize})
	assert.Equal(t, 8, r.GPUs(), "tp × pp × pcp")
	assert.Equal(t, &result.Component{Name: "sgl-router", Version: "0.2"}, r.Router)
	assert.True(t, r.EvalOnly)
	assert.Equal(t, "dsr1_8k1k_fp8_sglang_tp4-pp2-dcp2-pcp1-ep1-dpafalse_disagg-false_spec-none_conc64_b200-nv_0_recipe-0123456789abcdef",
		r.Stem("", "b200-nv_0", 64))

	m, err := ParseRow([]byte(multi0208))
	require.NoError(t, err)
	assert.True(t, m.Gen0208)
	assert.Equal(t, "nixl", m.KVP2PTransfer)
	assert.Equal(t, 64, m.EvalConc)
	assert.Equal(t, 1*4*1*2, m.PrefillGPUs(), "num-worker × tp × pp × pcp")
	assert.Equal(t, 2*8*2*1, m.DecodeGPUs())
	assert.Equal(t, "dsr1_8k1k_fp4_dynamo-trt_prefill-tp4-pp1-dcp1-pcp2-ep4-dptrue-nw1_decode-tp8-pp2-dcp1-pcp1-ep8-dpfalse-nw2_disagg-true_spec-mtp_conc16x64_gb200-nv_0_conc16_gpus_40_ctx_8_gen_32",
		m.PointStem("", "gb200-nv_0", 16))

	old, err := ParseRow([]byte(`{"image": "i", "model": "m", "model-prefix": "p", "precision": "fp8", "framework": "f", "runner": "r",
 "isl": 1024, "osl": 1024, "tp": 8, "conc": 4, "max-model-len": 2248, "ep": 1, "dp-attn": false, "spec-decoding": "none",
 "exp-name": "p_1k1k", "disagg": false, "run-eval": false}`))
	require.NoError(t, err)
	assert.False(t, old.Gen0208, "a 2026-02 row keeps its names")
	assert.Equal(t, 1, old.PP)
	assert.Equal(t, "p_1k1k_fp8_f_tp8-ep1-dpafalse_disagg-false_spec-none_conc4_n_0", old.Stem("", "n_0", 4))
}

func TestParseRow0208Rejects(t *testing.T) {
	t.Parallel()
	tests := []struct{ name, row, want string }{
		{"pp 0", `{"pp": 0}`, "pp 0, dcp-size 2 and pcp-size 1 must be positive"},
		{"router without a name", `{"router": 7}`, "router"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			var row map[string]any
			require.NoError(t, json.Unmarshal([]byte(single0208), &row))
			var patch map[string]any
			require.NoError(t, json.Unmarshal([]byte(tt.row), &patch))
			for k, v := range patch {
				row[k] = v
			}
			b, _ := json.Marshal(row)
			_, err := ParseRow(b)
			require.Error(t, err)
			assert.Contains(t, err.Error(), tt.want)
		})
	}
}

// Agentic-coding rows are refused before anything starts, from --entry and from the
// workflow environment alike.
func TestAgenticRowsAreRefused(t *testing.T) {
	t.Parallel()
	_, err := ParseRow([]byte(agentic0208))
	require.ErrorIs(t, err, ErrTraceReplay)
	assert.Contains(t, err.Error(), "trace replay is not supported yet (planned)")
	env := map[string]string{"MODEL": "m", "CONC": "4", "SCENARIO_TYPE": "agentic-coding"}
	_, err = RowFromEnv(func(k string) string { return env[k] })
	require.ErrorIs(t, err, ErrTraceReplay)
}

func TestRowFromEnv0208(t *testing.T) {
	t.Parallel()
	env := map[string]string{"IMAGE": "img", "MODEL": "m", "MODEL_PREFIX": "dsr1", "PRECISION": "fp8", "FRAMEWORK": "sglang",
		"RUNNER_TYPE": "b200", "ISL": "8192", "OSL": "1024", "TP": "4", "PP_SIZE": "2", "DCP_SIZE": "2", "PCP_SIZE": "1",
		"EP_SIZE": "1", "DP_ATTENTION": "false", "CONC": "64", "SPEC_DECODING": "none", "EXP_NAME": "dsr1_8k1k",
		"DISAGG": "false", "RUN_EVAL": "true", "EVAL_ONLY": "true", "ROUTER_METADATA": `{"name": "r", "version": "1"}`,
		"RECIPE_FINGERPRINT": "abc"}
	r, err := RowFromEnv(func(k string) string { return env[k] })
	require.NoError(t, err)
	assert.True(t, r.Gen0208)
	assert.Equal(t, []int{2, 2, 1}, []int{r.PP, r.DCPSize, r.PCPSize})
	assert.Equal(t, "r", r.Router.Name)
	assert.True(t, r.EvalOnly)
	assert.Equal(t, 9472, r.MaxModelLen, "isl+osl+256 when the workflow gives none")

	mn := map[string]string{"MODEL": "m", "MODEL_PREFIX": "dsr1", "PRECISION": "fp4", "FRAMEWORK": "dynamo-trt", "ISL": "8192",
		"OSL": "1024", "IS_MULTINODE": "true", "CONC_LIST": "16 64", "PREFILL_NUM_WORKERS": "1", "PREFILL_TP": "4",
		"PREFILL_EP": "4", "PREFILL_DP_ATTN": "true", "PREFILL_PP_SIZE": "1", "PREFILL_PCP_SIZE": "2", "PREFILL_HARDWARE": "gb200",
		"DECODE_NUM_WORKERS": "2", "DECODE_TP": "8", "DECODE_EP": "8", "DECODE_DP_ATTN": "false", "DECODE_PP_SIZE": "2",
		"DECODE_HARDWARE": "gb300", "DISAGG": "true", "KV_P2P_TRANSFER": "nixl"}
	m, err := RowFromEnv(func(k string) string { return mn[k] })
	require.NoError(t, err)
	assert.True(t, m.Gen0208)
	assert.Equal(t, 2, m.Prefill.PCPSize)
	assert.Equal(t, "gb300", m.Decode.Hardware)
	assert.Equal(t, 8, m.PrefillGPUs())
	assert.Equal(t, "nixl", m.KVP2PTransfer)
}

// The new fields reach the recipe templates.
func TestValues0208(t *testing.T) {
	t.Parallel()
	r, err := ParseRow([]byte(multi0208))
	require.NoError(t, err)
	pl := &planner{o: Options{Row: r}, fam: &inventory.Family{GPU: "gb200", Backend: "local", GPUsPerNode: 4}}
	v := pl.values(16)
	assert.Equal(t, "nixl", v.KVP2PTransfer)
	assert.Equal(t, "dynamo-router", v.Router.Name)
	assert.Equal(t, 2, v.Prefill.PCPSize)
	assert.Equal(t, 2, v.Decode.PP)
	s, err := ParseRow([]byte(single0208))
	require.NoError(t, err)
	v = (&planner{o: Options{Row: s}, fam: &inventory.Family{GPU: "gb200", Backend: "local", GPUsPerNode: 4}}).values(64)
	assert.Equal(t, []int{4, 2, 2, 1}, []int{v.TP, v.PP, v.DCPSize, v.PCPSize})
}
