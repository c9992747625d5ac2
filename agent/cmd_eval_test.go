package main

import (
	"bytes"
	"context"
	"encoding/json"
	"net"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/inferbench/inferbench/internal/engine"
	"github.com/inferbench/inferbench/internal/eval"
	"github.com/inferbench/inferbench/internal/execx"
	"github.com/inferbench/inferbench/internal/inventory"
	"github.com/inferbench/inferbench/internal/recipe"
	"github.com/inferbench/inferbench/internal/result"
	"github.com/inferbench/inferbench/internal/rowrun"
	"github.com/inferbench/inferbench/internal/sim"
)

var (
	thresholdsFile = filepath.Join("..", "configs", "eval-thresholds.yaml")
	harnessFile    = filepath.Join("..", "configs", "eval-harness.yaml")
)

// startScriptedSim serves the simulator in script mode on 127.0.0.1 with the rules file
// eval.SimScript writes (what `agent serve-sim --mode script --script FILE` reads): each
// built-in gsm8k question is answered with its worked reference answer, or a wrong one
// where wrong(i).
func startScriptedSim(t *testing.T, wrong func(i int) bool) string {
	t.Helper()
	script, err := eval.SimScript(wrong)
	require.NoError(t, err)
	path := filepath.Join(t.TempDir(), "gsm8k-script.json")
	require.NoError(t, os.WriteFile(path, script, 0o644))
	rules, err := sim.LoadScript(path)
	require.NoError(t, err)
	s, err := sim.New(sim.Config{Model: "sim-model", Mode: sim.ModeScript, Script: rules})
	require.NoError(t, err)
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	require.NoError(t, err)
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- s.Serve(ctx, ln) }()
	t.Cleanup(func() {
		cancel()
		assert.NoError(t, <-done, "simulator")
	})
	return "http://" + ln.Addr().String()
}

func evalEnv(vars map[string]string) (env, *bytes.Buffer, *bytes.Buffer) {
	var out, errb bytes.Buffer
	return env{stdin: strings.NewReader(""), stdout: &out, stderr: &errb, getenv: func(k string) string { return vars[k] }}, &out, &errb
}

var rowEnv = map[string]string{
	"FRAMEWORK": "sim", "PRECISION": "fp8", "SPEC_DECODING": "none", "TP": "8", "EP_SIZE": "1",
	"DP_ATTENTION": "false", "RUNNER_TYPE": "h100-sim", "ISL": "1024", "OSL": "8192",
}

func TestEvalCommandAgainstSimulator(t *testing.T) {
	t.Parallel()
	base := startScriptedSim(t, func(i int) bool { return i == 3 })
	root := t.TempDir()
	dir := filepath.Join(root, "eval_sim_1k8k_stem")
	e, out, errb := evalEnv(rowEnv)
	code := cmdEval(context.Background(), e, []string{"--base-url", base, "--model", "sim-model", "--task", "gsm8k",
		"--limit", "20", "--concurrency", "4", "--num-fewshot", "2", "--result-dir", dir, "--thresholds", thresholdsFile})
	require.Equal(t, exitOK, code, "exit %d\nstdout:\n%s\nstderr:\n%s", code, out, errb)
	assert.Contains(t, out.String(), "gsm8k: em_strict 0.9500", "stdout")
	assert.Contains(t, out.String(), "meets the minimum 0.8500", "stdout")
	for _, pattern := range []string{"meta_env.json", "results_*.json", "samples_gsm8k_*.jsonl"} {
		m, _ := filepath.Glob(filepath.Join(dir, pattern))
		assert.Len(t, m, 1, "%s", pattern)
	}
	th, err := eval.LoadThresholds(thresholdsFile)
	require.NoError(t, err)
	rows, err := eval.Collect(root, th)
	require.NoError(t, err, "collect")
	require.Len(t, rows, 1, "collect")
	r := rows[0]
	assert.Equal(t, "sim-model", r.Model, "row")
	assert.Equal(t, "H100-SIM", r.HW, "row")
	assert.Equal(t, "sim", r.Framework, "row")
	assert.Equal(t, 8, r.TP, "row")
	assert.Equal(t, 4, r.Conc, "row")
	assert.Equal(t, 0.95, *r.EMStrict, "row")
	assert.Equal(t, 0.95, *r.EMFlexible, "row")
	assert.Equal(t, 20, *r.NEff, "row")
	assert.Equal(t, "em_strict", *r.ScoreName, "row")
	assert.True(t, *r.Passed, "row %+v", r)
	assert.Equal(t, 0.85, *r.Threshold, "row")
	// the samples file is in the harness's format: the re-scorer reads it back and agrees.
	samples, _ := filepath.Glob(filepath.Join(dir, "samples_gsm8k_*.jsonl"))
	e, out, _ = evalEnv(nil)
	assert.Equal(t, exitOK, cmdEval(context.Background(), e, []string{"--rescore", samples[0]}))
	assert.Contains(t, out.String(), "re-scored 40 sample lines")
}

