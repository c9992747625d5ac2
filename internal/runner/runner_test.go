package runner

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/inferbench/inferbench/internal/engine"
	"github.com/inferbench/inferbench/internal/execx"
	"github.com/inferbench/inferbench/internal/inventory"
	"github.com/inferbench/inferbench/internal/recipe"
	"github.com/inferbench/inferbench/internal/result"
	"github.com/inferbench/inferbench/internal/sim"
)

// simBackend "launches" the in-process simulator on the spec's port and records launches.
type simBackend struct {
	cfg      sim.Config
	startErr error

	mu       sync.Mutex
	specs    []engine.Spec
	stops    int
	cleanups []string
}

func (b *simBackend) Name() string { return "fake" }

func (b *simBackend) Start(ctx context.Context, s engine.Spec) (engine.Server, error) {
	b.mu.Lock()
	b.specs = append(b.specs, s)
	b.mu.Unlock()
	if b.startErr != nil {
		return nil, b.startErr
	}
	cfg := b.cfg
	cfg.Model = "sim-model"
	cfg.LaunchToken = s.Token // the simulator proves it is this launch's
	simEngine, err := sim.New(cfg)
	if err != nil {
		return nil, err
	}
	ln, err := net.Listen("tcp", "127.0.0.1:"+strconv.Itoa(s.Port))
	if err != nil {
		return nil, err
	}
	sctx, cancel := context.WithCancel(context.Background())
	srv := &simServer{b: b, spec: s, cancel: cancel, done: make(chan struct{})}
	go func() { defer close(srv.done); simEngine.Serve(sctx, ln) }()
	return srv, nil
}

func (b *simBackend) Cleanup(_ context.Context, runID string) error {
	b.mu.Lock()
	defer b.mu.Unlock()
	b.cleanups = append(b.cleanups, runID)
	return nil
}

type simServer struct {
	b      *simBackend
	spec   engine.Spec
	cancel context.CancelFunc
	done   chan struct{}
	once   sync.Once
}

func (s *simServer) Info() engine.Info {
	return engine.Info{Backend: "fake", ID: s.spec.Name, Name: s.spec.Name, Host: "127.0.0.1", ImageDigest: "sha256:feed"}
}
func (s *simServer) LogPath() string       { return s.spec.LogPath }
func (s *simServer) Done() <-chan struct{} { return s.done }
func (s *simServer) Exit() engine.Exit     { return engine.Exit{Code: 0} }
func (s *simServer) Stop(context.Context) error {
	s.once.Do(func() {
		s.cancel()
		<-s.done
		s.b.mu.Lock()
		s.b.stops++
		s.b.mu.Unlock()
	})
	return nil
}

const runnerRecipes = `recipes:
  - name: sim-conc
    match: {framework: sim}
    command: [engine]
    args:
      - --port={{.Port}}
      # changes at 16 concurrent requests, like SGLang's scheduler-recv-interval
      - --recv={{if ge .Conc 16}}30{{else}}10{{end}}
    gpus: "0"
    ready-timeout: 10s
`

const runnerInventory = `families:
  ci-local: {gpu: cpu, vendor: none, backend: local, port: 0}
`

func options(t *testing.T, b engine.Backend, conc ...int) (Options, *bytes.Buffer) {
	t.Helper()
	set, err := recipe.Parse("r.yaml", []byte(runnerRecipes))
	if err != nil {
		t.Fatal(err)
	}
	inv, err := inventory.Parse("i.yaml", []byte(runnerInventory))
	if err != nil {
		t.Fatal(err)
	}
	var log bytes.Buffer
	return Options{
		Row: Row{Image: "img", Model: "sim-model", ModelPrefix: "sim", Precision: "fp8", Framework: "sim", Runner: "ci",
			ISL: 32, OSL: 8, TP: 1, EP: 1, Conc: conc, SpecDecoding: "none"},
		RunnerName: "ci-local_0", OutDir: t.TempDir(), Recipes: set, Inventory: inv, Backend: b, RunID: "t1",
		NumPrompts: 12, NumWarmups: 0, Log: &log, ReadyInterval: 20 * time.Millisecond, WatchInterval: 20 * time.Millisecond,
		Exec: &execx.Fake{}, AgentVersion: "test",
	}, &log
}

