package main

import (
	"bytes"
	"context"
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/inferbench/inferbench/internal/engine"
	"github.com/inferbench/inferbench/internal/eval"
	"github.com/inferbench/inferbench/internal/execx"
	"github.com/inferbench/inferbench/internal/result"
	"github.com/inferbench/inferbench/internal/rowrun"
)

// agentHarness is an eval config whose "harness" is this agent's built-in eval, placed as
// the test says: the whole harness path (task files, command, output reading, re-scoring)
// with no Python.
func agentHarness(t *testing.T, placement string) string {
	t.Helper()
	cfg := `mode: harness
harness:
  name: agent-builtin
  commit: 0000000000000000000000000000000000000000
  placement: ` + placement + `
  command: [/agent, eval, --base-url, "${base_url}", --model, "${model}", --limit, "8", --retries, "0", --result-dir, "${output_path}"]
  env: {CONC: "${conc}"}
tasks:
  gsm8k: {num_fewshot: 2, yaml: "unused"}
`
	p := filepath.Join(t.TempDir(), "eval-harness.yaml")
	require.NoError(t, os.WriteFile(p, []byte(cfg), 0o644))
	return p
}

// inProcessAgent runs `/agent eval ...` in this process; mount maps container paths to the
// host (the workspace bind mount) and env is the command's environment.
func inProcessAgent(argv, env []string, mount func(string) string) (stdout, stderr []byte, code int, err error) {
	if len(argv) < 2 || argv[0] != "/agent" || argv[1] != "eval" {
		return nil, nil, -1, errors.New("not found: " + strings.Join(argv, " "))
	}
	vars := map[string]string{}
	for _, kv := range env {
		k, v, _ := strings.Cut(kv, "=")
		vars[k] = v
	}
	args := make([]string, 0, len(argv)-2)
	for _, a := range argv[2:] {
		args = append(args, mount(a))
	}
	e, out, errb := evalEnv(vars)
	code = cmdEval(context.Background(), e, args)
	return out.Bytes(), errb.Bytes(), code, nil
}

// The row evaluator runs the harness through the server's Exec when the recipe places it
// in the container: paths under the container's workspace, the env through the exec, the
// outputs read back on the host. Without an Exec it runs next to the engine with a warning;
// placement host never uses the Exec.
func TestRowEvaluatorRunsTheHarnessInTheContainer(t *testing.T) {
	t.Parallel()
	base := startScriptedSim(t, func(i int) bool { return i == 3 })
	for _, tc := range []struct {
		name, placement string
		exec            bool
		wantIn          bool // ran through the exec
		wantWarn        bool
	}{
		{"container placement, backend can exec", eval.PlacementContainer, true, true, false},
		{"container placement, backend cannot exec", eval.PlacementContainer, false, false, true},
		{"host placement ignores the exec", eval.PlacementHost, true, false, false},
	} {
		t.Run(tc.name, func(t *testing.T) {
			out := t.TempDir()
			var execArgv [][]string
			host := &execx.Fake{Default: func(_ context.Context, c execx.Cmd) (execx.Result, error) {
				if c.Name == "env" { // env(1) carries the variables on the host
					c.Env, c.Name, c.Args = c.Args[:1], c.Args[1], c.Args[2:]
				}
				so, se, code, err := inProcessAgent(append([]string{c.Name}, c.Args...), c.Env, func(s string) string { return s })
				c.Stdout.Write(so)
				c.Stderr.Write(se)
				if code != 0 {
					return execx.Result{ExitCode: code}, &execx.ExitError{Cmd: c, ExitCode: code}
				}
				return execx.Result{}, err
			}}
			var log bytes.Buffer
			ev, err := newRowEvaluator(agentHarness(t, tc.placement), thresholdsFile, "", host, func(string) string { return "" }, &log)
			require.NoError(t, err)
			target := rowrun.EvalTarget{BaseURL: base, Model: "sim-model", Conc: 4, OutDir: out, Stem: "sim_1k8k_fp8_sim_tp1_conc4_ci", HW: "ci",
				Row: rowrun.Row{Model: "sim-model", Precision: "fp8", Framework: "sim", Runner: "ci", ISL: 1024, OSL: 8192, TP: 1, EP: 1,
					SpecDecoding: "none", ExpName: "sim_1k8k", RunEval: true}}
			if tc.exec {
				target.ExecOutDir = "/workspace"
				target.Exec = func(_ context.Context, argv, env []string) (engine.ExecResult, error) {
					execArgv = append(execArgv, argv)
					so, se, code, err := inProcessAgent(argv, env, func(s string) string {
						if rest, ok := strings.CutPrefix(s, "/workspace/"); ok {
							return filepath.Join(out, rest)
						}
						return s
					})
					return engine.ExecResult{Stdout: so, Stderr: se, ExitCode: code}, err
				}
			}
			row, err := ev.Eval(context.Background(), target)
			require.NoError(t, err, "%v\n%s", err, log.String())
			require.Equal(t, tc.wantIn, len(execArgv) > 0)
			require.NotEqual(t, tc.wantIn, len(host.Calls()) > 0)
			assert.False(t, tc.wantIn && !strings.Contains(strings.Join(execArgv[0], " "), "--result-dir /workspace/eval_work-"), "the harness did not write into the container's workspace")
			assert.Equal(t, tc.wantWarn, strings.Contains(log.String(), "next to it"))
			assert.Equal(t, 0.875, *row.EMStrict)
			assert.True(t, *row.Passed, "row %+v", row)
			assert.Equal(t, 4, row.Conc)
			dir := filepath.Join(out, result.EvalArtifact("sim_1k8k", target.Stem))
			for _, pattern := range []string{"meta_env.json", "results_*.json", "samples_gsm8k_*.jsonl", "lm_eval.log"} {
				got, _ := filepath.Glob(filepath.Join(dir, pattern))
				assert.Len(t, got, 1, "%s", pattern)
			}
			res, _ := filepath.Glob(filepath.Join(dir, "results_*.json"))
			b, _ := os.ReadFile(res[0])
			assert.Contains(t, string(b), "num_concurrent=4", "CONC did not reach the harness")
			left, _ := filepath.Glob(filepath.Join(out, "eval_work-*"))
			assert.Empty(t, left, "work directories left behind")
		})
	}
}