func TestEvalCommandBelowThresholdFails(t *testing.T) {
	t.Parallel()
	base := startScriptedSim(t, func(i int) bool { return i%2 == 0 })
	root := t.TempDir()
	e, out, errb := evalEnv(rowEnv)
	code := cmdEval(context.Background(), e, []string{"--base-url", base + "/v1", "--model", "sim-model", "--limit", "10",
		"--concurrency", "2", "--result-dir", filepath.Join(root, "eval_x"), "--thresholds", thresholdsFile})
	require.Equal(t, exitBenchFail, code, "exit %d, want %d\nstdout:\n%s\nstderr:\n%s", code, exitBenchFail, out, errb)
	assert.Contains(t, errb.String(), "eval failed: gsm8k score 0.5000 is below the minimum 0.8500 for sim-model", "stderr")
	rows, _ := eval.Collect(root, nil)
	require.Len(t, rows, 1)
	require.Equal(t, 0.5, *rows[0].Score)
}

func TestEvalCommandUsageAndUnreachable(t *testing.T) {
	e, _, errb := evalEnv(nil)
	assert.Equal(t, exitUsage, cmdEval(context.Background(), e, []string{"--limit", "-1"}))
	assert.Contains(t, errb.String(), "base URL")
	e, _, errb = evalEnv(nil)
	assert.Equal(t, exitUsage, cmdEval(context.Background(), e, []string{"--base-url", "http://127.0.0.1:1", "--model", "m", "--thresholds", "nope.yaml"}),
		"missing thresholds file: %s", errb)
	// a port nothing listens on: every request fails.
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	require.NoError(t, err)
	addr := ln.Addr().String()
	ln.Close()
	e, _, errb = evalEnv(nil)
	code := cmdEval(context.Background(), e, []string{"--base-url", "http://" + addr, "--model", "m", "--limit", "2", "--retries", "0", "--result-dir", t.TempDir()})
	assert.Equal(t, exitEngine, code, "unreachable")
	assert.Contains(t, errb.String(), "all 2 eval requests failed", "unreachable")
}