func readManifest(t *testing.T, dir, stem string) *result.Manifest {
	t.Helper()
	b, err := os.ReadFile(filepath.Join(dir, result.ManifestFile(stem)))
	if err != nil {
		t.Fatal(err)
	}
	var m result.Manifest
	if err := json.Unmarshal(b, &m); err != nil {
		t.Fatal(err)
	}
	return &m
}

func TestServerReusedUntilTheLaunchChanges(t *testing.T) {
	b := &simBackend{cfg: sim.Config{TTFT: time.Millisecond, ITL: time.Millisecond}}
	o, log := options(t, b, 4, 8, 16, 32)
	rep, err := Run(context.Background(), o)
	if err != nil {
		t.Fatalf("%v\n%s", err, log)
	}
	if len(b.specs) != 2 {
		t.Fatalf("%d launches, want 2 (one below conc 16, one from 16)\n%s", len(b.specs), log)
	}
	var reused []bool
	for _, m := range rep.Points {
		reused = append(reused, m.ServerReused)
		if m.Status != result.StatusSuccess || m.ImageDigest != "sha256:feed" || m.AgentVersion != "test" {
			t.Errorf("conc %d: %+v", m.Conc, m)
		}
		for _, f := range []string{result.RawFile(m.ResultFilename), result.AggFile(m.ResultFilename), result.ManifestFile(m.ResultFilename)} {
			if _, err := os.Stat(filepath.Join(o.OutDir, f)); err != nil {
				t.Errorf("missing %s", f)
			}
		}
	}
	if fmt.Sprint(reused) != "[false true false true]" {
		t.Errorf("reused = %v", reused)
	}
	for _, want := range []string{"reusing server inferbench-t1-1: rendered launch identical", "restarting server: rendered launch differs (args ---recv=10 +--recv=30)"} {
		if !strings.Contains(log.String(), want) {
			t.Errorf("log lacks %q:\n%s", want, log)
		}
	}
	if b.stops != 2 || len(b.cleanups) != 1 || b.cleanups[0] != "t1" {
		t.Errorf("stops %d cleanups %v", b.stops, b.cleanups)
	}
	if s := b.specs[1]; s.Name != "inferbench-t1-2" || s.RunID != "t1" || !strings.HasSuffix(s.LogPath, "server.log") {
		t.Errorf("second launch spec: %+v", s)
	}
}

func TestBenchFailureKeepsGoingAndIsReported(t *testing.T) {
	b := &simBackend{cfg: sim.Config{TTFT: time.Millisecond, ITL: time.Millisecond, FailRate: 0.5, Seed: 1}}
	o, log := options(t, b, 2, 4)
	rep, err := Run(context.Background(), o)
	if KindOf(err) != KindBench {
		t.Fatalf("kind %v err %v\n%s", KindOf(err), err, log)
	}
	if len(rep.Points) != 2 {
		t.Fatalf("%d points", len(rep.Points))
	}
	for _, m := range rep.Points {
		if m.Status != result.StatusBenchFailed {
			t.Errorf("conc %d status %s", m.Conc, m.Status)
		}
		if _, err := os.Stat(filepath.Join(o.OutDir, result.AggFile(m.ResultFilename))); err != nil {
			t.Errorf("agg of a failed point missing: %v", err)
		}
	}
}

