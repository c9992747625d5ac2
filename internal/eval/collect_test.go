package eval

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/inferbench/inferbench/internal/result"
)

func copyFile(t *testing.T, src, dst string, mod time.Time) {
	t.Helper()
	b, err := os.ReadFile(src)
	require.NoError(t, err)
	require.NoError(t, os.MkdirAll(filepath.Dir(dst), 0o755))
	require.NoError(t, os.WriteFile(dst, b, 0o644))
	require.NoError(t, os.Chtimes(dst, mod, mod))
}

func writeFile(t *testing.T, path, content string, mod time.Time) {
	t.Helper()
	require.NoError(t, os.MkdirAll(filepath.Dir(path), 0o755))
	require.NoError(t, os.WriteFile(path, []byte(content), 0o644))
	require.NoError(t, os.Chtimes(path, mod, mod))
}

// A downloaded eval_results/ tree as collect-evals.yml sees it: one sub-directory per
// artifact.
func TestCollectEvalResults(t *testing.T) {
	t.Parallel()
	root := t.TempDir()
	t0 := time.Date(2026, 2, 9, 10, 0, 0, 0, time.UTC)
	// set a: meta_env as the reference's shell writes it (numbers as strings), the harness
	// results, an older results file that must lose, and a newer JSON without
	// lm_eval_version that must be ignored.
	a := filepath.Join(root, "eval_gptoss_1k8k_a")
	writeFile(t, filepath.Join(a, MetaEnvFile), `{"framework": "VLLM", "precision": "FP4", "spec_decoding": "none", "tp": "8", "conc": 64, "ep": 1, "dp_attention": false, "model": "acme/model-x", "hw": "h100-cr", "isl": "1024", "osl": "8192"}`, t0)
	copyFile(t, filepath.Join(fixtureDir, "results_2026-02-09T10-11-12.345678.json"), filepath.Join(a, "results_2026-02-09T10-11-12.345678.json"), t0.Add(time.Hour))
	writeFile(t, filepath.Join(a, "results_2026-01-01T00-00-00.000000.json"), `{"results": {"gsm8k": {"exact_match,strict-match": 0.1}}, "lm_eval_version": "0.4.8"}`, t0)
	writeFile(t, filepath.Join(a, "zz_other.json"), `{"results": {}}`, t0.Add(2*time.Hour))
	// set b: three tasks.
	b := filepath.Join(root, "eval_dsr1_1k8k_b")
	writeFile(t, filepath.Join(b, MetaEnvFile), `{"framework": "sglang", "precision": "fp8", "spec_decoding": "mtp", "tp": 4, "conc": 32, "ep": 4, "dp_attention": true, "model": "acme/dsr1", "hw": "b200", "isl": "1024", "osl": "8192"}`, t0)
	copyFile(t, "testdata/lmeval/mixed/results_2026-02-10T08-00-00.000001.json", filepath.Join(b, "results_2026-02-10T08-00-00.000001.json"), t0)
	// set c: meta_env without results is reported; d: no meta_env is not a set.
	writeFile(t, filepath.Join(root, "eval_broken", MetaEnvFile), `{"hw": "mi300x"}`, t0)
	writeFile(t, filepath.Join(root, "not_a_set", "results_x.json"), `{"lm_eval_version": "1"}`, t0)

	th, err := ParseThresholds("th.yaml", []byte("default: 0.85\ntasks: {gpqa_diamond_cot_n_shot: 0.2, arc_easy: 0.7}\n"))
	require.NoError(t, err)
	rows, err := Collect(root, th)
	assert.ErrorContains(t, err, "eval_broken: has meta_env.json but no lm-eval results", "error %v, want the broken set reported", err)
	require.Len(t, rows, 4)
	out, err := MarshalRows(rows)
	require.NoError(t, err)
	golden(t, "agg_eval_all.json", []byte(strings.ReplaceAll(string(out), root, "<root>")))
	golden(t, "eval_summary.md", []byte(SummaryMarkdown(rows)))
}

func TestCollectFlatSetAndEmpty(t *testing.T) {
	dir := t.TempDir()
	empty, err := Collect(dir, nil)
	require.NoError(t, err, "empty")
	require.Empty(t, empty, "empty")
	assert.Contains(t, SummaryMarkdown(nil), "> No eval results found to summarize.", "empty summary")
	b, _ := MarshalRows(nil)
	assert.Equal(t, "[]", strings.TrimSpace(string(b)), "empty rows")
	// a flat single-artifact download (the reference misses it).
	writeFile(t, filepath.Join(dir, MetaEnvFile), `{"hw": "h200", "tp": 1, "conc": 4, "ep": 1, "dp_attention": false, "model": "m"}`, time.Now())
	copyFile(t, filepath.Join(fixtureDir, "results_2026-02-09T10-11-12.345678.json"), filepath.Join(dir, "results_1.json"), time.Now())
	rows, err := Collect(dir, nil)
	require.NoError(t, err, "flat")
	require.Len(t, rows, 1, "flat")
	require.Equal(t, "H200", rows[0].HW, "flat")
	require.Nil(t, rows[0].Passed, "flat")
	_, err = Collect(filepath.Join(dir, "missing"), nil)
	assert.Error(t, err, "missing root gave no error")
}

func TestMetaFromEnv(t *testing.T) {
	t.Parallel()
	env := map[string]string{
		"RESULT_FILENAME": "gptoss_1k8k_fp4_vllm_tp8-ep1-dpafalse_disagg-false_spec-none_conc64_h100-cr_0",
		"TP":              "8", "CONC": "64", "MODEL": "openai/gpt-oss-120b", "DP_ATTENTION": "true", "ISL": "1024", "OSL": "8192",
	}
	m, err := MetaFromEnv(func(k string) string { return env[k] })
	require.NoError(t, err)
	want := result.MetaEnv{Framework: "vllm", Precision: "fp4", TP: 8, Conc: 64, EP: 1, DPAttention: true,
		Model: "openai/gpt-oss-120b", HW: "unknown", ISL: "1024", OSL: "8192"}
	assert.Equal(t, want, m, "meta")
	env["TP"], env["CONC"] = "eight", "x"
	_, err = MetaFromEnv(func(k string) string { return env[k] })
	assert.ErrorContains(t, err, `TP="eight"`, "bad numbers")
	assert.Contains(t, err.Error(), `CONC="x"`, "bad numbers")
}