// The runner's hook: a row with run-eval gets its eval artifacts under
// <out>/eval_<exp>_<stem>/, a row for agg_eval_all.json, and an error (eval_failed) when the
// score is below its threshold.
func TestRowEvaluatorHook(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct {
		name  string
		wrong func(int) bool
		pass  bool
	}{
		{"passes", func(int) bool { return false }, true},
		{"below threshold", func(i int) bool { return i%3 == 0 }, false},
	} {
		t.Run(tc.name, func(t *testing.T) {
			base := startScriptedSim(t, tc.wrong)
			ev, err := newRowEvaluator(harnessFile, thresholdsFile, eval.ModeBuiltin, nil, func(string) string { return "" }, nil)
			require.NoError(t, err)
			out := t.TempDir()
			row := rowrun.Row{Model: "sim-model", Precision: "fp8", Framework: "sim", Runner: "h100", ISL: 1024, OSL: 8192,
				TP: 2, EP: 1, SpecDecoding: "none", ExpName: "sim_1k8k", RunEval: true}
			got, err := ev.Eval(context.Background(), rowrun.EvalTarget{BaseURL: base, Model: "sim-model", Conc: 8, Row: row,
				OutDir: out, Stem: "sim_1k8k_fp8_sim_tp2_conc8_h100", HW: "h100"})
			if tc.pass {
				require.NoError(t, err)
			} else {
				require.ErrorContains(t, err, "below the minimum")
			}
			require.NotNil(t, got, "row")
			require.Equal(t, tc.pass, *got.Passed, "row")
			dir := filepath.Join(out, "eval_sim_1k8k_sim_1k8k_fp8_sim_tp2_conc8_h100")
			_, err = os.Stat(filepath.Join(dir, eval.MetaEnvFile))
			assert.NoError(t, err)
			rows, err := eval.Collect(out, nil)
			require.NoError(t, err, "collected")
			require.Len(t, rows, 1, "collected")
			require.Equal(t, 32, *rows[0].NEff, "collected")
			require.Equal(t, 8, rows[0].Conc, "collected")
			require.Equal(t, "H100", rows[0].HW, "collected")
			leftovers, _ := filepath.Glob(filepath.Join(out, "eval_work-*"))
			assert.Empty(t, leftovers, "work directories left behind")
		})
	}
}

// scriptSimBackend launches the in-process simulator, in script mode, on the port of the
// spec: a engine.Backend for a whole `agent run` of a row without processes or containers.
type scriptSimBackend struct{ rules []sim.Rule }

func (b *scriptSimBackend) Name() string                          { return "local" }
func (b *scriptSimBackend) Cleanup(context.Context, string) error { return nil }

func (b *scriptSimBackend) Start(_ context.Context, s engine.Spec) (engine.Server, error) {
	simEngine, err := sim.New(sim.Config{Model: "sim-model", Mode: sim.ModeScript, Script: b.rules, LaunchToken: s.Token})
	if err != nil {
		return nil, err
	}
	ln, err := net.Listen("tcp", "127.0.0.1:"+strconv.Itoa(s.Port))
	if err != nil {
		return nil, err
	}
	ctx, cancel := context.WithCancel(context.Background())
	srv := &scriptSimServer{spec: s, cancel: cancel, done: make(chan struct{})}
	go func() { defer close(srv.done); _ = simEngine.Serve(ctx, ln) }()
	return srv, nil
}

type scriptSimServer struct {
	spec   engine.Spec
	cancel context.CancelFunc
	done   chan struct{}
}

func (s *scriptSimServer) Info() engine.Info {
	return engine.Info{Backend: "local", ID: s.spec.Name, Name: s.spec.Name, Host: "127.0.0.1"}
}
func (s *scriptSimServer) LogPath() string       { return s.spec.LogPath }
func (s *scriptSimServer) Done() <-chan struct{} { return s.done }
func (s *scriptSimServer) Exit() engine.Exit     { return engine.Exit{Code: 0} }
func (s *scriptSimServer) Stop(context.Context) error {
	s.cancel()
	<-s.done
	return nil
}