func TestStartFailureIsAnEngineFailureWithManifests(t *testing.T) {
	b := &simBackend{startErr: errors.New("image pull failed: manifest unknown")}
	o, _ := options(t, b, 2, 4)
	rep, err := Run(context.Background(), o)
	if KindOf(err) != KindEngine || !strings.Contains(err.Error(), "manifest unknown") {
		t.Fatalf("kind %v err %v", KindOf(err), err)
	}
	if len(rep.Points) != 2 || rep.Points[1].StopReason != "not run: an earlier point failed" {
		t.Fatalf("points %+v", rep.Points)
	}
	m := readManifest(t, o.OutDir, rep.Points[0].ResultFilename)
	if m.Status != result.StatusEngineFailed || !strings.Contains(m.Message, "manifest unknown") || len(m.Phases) == 0 || m.Phases[0].Status != "failed" {
		t.Errorf("manifest %+v", m)
	}
}

func TestTimeoutCancelsAndCleansUp(t *testing.T) {
	b := &simBackend{cfg: sim.Config{TTFT: 50 * time.Millisecond, ITL: 50 * time.Millisecond}}
	o, log := options(t, b, 1)
	o.NumPrompts, o.Timeout = 1000, 700*time.Millisecond
	start := time.Now()
	rep, err := Run(context.Background(), o)
	if KindOf(err) != KindCancelled || !strings.Contains(err.Error(), "run timeout") {
		t.Fatalf("kind %v err %v\n%s", KindOf(err), err, log)
	}
	if d := time.Since(start); d > 5*time.Second {
		t.Errorf("took %s", d)
	}
	if rep.Points[0].Status != result.StatusCancelled || b.stops != 1 || len(b.cleanups) != 1 {
		t.Errorf("status %s stops %d cleanups %v", rep.Points[0].Status, b.stops, b.cleanups)
	}
}

func TestUsageErrors(t *testing.T) {
	tests := []struct {
		name   string
		change func(*Options)
		want   string
	}{
		{"unknown runner", func(o *Options) { o.RunnerName = "h200-zz_0" }, `no family "h200-zz"`},
		{"no runner", func(o *Options) { o.RunnerName, o.Row.Runner = "", "" }, "no runner name"},
		{"no recipe", func(o *Options) { o.Row.Framework = "trt" }, "no engine recipe for framework=trt"},
		{"bad row", func(o *Options) { o.Row.TP = 0 }, "tp 0 must be positive"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			b := &simBackend{}
			o, _ := options(t, b, 2)
			tt.change(&o)
			_, err := Run(context.Background(), o)
			if KindOf(err) != KindUsage || !strings.Contains(err.Error(), tt.want) {
				t.Fatalf("kind %v err %v", KindOf(err), err)
			}
			if len(b.specs) != 0 {
				t.Errorf("launched despite a usage error")
			}
		})
	}
}

type fakeEval struct{ got EvalTarget }

func (f *fakeEval) Eval(_ context.Context, t EvalTarget) (*result.EvalRow, error) {
	f.got = t
	return &result.EvalRow{Task: "gsm8k"}, nil
}

func TestEvaluatorRunsAfterThePointsWhenAsked(t *testing.T) {
	b := &simBackend{cfg: sim.Config{TTFT: time.Millisecond, ITL: time.Millisecond}}
	o, log := options(t, b, 2, 4)
	ev := &fakeEval{}
	o.Evaluator, o.Row.RunEval = ev, true
	rep, err := Run(context.Background(), o)
	if err != nil {
		t.Fatalf("%v\n%s", err, log)
	}
	if ev.got.Conc != 4 || !strings.HasPrefix(ev.got.BaseURL, "http://127.0.0.1:") {
		t.Errorf("eval target %+v", ev.got)
	}
	m := readManifest(t, o.OutDir, rep.Points[1].ResultFilename)
	var names []string
	for _, p := range m.Phases {
		names = append(names, p.Name)
	}
	if m.Eval == nil || m.Eval.Task != "gsm8k" || strings.Join(names, ",") != "load,eval,stop" || len(m.Files) != 5 {
		t.Errorf("manifest eval %+v phases %v files %v", m.Eval, names, m.Files)
	}
}

