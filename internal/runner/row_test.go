package runner

import (
	"fmt"
	"strings"
	"testing"
)

const rowJSON = `{"image": "lmsysorg/sglang:v0.5.6", "model": "deepseek-ai/DeepSeek-R1-0528", "model-prefix": "dsr1",
 "precision": "fp8", "framework": "sglang", "runner": "b200", "isl": 1024, "osl": 8192, "tp": 8, "conc": %s,
 "max-model-len": 9416, "ep": 1, "dp-attn": false, "spec-decoding": "none", "exp-name": "dsr1_1k8k",
 "disagg": false, "run-eval": true}`

func TestParseRow(t *testing.T) {
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
			if err == nil || !strings.Contains(err.Error(), tt.wantErr) {
				t.Errorf("conc %s: err = %v, want %q", tt.conc, err, tt.wantErr)
			}
			continue
		}
		if err != nil || fmt.Sprint([]int(r.Conc)) != tt.want || !r.RunEval || r.MaxModelLen != 9416 {
			t.Errorf("conc %s: %+v %v", tt.conc, r, err)
		}
	}
}

func TestParseRowRejects(t *testing.T) {
	for name, tt := range map[string]struct{ json, want string }{
		"multi-node":  {`{"prefill": {}, "decode": {}, "conc": [1]}`, "multi-node rows"},
		"unknown key": {strings.Replace(fmt.Sprintf(rowJSON, "1"), `"tp"`, `"tpp"`, 1), `unknown field "tpp"`},
		"not json":    {`[1,2]`, "not a JSON object"},
		"collects":    {`{"conc": 1, "isl": 0, "osl": 1, "tp": 1}`, "model is empty"},
	} {
		if _, err := ParseRow([]byte(tt.json)); err == nil || !strings.Contains(err.Error(), tt.want) {
			t.Errorf("%s: err = %v, want %q", name, err, tt.want)
		}
	}
}

func TestRowFromEnv(t *testing.T) {
	env := map[string]string{
		"EXP_NAME": "gptoss_1k1k", "MODEL": "openai/gpt-oss-120b", "IMAGE": "vllm/vllm-openai:v0.13.0",
		"FRAMEWORK": "vllm", "PRECISION": "fp4", "TP": "4", "EP_SIZE": "1", "DP_ATTENTION": "false", "CONC": "4 8 16",
		"ISL": "1024", "OSL": "1024", "MAX_MODEL_LEN": "2248", "SPEC_DECODING": "none", "DISAGG": "false",
		"RUN_EVAL": "true", "RUNNER_TYPE": "h100",
	}
	r, err := RowFromEnv(func(k string) string { return env[k] })
	if err != nil {
		t.Fatal(err)
	}
	if r.ModelPrefix != "gptoss" || fmt.Sprint([]int(r.Conc)) != "[4 8 16]" || r.TP != 4 || !r.RunEval || r.Runner != "h100" {
		t.Errorf("row = %+v", r)
	}
	env["TP"], env["CONC"] = "four", ""
	if _, err := RowFromEnv(func(k string) string { return env[k] }); err == nil ||
		!strings.Contains(err.Error(), `TP="four" is not an integer`) || !strings.Contains(err.Error(), "CONC is empty") {
		t.Errorf("err = %v", err)
	}
}

func TestParseConcs(t *testing.T) {
	for in, want := range map[string]string{"64": "[64]", "4 8": "[4 8]", "4,8": "[4 8]", "4x8x16": "[4 8 16]", "[4, 8]": "[4 8]"} {
		c, err := ParseConcs(in)
		if err != nil || fmt.Sprint([]int(c)) != want {
			t.Errorf("%q = %v %v", in, c, err)
		}
	}
	if _, err := ParseConcs("4 eight"); err == nil {
		t.Error("accepted a word")
	}
}

func TestStem(t *testing.T) {
	r, err := ParseRow([]byte(fmt.Sprintf(rowJSON, "[4, 8]")))
	if err != nil {
		t.Fatal(err)
	}
	want := "dsr1_1k8k_fp8_sglang_tp8-ep1-dpafalse_disagg-false_spec-none_conc8_b200-nv_0"
	if got := r.Stem("", "b200-nv_0", 8); got != want {
		t.Errorf("built stem = %s", got)
	}
	given := "dsr1_1k8k_fp8_sglang_tp8-ep1-dpafalse_disagg-false_spec-none_conc4 8_b200-nv_0"
	if got := r.Stem(given, "b200-nv_0", 8); got != want {
		t.Errorf("swapped stem = %s", got)
	}
	r.Conc = Concs{64}
	if got := r.Stem("custom-name", "x", 64); got != "custom-name" {
		t.Errorf("a single point keeps RESULT_FILENAME: %s", got)
	}
}