// A whole row through rowrun.Run with run-eval: true: the throughput point, then the eval
// on the same server through the hook `agent run` wires, the eval artifacts under
// <out>/eval_<exp>_<stem>/, the manifest's eval row, a collected agg_eval_all.json row, and
// a model answering worse than its threshold marked eval_failed.
func TestRunRowWithEvalAgainstSimulator(t *testing.T) {
	t.Parallel()
	set, err := recipe.Parse("r.yaml", []byte(`recipes:
  - name: sim
    match: {framework: sim}
    command: [engine]
    args: ["--port={{.Port}}"]
    gpus: "0"
    ready-timeout: 10s
`))
	require.NoError(t, err)
	inv, err := inventory.Parse("i.yaml", []byte("families:\n  ci-local: {gpu: cpu, vendor: none, backend: local, port: 0}\n"))
	require.NoError(t, err)
	for _, tc := range []struct {
		name  string
		wrong func(int) bool
		pass  bool
	}{
		{"accurate", func(i int) bool { return i == 5 }, true},
		{"degraded", func(i int) bool { return i%2 == 1 }, false},
	} {
		t.Run(tc.name, func(t *testing.T) {
			script, err := eval.SimScript(tc.wrong)
			require.NoError(t, err)
			var rules []sim.Rule
			require.NoError(t, json.Unmarshal(script, &rules))
			ev, err := newRowEvaluator(harnessFile, thresholdsFile, eval.ModeBuiltin, nil, func(string) string { return "" }, nil)
			require.NoError(t, err)
			out := t.TempDir()
			var log bytes.Buffer
			rep, err := rowrun.Run(context.Background(), rowrun.Options{
				Row: rowrun.Row{Image: "img", Model: "sim-model", ModelPrefix: "sim", Precision: "fp8", Framework: "sim", Runner: "ci",
					ISL: 32, OSL: 8, TP: 1, EP: 1, Conc: rowrun.Concs{4}, SpecDecoding: "none", ExpName: "sim_1k8k", RunEval: true},
				RunnerName: "ci-local_0", RunnerType: "h100-sim", OutDir: out, Recipes: set, Inventory: inv,
				Backend: &scriptSimBackend{rules: rules}, RunID: "e2e", NumPrompts: 8, NumWarmups: 0, Log: &log,
				ReadyInterval: 20 * time.Millisecond, WatchInterval: 20 * time.Millisecond, Exec: &execx.Fake{}, AgentVersion: "test",
				Evaluator: ev,
			})
			require.Equal(t, err == nil, tc.pass, "run error %v\n%s", err, log.String())
			require.NotNil(t, rep, "report")
			require.Len(t, rep.Points, 1, "report")
			m := rep.Points[0]
			wantStatus := result.StatusSuccess
			if !tc.pass {
				wantStatus = result.StatusEvalFailed
				assert.Contains(t, err.Error(), "below the minimum 0.8500", "run")
			}
			require.Equal(t, wantStatus, m.Status, "manifest")
			require.NotNil(t, m.Eval, "manifest")
			require.Equal(t, tc.pass, *m.Eval.Passed, "manifest")
			// the manifest on disk says the same
			b, err := os.ReadFile(filepath.Join(out, result.ManifestFile(m.ResultFilename)))
			require.NoError(t, err)
			var onDisk result.Manifest
			assert.NoError(t, json.Unmarshal(b, &onDisk), "manifest on disk: %s", b)
			assert.Equal(t, wantStatus, onDisk.Status, "manifest on disk: %s", b)
			assert.NotNil(t, onDisk.Eval, "manifest on disk: %s", b)
			evalDir := filepath.Join(out, result.EvalArtifact("sim_1k8k", m.ResultFilename))
			for _, pattern := range []string{"meta_env.json", "results_*.json", "samples_gsm8k_*.jsonl"} {
				got, _ := filepath.Glob(filepath.Join(evalDir, pattern))
				assert.Len(t, got, 1, "%s in %s", pattern, evalDir)
			}
			th, _ := eval.LoadThresholds(thresholdsFile)
			rows, err := eval.Collect(out, th)
			require.NoError(t, err, "collect")
			require.Len(t, rows, 1, "collect")
			r := rows[0]
			wantScore := 31.0 / 32
			if !tc.pass {
				wantScore = 0.5
			}
			assert.Equal(t, "H100-SIM", r.HW, "collected row")
			assert.Equal(t, "sim", r.Framework, "collected row")
			assert.Equal(t, 4, r.Conc, "collected row")
			assert.Equal(t, wantScore, *r.Score, "collected row")
			assert.Equal(t, 32, *r.NEff, "collected row")
			assert.Equal(t, tc.pass, *r.Passed, "collected row")
			agg, err := eval.MarshalRows(rows)
			assert.NoError(t, err, "agg_eval_all.json")
			assert.Contains(t, string(agg), `"task": "gsm8k"`, "agg_eval_all.json")
		})
	}
}