const multinodeRecipes = `recipes:
  - name: disagg
    match: {framework: dynamo-trt, spec-decoding: [none, mtp]}
    multinode: true
    command: [launch, "--config={{.Setting \"CONFIG_FILE\"}}", "--prefill={{.Prefill.NumWorkers}}x{{.Prefill.TP}}@{{.Prefill.Nodes}}", "--decode={{.Decode.NumWorkers}}x{{.Decode.TP}}@{{.Decode.Nodes}}"]
    ready-timeout: 10s
  - name: single
    match: {framework: sim}
    command: [engine]
`

// A multi-node row: one deployment for the whole conc list, the reference's multi-node
// environment, nodes and GPUs per node from the layout, per-point files under the
// multi-node names, and agg records with the prefill/decode GPU split.
func TestMultinodeRow(t *testing.T) {
	b := &simBackend{cfg: sim.Config{TTFT: time.Millisecond, ITL: time.Millisecond}}
	o, log := options(t, b, 2, 4)
	set, err := recipe.Parse("r.yaml", []byte(multinodeRecipes))
	if err != nil {
		t.Fatal(err)
	}
	inv, err := inventory.Parse("i.yaml", []byte("families:\n  gb200-nv: {gpu: gb200, gpus-per-node: 4, vendor: nvidia, backend: slurm, port: 0}\n"))
	if err != nil {
		t.Fatal(err)
	}
	row, err := ParseRow([]byte(multinodeJSON))
	if err != nil {
		t.Fatal(err)
	}
	row.Model, row.Conc = "sim-model", Concs{2, 4}
	o.Row, o.Recipes, o.Inventory, o.RunnerName, o.RunnerType = row, set, inv, "gb200-nv_0", "gb200"
	rep, err := Run(context.Background(), o)
	if err != nil {
		t.Fatalf("%v\n%s", err, log)
	}
	if len(b.specs) != 1 {
		t.Fatalf("%d launches, want one deployment for both points", len(b.specs))
	}
	s := b.specs[0]
	if got := strings.Join(s.Argv, " "); got != "launch --config=recipes/trtllm/b200-fp4/1k1k/mtp/ctx1_gen2_dep8_batch64_eplb0_mtp2.yaml --prefill=1x4@1 --decode=2x8@4" {
		t.Errorf("argv = %s", got)
	}
	if s.Nodes != 5 || s.GPUs != 4 {
		t.Errorf("nodes %d gpus/node %d, want 5 and 4", s.Nodes, s.GPUs)
	}
	env := strings.Join(s.Env, " ")
	for _, w := range []string{"CONC_LIST=2 4", "IS_MULTINODE=true", "PREFILL_NUM_WORKERS=1", "PREFILL_TP=4", "PREFILL_EP=4", "PREFILL_DP_ATTN=true",
		"DECODE_NUM_WORKERS=2", "DECODE_TP=8", "DECODE_GPUS=16", "DECODE_NODES=4", "CONFIG_FILE=recipes/trtllm/", "DISAGG=true", "GPUS_PER_NODE=4"} {
		if !strings.Contains(env, w) {
			t.Errorf("env lacks %s: %s", w, env)
		}
	}
	for _, kv := range s.Env {
		if strings.HasPrefix(kv, "TP=") || strings.HasPrefix(kv, "EP_SIZE=") {
			t.Errorf("a multi-node launch has no single %s", kv)
		}
	}
	for i, m := range rep.Points {
		stem := fmt.Sprintf("dsr1_1k1k_fp4_dynamo-trt_prefill-tp4-ep4-dptrue-nw1_decode-tp8-ep8-dptrue-nw2_disagg-true_spec-mtp_conc2x4_gb200-nv_0_conc%d_gpus_20_ctx_4_gen_16", m.Conc)
		if m.ResultFilename != stem || m.Status != result.StatusSuccess || m.ServerReused != (i > 0) {
			t.Errorf("point %d: %s %s reused %v", i, m.ResultFilename, m.Status, m.ServerReused)
		}
		b, err := os.ReadFile(filepath.Join(o.OutDir, result.AggFile(stem)))
		if err != nil {
			t.Fatal(err)
		}
		var agg result.Agg
		if err := json.Unmarshal(b, &agg); err != nil {
			t.Fatal(err)
		}
		if !agg.IsMultinode || agg.NumPrefillGPU != 4 || agg.NumDecodeGPU != 16 || agg.Prefill.DPAttention != "true" || agg.Decode.NumWorkers != 2 ||
			agg.TputPerGPU <= 0 || agg.HW != "gb200" {
			t.Errorf("agg: %s", b)
		}
	}
	if b.stops != 1 {
		t.Errorf("stops = %d", b.stops)
	}
	// A recipe picked by name must be of the row's kind.
	o.Engine = "single"
	if _, err := Run(context.Background(), o); KindOf(err) != KindUsage || !strings.Contains(err.Error(), "is single-node, the row is multi-node") {
		t.Errorf("err = %v", err)
	}
}

