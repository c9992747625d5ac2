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

	"github.com/inferbench/inferbench/internal/engine"
	"github.com/inferbench/inferbench/internal/eval"
	"github.com/inferbench/inferbench/internal/execx"
	"github.com/inferbench/inferbench/internal/inventory"
	"github.com/inferbench/inferbench/internal/recipe"
	"github.com/inferbench/inferbench/internal/result"
	"github.com/inferbench/inferbench/internal/runner"
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
	if err != nil {
		t.Fatal(err)
	}
	path := filepath.Join(t.TempDir(), "gsm8k-script.json")
	if err := os.WriteFile(path, script, 0o644); err != nil {
		t.Fatal(err)
	}
	rules, err := sim.LoadScript(path)
	if err != nil {
		t.Fatal(err)
	}
	s, err := sim.New(sim.Config{Model: "sim-model", Mode: sim.ModeScript, Script: rules})
	if err != nil {
		t.Fatal(err)
	}
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- s.Serve(ctx, ln) }()
	t.Cleanup(func() {
		cancel()
		if err := <-done; err != nil {
			t.Errorf("simulator: %v", err)
		}
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
	base := startScriptedSim(t, func(i int) bool { return i == 3 })
	root := t.TempDir()
	dir := filepath.Join(root, "eval_sim_1k8k_stem")
	e, out, errb := evalEnv(rowEnv)
	code := cmdEval(context.Background(), e, []string{"--base-url", base, "--model", "sim-model", "--task", "gsm8k",
		"--limit", "20", "--concurrency", "4", "--num-fewshot", "2", "--result-dir", dir, "--thresholds", thresholdsFile})
	if code != exitOK {
		t.Fatalf("exit %d\nstdout:\n%s\nstderr:\n%s", code, out, errb)
	}
	if !strings.Contains(out.String(), "gsm8k: em_strict 0.9500") || !strings.Contains(out.String(), "meets the minimum 0.8500") {
		t.Errorf("stdout:\n%s", out)
	}
	for _, pattern := range []string{"meta_env.json", "results_*.json", "samples_gsm8k_*.jsonl"} {
		if m, _ := filepath.Glob(filepath.Join(dir, pattern)); len(m) != 1 {
			t.Errorf("%s: %v", pattern, m)
		}
	}
	th, err := eval.LoadThresholds(thresholdsFile)
	if err != nil {
		t.Fatal(err)
	}
	rows, err := eval.Collect(root, th)
	if err != nil || len(rows) != 1 {
		t.Fatalf("collect: %+v %v", rows, err)
	}
	r := rows[0]
	if r.Model != "sim-model" || r.HW != "H100-SIM" || r.Framework != "sim" || r.TP != 8 || r.Conc != 4 ||
		*r.EMStrict != 0.95 || *r.EMFlexible != 0.95 || *r.NEff != 20 || *r.ScoreName != "em_strict" || !*r.Passed || *r.Threshold != 0.85 {
		t.Errorf("row %+v", r)
	}
	// the samples file is in the harness's format: the re-scorer reads it back and agrees.
	samples, _ := filepath.Glob(filepath.Join(dir, "samples_gsm8k_*.jsonl"))
	e, out, _ = evalEnv(nil)
	if code := cmdEval(context.Background(), e, []string{"--rescore", samples[0]}); code != exitOK || !strings.Contains(out.String(), "re-scored 40 sample lines") {
		t.Errorf("rescore exit %d: %s", code, out)
	}
}

func TestEvalCommandBelowThresholdFails(t *testing.T) {
	base := startScriptedSim(t, func(i int) bool { return i%2 == 0 })
	root := t.TempDir()
	e, out, errb := evalEnv(rowEnv)
	code := cmdEval(context.Background(), e, []string{"--base-url", base + "/v1", "--model", "sim-model", "--limit", "10",
		"--concurrency", "2", "--result-dir", filepath.Join(root, "eval_x"), "--thresholds", thresholdsFile})
	if code != exitBenchFail {
		t.Fatalf("exit %d, want %d\nstdout:\n%s\nstderr:\n%s", code, exitBenchFail, out, errb)
	}
	if !strings.Contains(errb.String(), "eval failed: gsm8k score 0.5000 is below the minimum 0.8500 for sim-model") {
		t.Errorf("stderr:\n%s", errb)
	}
	rows, _ := eval.Collect(root, nil)
	if len(rows) != 1 || *rows[0].Score != 0.5 {
		t.Fatalf("rows %+v", rows)
	}
}

func TestEvalCommandUsageAndUnreachable(t *testing.T) {
	e, _, errb := evalEnv(nil)
	if code := cmdEval(context.Background(), e, []string{"--limit", "-1"}); code != exitUsage || !strings.Contains(errb.String(), "base URL") {
		t.Errorf("exit %d: %s", code, errb)
	}
	e, _, errb = evalEnv(nil)
	if code := cmdEval(context.Background(), e, []string{"--base-url", "http://127.0.0.1:1", "--model", "m", "--thresholds", "nope.yaml"}); code != exitUsage {
		t.Errorf("missing thresholds file: exit %d: %s", code, errb)
	}
	// a port nothing listens on: every request fails.
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	addr := ln.Addr().String()
	ln.Close()
	e, _, errb = evalEnv(nil)
	code := cmdEval(context.Background(), e, []string{"--base-url", "http://" + addr, "--model", "m", "--limit", "2", "--retries", "0", "--result-dir", t.TempDir()})
	if code != exitEngine || !strings.Contains(errb.String(), "all 2 eval requests failed") {
		t.Errorf("unreachable: exit %d: %s", code, errb)
	}
}

// The runner's hook: a row with run-eval gets its eval artifacts under
// <out>/eval_<exp>_<stem>/, a row for agg_eval_all.json, and an error (eval_failed) when the
// score is below its threshold.
func TestRowEvaluatorHook(t *testing.T) {
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
			if err != nil {
				t.Fatal(err)
			}
			out := t.TempDir()
			row := runner.Row{Model: "sim-model", Precision: "fp8", Framework: "sim", Runner: "h100", ISL: 1024, OSL: 8192,
				TP: 2, EP: 1, SpecDecoding: "none", ExpName: "sim_1k8k", RunEval: true}
			got, err := ev.Eval(context.Background(), runner.EvalTarget{BaseURL: base, Model: "sim-model", Conc: 8, Row: row,
				OutDir: out, Stem: "sim_1k8k_fp8_sim_tp2_conc8_h100", HW: "h100"})
			if tc.pass != (err == nil) || got == nil || *got.Passed != tc.pass {
				t.Fatalf("row %+v, err %v", got, err)
			}
			if !tc.pass && !strings.Contains(err.Error(), "below the minimum") {
				t.Errorf("error %v", err)
			}
			dir := filepath.Join(out, "eval_sim_1k8k_sim_1k8k_fp8_sim_tp2_conc8_h100")
			if _, err := os.Stat(filepath.Join(dir, eval.MetaEnvFile)); err != nil {
				t.Error(err)
			}
			rows, err := eval.Collect(out, nil)
			if err != nil || len(rows) != 1 || *rows[0].NEff != 32 || rows[0].Conc != 8 || rows[0].HW != "H100" {
				t.Fatalf("collected %+v, %v", rows, err)
			}
			if leftovers, _ := filepath.Glob(filepath.Join(out, "eval_work-*")); len(leftovers) != 0 {
				t.Errorf("work directories left behind: %v", leftovers)
			}
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

// A whole row through runner.Run with run-eval: true: the throughput point, then the eval
// on the same server through the hook `agent run` wires, the eval artifacts under
// <out>/eval_<exp>_<stem>/, the manifest's eval row, a collected agg_eval_all.json row, and
// a model answering worse than its threshold marked eval_failed.
func TestRunRowWithEvalAgainstSimulator(t *testing.T) {
	set, err := recipe.Parse("r.yaml", []byte(`recipes:
  - name: sim
    match: {framework: sim}
    command: [engine]
    args: ["--port={{.Port}}"]
    gpus: "0"
    ready-timeout: 10s
`))
	if err != nil {
		t.Fatal(err)
	}
	inv, err := inventory.Parse("i.yaml", []byte("families:\n  ci-local: {gpu: cpu, vendor: none, backend: local, port: 0}\n"))
	if err != nil {
		t.Fatal(err)
	}
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
			if err != nil {
				t.Fatal(err)
			}
			var rules []sim.Rule
			if err := json.Unmarshal(script, &rules); err != nil {
				t.Fatal(err)
			}
			ev, err := newRowEvaluator(harnessFile, thresholdsFile, eval.ModeBuiltin, nil, func(string) string { return "" }, nil)
			if err != nil {
				t.Fatal(err)
			}
			out := t.TempDir()
			var log bytes.Buffer
			rep, err := runner.Run(context.Background(), runner.Options{
				Row: runner.Row{Image: "img", Model: "sim-model", ModelPrefix: "sim", Precision: "fp8", Framework: "sim", Runner: "ci",
					ISL: 32, OSL: 8, TP: 1, EP: 1, Conc: runner.Concs{4}, SpecDecoding: "none", ExpName: "sim_1k8k", RunEval: true},
				RunnerName: "ci-local_0", RunnerType: "h100-sim", OutDir: out, Recipes: set, Inventory: inv,
				Backend: &scriptSimBackend{rules: rules}, RunID: "e2e", NumPrompts: 8, NumWarmups: 0, Log: &log,
				ReadyInterval: 20 * time.Millisecond, WatchInterval: 20 * time.Millisecond, Exec: &execx.Fake{}, AgentVersion: "test",
				Evaluator: ev,
			})
			if tc.pass != (err == nil) {
				t.Fatalf("run error %v\n%s", err, log.String())
			}
			if rep == nil || len(rep.Points) != 1 {
				t.Fatalf("report %+v", rep)
			}
			m := rep.Points[0]
			wantStatus := result.StatusSuccess
			if !tc.pass {
				wantStatus = result.StatusEvalFailed
				if !strings.Contains(err.Error(), "below the minimum 0.8500") {
					t.Errorf("run error %v", err)
				}
			}
			if m.Status != wantStatus || m.Eval == nil || *m.Eval.Passed != tc.pass {
				t.Fatalf("manifest status %s eval %+v message %q", m.Status, m.Eval, m.Message)
			}
			// the manifest on disk says the same
			b, err := os.ReadFile(filepath.Join(out, result.ManifestFile(m.ResultFilename)))
			if err != nil {
				t.Fatal(err)
			}
			var onDisk result.Manifest
			if err := json.Unmarshal(b, &onDisk); err != nil || onDisk.Status != wantStatus || onDisk.Eval == nil {
				t.Errorf("manifest on disk: %s (%v)", b, err)
			}
			evalDir := filepath.Join(out, result.EvalArtifact("sim_1k8k", m.ResultFilename))
			for _, pattern := range []string{"meta_env.json", "results_*.json", "samples_gsm8k_*.jsonl"} {
				if got, _ := filepath.Glob(filepath.Join(evalDir, pattern)); len(got) != 1 {
					t.Errorf("%s in %s: %v", pattern, evalDir, got)
				}
			}
			th, _ := eval.LoadThresholds(thresholdsFile)
			rows, err := eval.Collect(out, th)
			if err != nil || len(rows) != 1 {
				t.Fatalf("collect: %+v %v", rows, err)
			}
			r := rows[0]
			wantScore := 31.0 / 32
			if !tc.pass {
				wantScore = 0.5
			}
			if r.HW != "H100-SIM" || r.Framework != "sim" || r.Conc != 4 || *r.Score != wantScore || *r.NEff != 32 || *r.Passed != tc.pass {
				t.Errorf("collected row %+v", r)
			}
			agg, err := eval.MarshalRows(rows)
			if err != nil || !strings.Contains(string(agg), `"task": "gsm8k"`) {
				t.Errorf("agg_eval_all.json: %s %v", agg, err)
			}
		})
	}
}
