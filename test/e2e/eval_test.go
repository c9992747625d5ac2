package e2e

import (
	"bytes"
	"context"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/inferbench/inferbench/internal/eval"
	"github.com/inferbench/inferbench/internal/result"
)

// TestEvalInsideTheEngineEnvironment: a row with run-eval whose eval is placed inside the
// engine's container. The "harness" is the agent's built-in eval, so the whole path runs
// for real with no Python: on docker through the Engine API's exec endpoints in the
// FROM-scratch simulator container, writing into the mounted workspace; on Slurm as an
// `srun --overlap` step in the server's allocation. The host then reads the results,
// re-scores the samples, writes the eval artifacts and the manifest's eval row, and leaves no
// container or job behind.
func TestEvalInsideTheEngineEnvironment(t *testing.T) {
	for _, tc := range []struct {
		backend, runner string
		up              func(context.Context) bool
		agentPath       func(t *testing.T) string // the agent as the engine's environment sees it
		workDir         string
		left            func(t *testing.T, ctx context.Context, runID string) string
	}{
		{"docker", "ci-docker_0", dockerUp, func(*testing.T) string { return "/agent" }, "/workspace/eval_work-", containersOf},
		{"slurm", "ci-slurm_0", slurmUp, agent, "", jobsOf},
	} {
		t.Run(tc.backend, func(t *testing.T) {
			ctx := ctxT(t, 3*time.Minute)
			need(t, tc.backend, tc.up(ctx))
			if tc.backend == "docker" {
				buildImage(t, ctx)
			}
			a := newRun(t, "sim", 1)
			script, err := eval.SimScript(func(i int) bool { return i == 3 }) // 7 of the first 8 right
			require.NoError(t, err)
			require.NoError(t, os.WriteFile(filepath.Join(a.out, "sim-script.json"), script, 0o644))
			cfg, err := os.ReadFile("testdata/eval-in-container.yaml")
			require.NoError(t, err)
			cfgPath := filepath.Join(t.TempDir(), "eval-harness.yaml")
			require.NoError(t, os.WriteFile(cfgPath, bytes.ReplaceAll(cfg, []byte("- /agent\n"), []byte("- "+tc.agentPath(t)+"\n")), 0o644))
			entry := strings.Replace(a.entry(4), `"run-eval": false`, `"run-eval": true`, 1)
			a.exec(t, "testdata/eval-recipes.yaml", tc.runner, entry, "--num-prompts", "8",
				"--eval-config", cfgPath, "--eval-thresholds", "../../configs/eval-thresholds.yaml")
			require.Equal(t, 0, a.code, "exit")
			log := a.stderr.String()
			workDir := tc.workDir
			if workDir == "" {
				workDir = filepath.Join(a.out, "eval_work-")
			}
			assert.Contains(t, log, "running the harness inside the engine's environment (work dir "+workDir, "the eval did")
			assert.NotContains(t, log, "running lm-eval next to it", "the eval did")
			m := a.manifest(t, 4, tc.runner)
			require.Equal(t, result.StatusSuccess, m.Status, "manifest")
			require.NotNil(t, m.Eval, "manifest")
			require.NotNil(t, m.Eval.Passed, "manifest")
			require.True(t, *m.Eval.Passed, "manifest status")
			e := m.Eval
			assert.Equal(t, "gsm8k", e.Task, "eval row")
			require.NotNil(t, e.EMStrict, "eval row")
			assert.Equal(t, 0.875, *e.EMStrict, "eval row")
			assert.Equal(t, 4, e.Conc, "eval row")
			assert.Equal(t, "sim-model", e.Model, "eval row")
			evalDir := filepath.Join(a.out, result.EvalArtifact("sim_64_16", m.ResultFilename))
			for _, pattern := range []string{"meta_env.json", "results_*.json", "samples_gsm8k_*.jsonl", "lm_eval.log"} {
				got, _ := filepath.Glob(filepath.Join(evalDir, pattern))
				assert.Len(t, got, 1, "%s in %s", pattern, evalDir)
			}
			if res, _ := filepath.Glob(filepath.Join(evalDir, "results_*.json")); len(res) == 1 {
				b, _ := os.ReadFile(res[0])
				assert.Contains(t, string(b), "num_concurrent=4", "CONC did not reach the command through the exec's environment")
			}
			rows, err := eval.Collect(a.out, nil)
			assert.NoError(t, err, "collected")
			require.Len(t, rows, 1, "collected")
			assert.Equal(t, 8, *rows[0].NEff, "collected")
			assert.Equal(t, 4, rows[0].Conc, "collected")
			workDirs, _ := filepath.Glob(filepath.Join(a.out, "eval_work-*"))
			assert.Empty(t, workDirs, "work directories left behind")
			left := tc.left(t, ctx, a.runID)
			assert.Empty(t, left, "%s left behind", tc.backend)
		})
	}
}
