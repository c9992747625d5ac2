package e2e

import (
	"bytes"
	"context"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

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
			if err != nil {
				t.Fatal(err)
			}
			if err := os.WriteFile(filepath.Join(a.out, "sim-script.json"), script, 0o644); err != nil {
				t.Fatal(err)
			}
			cfg, err := os.ReadFile("testdata/eval-in-container.yaml")
			if err != nil {
				t.Fatal(err)
			}
			cfgPath := filepath.Join(t.TempDir(), "eval-harness.yaml")
			if err := os.WriteFile(cfgPath, bytes.ReplaceAll(cfg, []byte("- /agent\n"), []byte("- "+tc.agentPath(t)+"\n")), 0o644); err != nil {
				t.Fatal(err)
			}
			entry := strings.Replace(a.entry(4), `"run-eval": false`, `"run-eval": true`, 1)
			a.exec(t, "testdata/eval-recipes.yaml", tc.runner, entry, "--num-prompts", "8",
				"--eval-config", cfgPath, "--eval-thresholds", "../../configs/eval-thresholds.yaml")
			if a.code != 0 {
				t.Fatalf("exit %d, want 0", a.code)
			}
			log := a.stderr.String()
			workDir := tc.workDir
			if workDir == "" {
				workDir = filepath.Join(a.out, "eval_work-")
			}
			if !strings.Contains(log, "running the harness inside the engine's environment (work dir "+workDir) || strings.Contains(log, "running lm-eval next to it") {
				t.Errorf("the eval did not run in the engine's environment:\n%s", log)
			}
			m := a.manifest(t, 4, tc.runner)
			if m.Status != result.StatusSuccess || m.Eval == nil || m.Eval.Passed == nil || !*m.Eval.Passed {
				t.Fatalf("manifest status %s eval %+v", m.Status, m.Eval)
			}
			if e := m.Eval; e.Task != "gsm8k" || e.EMStrict == nil || *e.EMStrict != 0.875 || e.Conc != 4 || e.Model != "sim-model" {
				t.Errorf("eval row %+v", e)
			}
			evalDir := filepath.Join(a.out, result.EvalArtifact("sim_64_16", m.ResultFilename))
			for _, pattern := range []string{"meta_env.json", "results_*.json", "samples_gsm8k_*.jsonl", "lm_eval.log"} {
				if got, _ := filepath.Glob(filepath.Join(evalDir, pattern)); len(got) != 1 {
					t.Errorf("%s in %s: %v", pattern, evalDir, got)
				}
			}
			if res, _ := filepath.Glob(filepath.Join(evalDir, "results_*.json")); len(res) == 1 {
				if b, _ := os.ReadFile(res[0]); !strings.Contains(string(b), "num_concurrent=4") {
					t.Errorf("CONC did not reach the command through the exec's environment: %s", b)
				}
			}
			rows, err := eval.Collect(a.out, nil)
			if err != nil || len(rows) != 1 || *rows[0].NEff != 8 || rows[0].Conc != 4 {
				t.Errorf("collected %+v, %v", rows, err)
			}
			if left, _ := filepath.Glob(filepath.Join(a.out, "eval_work-*")); len(left) != 0 {
				t.Errorf("work directories left behind: %v", left)
			}
			if left := tc.left(t, ctx, a.runID); left != "" {
				t.Errorf("%s left behind: %s", tc.backend, left)
			}
		})
	}
}
