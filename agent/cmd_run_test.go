package main

import (
	"encoding/json"
	"os"
	"path/filepath"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

const dryRunRow = `{"image": "vllm/vllm-openai:v0.13.0", "model": "openai/gpt-oss-120b", "model-prefix": "gptoss", "precision": "fp4",
 "framework": "vllm", "runner": "h200", "isl": 1024, "osl": 1024, "tp": 2, "conc": [4, 8], "max-model-len": 2248, "ep": 1,
 "dp-attn": false, "spec-decoding": "none", "exp-name": "gptoss_1k1k", "disagg": false, "run-eval": false}`

// The dry run prints the launches a row would start with our own configs, and starts and
// writes nothing.
func TestRunDryRun(t *testing.T) {
	t.Parallel()
	out := filepath.Join(t.TempDir(), "out")
	cfg := filepath.Join("..", "configs")
	args := []string{"run", "--entry", dryRunRow, "--runner-name", "h200-cw_0", "--out", out,
		"--recipes", filepath.Join(cfg, "recipes.yaml"), "--inventory", filepath.Join(cfg, "inventory.yaml")}

	r := runAgent(t, nil, append(args, "--dry-run")...)
	require.Equal(t, exitOK, r.code, r.stderr)
	var plan struct {
		Launches []struct {
			Backend map[string]any `json:"backend"`
			Engine  struct {
				Argv  []string          `json:"argv"`
				Env   map[string]string `json:"env"`
				Files map[string]string `json:"files"`
				Setup []map[string]any  `json:"setup"`
			} `json:"engine"`
			Points []struct {
				Conc   int            `json:"conc"`
				Client map[string]any `json:"client"`
			} `json:"points"`
		} `json:"launches"`
	}
	require.NoError(t, json.Unmarshal([]byte(r.stdout), &plan), r.stdout)
	require.Len(t, plan.Launches, 2, "--max-num-seqs follows the concurrency: one launch per point")
	l := plan.Launches[0]
	assert.Equal(t, "slurm", l.Backend["kind"])
	assert.Contains(t, l.Engine.Argv, "--max-num-seqs=4")
	assert.Equal(t, "1", l.Engine.Env["VLLM_MXFP4_USE_MARLIN"])
	assert.Contains(t, l.Engine.Files["config.yaml"], "max-model-len: 2068")
	assert.Equal(t, []map[string]any{{"run": []any{"pip", "install", "datasets", "pandas"}}}, l.Engine.Setup)
	assert.Equal(t, map[string]any{"backend": "vllm", "endpoint": "/v1/completions", "prompt_form": "token-ids", "chat_template": false,
		"input_len": 1024.0, "output_len": 1024.0, "random_range_ratio": 0.8, "max_concurrency": 4.0, "num_prompts": 40.0,
		"num_warmups": 8.0, "ignore_eos": true, "request_rate": "inf"}, l.Points[0].Client)
	assert.NoDirExists(t, out, "a dry run writes nothing")

	r = runAgent(t, nil, append(args, "--dry-run=text")...)
	require.Equal(t, exitOK, r.code, r.stderr)
	assert.Contains(t, r.stdout, "recipe: vllm-gptoss-h200")
	assert.Contains(t, r.stdout, "setup:   pip install datasets pandas")

	r = runAgent(t, nil, append(args, "--dry-run=yaml")...)
	assert.Equal(t, exitUsage, r.code)
	assert.Contains(t, r.stderr, "--dry-run=text")

	r = runAgent(t, nil, "run", "--entry", dryRunRow, "--runner-name", "nowhere_0", "--dry-run",
		"--recipes", filepath.Join(cfg, "recipes.yaml"), "--inventory", filepath.Join(cfg, "inventory.yaml"))
	assert.Equal(t, exitUsage, r.code)
	assert.Contains(t, r.stderr, `no family "nowhere"`)
	_, err := os.Stat(out)
	assert.True(t, os.IsNotExist(err))
}

// TestRunReadsOnlyTheEnvironmentItIsGiven: the engine's forwarded tokens come from the
// environment the command was handed, not from the process's.
func TestRunReadsOnlyTheEnvironmentItIsGiven(t *testing.T) {
	t.Setenv("HF_TOKEN", "from-the-process")
	cfg := filepath.Join("..", "configs")
	args := []string{"run", "--entry", dryRunRow, "--runner-name", "h200-cw_0", "--dry-run",
		"--recipes", filepath.Join(cfg, "recipes.yaml"), "--inventory", filepath.Join(cfg, "inventory.yaml")}
	forwarded := func(envVars map[string]string) []string {
		r := runAgent(t, envVars, args...)
		require.Equal(t, exitOK, r.code, r.stderr)
		var plan struct {
			Launches []struct {
				Engine struct {
					ForwardEnv []string `json:"forward_env"`
				} `json:"engine"`
			} `json:"launches"`
		}
		require.NoError(t, json.Unmarshal([]byte(r.stdout), &plan))
		require.NotEmpty(t, plan.Launches)
		return plan.Launches[0].Engine.ForwardEnv
	}
	assert.Empty(t, forwarded(nil), "the process's HF_TOKEN leaked into the plan")
	assert.Equal(t, []string{"HF_TOKEN"}, forwarded(map[string]string{"HF_TOKEN": "given"}))
}

// An agentic-coding row of the 2026-08 generator is refused before anything starts, with
// the usage status and a message that says trace replay is planned.
func TestRunRefusesAgenticRows(t *testing.T) {
	t.Parallel()
	const row = `{"image": "img", "model": "m", "model-prefix": "qwen", "precision": "fp8", "framework": "sglang",
 "runner": "cluster:h100-dgxc", "tp": 8, "pp": 1, "dcp-size": 1, "pcp-size": 1, "ep": 8, "dp-attn": false,
 "spec-decoding": "none", "conc": 4, "kv-offloading": "none", "total-cpu-dram-gb": 0, "duration": 3600,
 "exp-name": "qwen_tp8_conc4_kvnone", "scenario-type": "agentic-coding", "run-eval": false}`
	out := t.TempDir()
	r := runAgent(t, nil, "run", "--entry", row, "--out", out, "--recipes", "/nonexistent", "--inventory", "/nonexistent")
	assert.Equal(t, exitUsage, r.code, r.stderr)
	assert.Contains(t, r.stderr, "trace replay is not supported yet (planned)")
	entries, err := os.ReadDir(out)
	require.NoError(t, err)
	assert.Empty(t, entries, "a refused row left files behind")
	r = runAgent(t, map[string]string{"MODEL": "m", "CONC": "4", "SCENARIO_TYPE": "agentic-coding"}, "run", "--out", out)
	assert.Equal(t, exitUsage, r.code, "from the environment: %s", r.stderr)
	assert.Contains(t, r.stderr, "trace replay is not supported yet (planned)")
}