// execSimServer is a simServer whose backend can run commands where it runs.
type execSimServer struct {
	*simServer
	argv [][]string
}

func (s *execSimServer) Exec(_ context.Context, argv, env []string) (engine.ExecResult, error) {
	s.argv = append(s.argv, argv)
	return engine.ExecResult{Stdout: []byte("ran " + strings.Join(argv, " "))}, nil
}

type execSimBackend struct{ *simBackend }

func (b execSimBackend) Start(ctx context.Context, s engine.Spec) (engine.Server, error) {
	srv, err := b.simBackend.Start(ctx, s)
	if err != nil {
		return nil, err
	}
	return &execSimServer{simServer: srv.(*simServer)}, nil
}

// The eval target carries the server's Exec when its backend has one, and where the run's
// output directory appears to it: the family's workspace mount for container launches, the
// same path otherwise.
func TestEvalTargetCarriesTheServersExec(t *testing.T) {
	for _, tc := range []struct {
		name, inventory, runner string
		exec                    bool
		wantOutDir              string
	}{
		{"local process", runnerInventory, "ci-local_0", true, ""},
		{"container with a workspace mount", "families:\n  ci-docker: {gpu: cpu, vendor: none, backend: docker, port: 0, workspace: /ws}\n", "ci-docker_0", true, "/ws"},
		{"backend without exec", runnerInventory, "ci-local_0", false, ""},
	} {
		t.Run(tc.name, func(t *testing.T) {
			sb := &simBackend{cfg: sim.Config{TTFT: time.Millisecond, ITL: time.Millisecond}}
			var b engine.Backend = sb
			if tc.exec {
				b = execSimBackend{sb}
			}
			o, log := options(t, b, 2)
			inv, err := inventory.Parse("i.yaml", []byte(tc.inventory))
			if err != nil {
				t.Fatal(err)
			}
			o.Inventory, o.RunnerName = inv, tc.runner
			ev := &fakeEval{}
			o.Evaluator, o.Row.RunEval = ev, true
			if _, err := Run(context.Background(), o); err != nil {
				t.Fatalf("%v\n%s", err, log)
			}
			if (ev.got.Exec != nil) != tc.exec || ev.got.ExecOutDir != tc.wantOutDir {
				t.Fatalf("exec set %v, exec out dir %q", ev.got.Exec != nil, ev.got.ExecOutDir)
			}
			if tc.exec {
				res, err := ev.got.Exec(context.Background(), []string{"lm_eval", "--tasks", "gsm8k"}, nil)
				if err != nil || string(res.Stdout) != "ran lm_eval --tasks gsm8k" {
					t.Errorf("exec through the target: %q %v", res.Stdout, err)
				}
			}
		})
	}
}
