package rowrun

import (
	"fmt"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

const rowJSON = `{"image": "lmsysorg/sglang:v0.5.6", "model": "deepseek-ai/DeepSeek-R1-0528", "model-prefix": "dsr1",
 "precision": "fp8", "framework": "sglang", "runner": "b200", "isl": 1024, "osl": 8192, "tp": 8, "conc": %s,
 "max-model-len": 9416, "ep": 1, "dp-attn": false, "spec-decoding": "none", "exp-name": "dsr1_1k8k",
 "disagg": false, "run-eval": true}`

func TestParseRow(t *testing.T) {
	t.Parallel()
	tests := []struct {
		conc    string
		want    string
		wantErr string
	}{
		{"64", "[64]", ""},
		{"[4, 8, 16]", "[4 8 16]", ""},
		{`"64"`, "", "want an integer or a list"},
		{"[0]", "", "conc 0 must be positive"},
		{"[]", "", "conc is missing"},
	}
	for _, tt := range tests {
		r, err := ParseRow([]byte(fmt.Sprintf(rowJSON, tt.conc)))
		if tt.wantErr != "" {
			assert.ErrorContains(t, err, tt.wantErr, "conc %s", tt.conc)
			continue
		}
		assert.NoError(t, err, "conc %s", tt.conc)
		assert.Equal(t, tt.want, fmt.Sprint([]int(r.Conc)), "conc %s", tt.conc)
		assert.True(t, r.RunEval, "conc %s: %+v %v", tt.conc, r, err)
		assert.Equal(t, 9416, r.MaxModelLen, "conc %s", tt.conc)
	}
}

func TestParseRowRejects(t *testing.T) {
	t.Parallel()
	for name, tt := range map[string]struct{ json, want string }{
		"multi-node without layout": {`{"prefill": {}, "conc": [1]}`, "decode block is missing"},
		"multi-node bad worker":     {strings.Replace(multinodeJSON, `"num-worker": 2`, `"num-worker": -1`, 1), "decode: num-worker -1, tp 8 and ep 8 must be positive"},
		"multi-node bad setting":    {strings.Replace(multinodeJSON, `"CONFIG_FILE=`, `"CONFIG FILE=`, 1), `additional setting "CONFIG FILE=`},
		"multi-node with tp":        {strings.Replace(multinodeJSON, `"isl"`, `"tp": 8, "isl"`, 1), "no top-level tp, ep or dp-attn"},
		"disagg single-node":        {strings.Replace(fmt.Sprintf(rowJSON, "1"), `"disagg": false`, `"disagg": true`, 1), "no prefill/decode worker blocks"},
		"unknown key":               {strings.Replace(fmt.Sprintf(rowJSON, "1"), `"tp"`, `"tpp"`, 1), `unknown field "tpp"`},
		"not json":                  {`[1,2]`, "not a JSON object"},
		"collects":                  {`{"conc": 1, "isl": 0, "osl": 1, "tp": 1}`, "model is empty"},
	} {
		_, err := ParseRow([]byte(tt.json))
		assert.ErrorContains(t, err, tt.want, "%s", name)
	}
}

func TestRowFromEnv(t *testing.T) {
	t.Parallel()
	env := map[string]string{
		"EXP_NAME": "gptoss_1k1k", "MODEL": "openai/gpt-oss-120b", "IMAGE": "vllm/vllm-openai:v0.13.0",
		"FRAMEWORK": "vllm", "PRECISION": "fp4", "TP": "4", "EP_SIZE": "1", "DP_ATTENTION": "false", "CONC": "4 8 16",
		"ISL": "1024", "OSL": "1024", "MAX_MODEL_LEN": "2248", "SPEC_DECODING": "none", "DISAGG": "false",
		"RUN_EVAL": "true", "RUNNER_TYPE": "h100",
	}
	r, err := RowFromEnv(func(k string) string { return env[k] })
	require.NoError(t, err)
	assert.Equal(t, "gptoss", r.ModelPrefix, "row")
	assert.Equal(t, "[4 8 16]", fmt.Sprint([]int(r.Conc)), "row")
	assert.Equal(t, 4, r.TP, "row")
	assert.True(t, r.RunEval, "row = %+v", r)
	assert.Equal(t, "h100", r.Runner, "row")
	env["TP"], env["CONC"] = "four", ""
	_, err = RowFromEnv(func(k string) string { return env[k] })
	assert.ErrorContains(t, err, `TP="four" is not an integer`)
	assert.Contains(t, err.Error(), "CONC is empty")
}

func TestParseConcs(t *testing.T) {
	t.Parallel()
	for in, want := range map[string]string{"64": "[64]", "4 8": "[4 8]", "4,8": "[4 8]", "4x8x16": "[4 8 16]", "[4, 8]": "[4 8]"} {
		c, err := ParseConcs(in)
		assert.NoError(t, err, "%q", in)
		assert.Equal(t, want, fmt.Sprint([]int(c)), "%q", in)
	}
	_, err := ParseConcs("4 eight")
	assert.Error(t, err, "accepted a word")
}

func TestStem(t *testing.T) {
	t.Parallel()
	r, err := ParseRow([]byte(fmt.Sprintf(rowJSON, "[4, 8]")))
	require.NoError(t, err)
	want := "dsr1_1k8k_fp8_sglang_tp8-ep1-dpafalse_disagg-false_spec-none_conc8_b200-nv_0"
	assert.Equal(t, want, r.Stem("", "b200-nv_0", 8), "built stem")
	given := "dsr1_1k8k_fp8_sglang_tp8-ep1-dpafalse_disagg-false_spec-none_conc4 8_b200-nv_0"
	assert.Equal(t, want, r.Stem(given, "b200-nv_0", 8), "swapped stem")
	r.Conc = Concs{64}
	assert.Equal(t, "custom-name", r.Stem("custom-name", "x", 64), "a single point keeps RESULT_FILENAME")
}

// multinodeJSON is a row of the reference's master config (conformance case02), indented as
// toJSON(matrix.config) passes it.
const multinodeJSON = `{
  "image": "nvcr.io/nvidia/ai-dynamo/tensorrtllm-runtime:0.8.1.post1", "model": "deepseek-r1-fp4", "model-prefix": "dsr1",
  "precision": "fp4", "framework": "dynamo-trt", "runner": "b200-multinode-slurm", "isl": 1024, "osl": 1024,
  "spec-decoding": "mtp",
  "prefill": {"num-worker": 1, "tp": 4, "ep": 4, "dp-attn": true,
    "additional-settings": ["CONFIG_FILE=recipes/trtllm/b200-fp4/1k1k/mtp/ctx1_gen2_dep8_batch64_eplb0_mtp2.yaml"]},
  "decode": {"num-worker": 2, "tp": 8, "ep": 8, "dp-attn": true, "additional-settings": null},
  "conc": [1214, 2048], "max-model-len": 2248, "exp-name": "dsr1_1k1k", "disagg": true, "run-eval": false
}`

func TestParseMultinodeRow(t *testing.T) {
	t.Parallel()
	r, err := ParseRow([]byte(multinodeJSON))
	require.NoError(t, err)
	assert.True(t, r.Multinode(), "row = %+v", r)
	assert.Equal(t, 4, r.PrefillGPUs(), "row")
	assert.Equal(t, 16, r.DecodeGPUs(), "row")
	assert.Equal(t, 0, r.EP, "row")
	assert.Equal(t, 0, r.TP, "row")
	assert.Equal(t, "[1214 2048]", fmt.Sprint([]int(r.Conc)), "row")
	s := r.Settings()
	require.Len(t, s, 1, "settings")
	assert.Equal(t, "CONFIG_FILE", s[0].Key, "settings")
	assert.True(t, strings.HasSuffix(s[0].Value, "mtp2.yaml"), "settings = %v", s)
	want := "dsr1_1k1k_fp4_dynamo-trt_prefill-tp4-ep4-dptrue-nw1_decode-tp8-ep8-dptrue-nw2_disagg-true_spec-mtp_conc1214x2048_b200-dgxc-slurm_0"
	assert.Equal(t, want+"_conc2048_gpus_20_ctx_4_gen_16", r.PointStem("", "b200-dgxc-slurm_0", 2048), "point stem")
	assert.Equal(t, "given_conc1214_gpus_20_ctx_4_gen_16", r.PointStem("given", "x", 1214), "point stem with RESULT_FILENAME")
	// The row may say how many GPUs a side has.
	r.Decode.AdditionalSettings = []string{"DECODE_GPUS=12"}
	assert.Equal(t, 12, r.DecodeGPUs(), "DECODE_GPUS not honoured")
}

func TestRowFromMultinodeEnv(t *testing.T) {
	t.Parallel()
	env := map[string]string{
		"EXP_NAME": "dsr1_8k1k", "MODEL": "deepseek-ai/DeepSeek-R1-0528", "IMAGE": "lmsysorg/sglang:v0.5.8-rocm700-mi35x",
		"MODEL_PREFIX": "dsr1", "FRAMEWORK": "sglang-disagg", "PRECISION": "fp8", "ISL": "8192", "OSL": "1024",
		"MAX_MODEL_LEN": "9416", "CONC_LIST": "512 1024", "SPEC_DECODING": "none", "DISAGG": "true",
		"PREFILL_NUM_WORKERS": "1", "PREFILL_TP": "8", "PREFILL_EP": "1", "PREFILL_DP_ATTN": "false",
		"DECODE_NUM_WORKERS": "2", "DECODE_TP": "8", "DECODE_EP": "8", "DECODE_DP_ATTN": "true",
		"PREFILL_NODES": "1", "DECODE_NODES": "2", "RUNNER_TYPE": "mi355x-disagg",
	}
	r, err := RowFromEnv(func(k string) string { return env[k] })
	require.NoError(t, err)
	assert.True(t, r.Multinode(), "row = %+v settings %v", r, r.Settings())
	assert.Equal(t, "[512 1024]", fmt.Sprint([]int(r.Conc)), "row")
	assert.Equal(t, 2, r.Decode.NumWorkers, "row")
	assert.True(t, r.Decode.DPAttn, "row = %+v settings %v", r, r.Settings())
	assert.Equal(t, 16, r.DecodeGPUs(), "row")
	assert.Equal(t, "2", r.setting("DECODE_NODES"), "row")
	assert.True(t, r.Disagg, "row = %+v settings %v", r, r.Settings())
	env["PREFILL_ADDITIONAL_SETTINGS"] = `["CONFIG_FILE=a.yaml"]`
	env["DECODE_ADDITIONAL_SETTINGS"] = `not json`
	_, err = RowFromEnv(func(k string) string { return env[k] })
	assert.ErrorContains(t, err, "DECODE_ADDITIONAL_SETTINGS")
}
