package rowrun

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/inferbench/inferbench/internal/engine"
	"github.com/inferbench/inferbench/internal/execx"
	"github.com/inferbench/inferbench/internal/inventory"
	"github.com/inferbench/inferbench/internal/loadgen"
	"github.com/inferbench/inferbench/internal/recipe"
	"github.com/inferbench/inferbench/internal/result"
	"github.com/inferbench/inferbench/internal/sim"
	"github.com/inferbench/inferbench/internal/testkit"
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
	require.NoError(t, err)
	inv, err := inventory.Parse("i.yaml", []byte(runnerInventory))
	require.NoError(t, err)
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
	require.NoError(t, err)
	var m result.Manifest
	require.NoError(t, json.Unmarshal(b, &m))
	return &m
}

func TestServerReusedUntilTheLaunchChanges(t *testing.T) {
	t.Parallel()
	b := &simBackend{cfg: sim.Config{TTFT: time.Millisecond, ITL: time.Millisecond}}
	o, log := options(t, b, 4, 8, 16, 32)
	rep, err := Run(context.Background(), o)
	require.NoError(t, err, "%v\n%s", err, log)
	require.Len(t, b.specs, 2)
	var reused []bool
	for _, m := range rep.Points {
		reused = append(reused, m.ServerReused)
		assert.Equal(t, result.StatusSuccess, m.Status, "conc")
		assert.Equal(t, "sha256:feed", m.ImageDigest, "conc")
		assert.Equal(t, "test", m.AgentVersion, "conc")
		for _, f := range []string{result.RawFile(m.ResultFilename), result.AggFile(m.ResultFilename), result.ManifestFile(m.ResultFilename)} {
			_, err := os.Stat(filepath.Join(o.OutDir, f))
			assert.NoError(t, err, "missing %s", f)
		}
	}
	assert.Equal(t, "[false true false true]", fmt.Sprint(reused))
	for _, want := range []string{"reusing server inferbench-t1-1: rendered launch identical", "restarting server: rendered launch differs (args ---recv=10 +--recv=30)"} {
		assert.Contains(t, log.String(), want, "log")
	}
	assert.Equal(t, 2, b.stops)
	require.Len(t, b.cleanups, 1)
	assert.Equal(t, "t1", b.cleanups[0])
	s := b.specs[1]
	assert.Equal(t, "inferbench-t1-2", s.Name, "second launch spec")
	assert.Equal(t, "t1", s.RunID, "second launch spec")
	assert.True(t, strings.HasSuffix(s.LogPath, "server.log"), "second launch spec: %+v", s)
}

func TestBenchFailureKeepsGoingAndIsReported(t *testing.T) {
	t.Parallel()
	b := &simBackend{cfg: sim.Config{TTFT: time.Millisecond, ITL: time.Millisecond, FailRate: 0.5, Seed: 1}}
	o, log := options(t, b, 2, 4)
	rep, err := Run(context.Background(), o)
	require.Equal(t, KindBench, KindOf(err), "kind %v err %v\n%s", KindOf(err), err, log)
	require.Len(t, rep.Points, 2)
	for _, m := range rep.Points {
		assert.Equal(t, result.StatusBenchFailed, m.Status, "conc")
		_, err := os.Stat(filepath.Join(o.OutDir, result.AggFile(m.ResultFilename)))
		assert.NoError(t, err, "agg of a failed point missing")
	}
}

func TestStartFailureIsAnEngineFailureWithManifests(t *testing.T) {
	t.Parallel()
	b := &simBackend{startErr: errors.New("image pull failed: manifest unknown")}
	o, _ := options(t, b, 2, 4)
	rep, err := Run(context.Background(), o)
	require.Equal(t, KindEngine, KindOf(err))
	require.Contains(t, err.Error(), "manifest unknown")
	require.Len(t, rep.Points, 2)
	require.Equal(t, "not run: an earlier point failed", rep.Points[1].StopReason)
	m := readManifest(t, o.OutDir, rep.Points[0].ResultFilename)
	assert.Equal(t, result.StatusEngineFailed, m.Status)
	assert.Contains(t, m.Message, "manifest unknown")
	require.NotEmpty(t, m.Phases)
	assert.Equal(t, "failed", m.Phases[0].Status)
}

func TestTimeoutCancelsAndCleansUp(t *testing.T) {
	b := &simBackend{cfg: sim.Config{TTFT: 50 * time.Millisecond, ITL: 50 * time.Millisecond}}
	o, _ := options(t, b, 1)
	o.NumPrompts, o.Timeout = 1000, 700*time.Millisecond
	start := time.Now()
	rep, err := Run(context.Background(), o)
	require.Equal(t, KindCancelled, KindOf(err))
	require.Contains(t, err.Error(), "run timeout")
	took := time.Since(start)
	t.Run("timing", func(t *testing.T) {
		testkit.Stress(t)
		assert.LessOrEqual(t, took, 5*time.Second, "took")
	})
	assert.Equal(t, result.StatusCancelled, rep.Points[0].Status)
	assert.Equal(t, 1, b.stops)
	assert.Len(t, b.cleanups, 1)
}

func TestUsageErrors(t *testing.T) {
	t.Parallel()
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
			require.Equal(t, KindUsage, KindOf(err))
			require.Contains(t, err.Error(), tt.want)
			assert.Empty(t, b.specs, "launched despite a usage error")
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
	require.NoError(t, err, "%v\n%s", err, log)
	assert.Equal(t, 4, ev.got.Conc, "eval target")
	assert.True(t, strings.HasPrefix(ev.got.BaseURL, "http://127.0.0.1:"), "eval target")
	m := readManifest(t, o.OutDir, rep.Points[1].ResultFilename)
	var names []string
	for _, p := range m.Phases {
		names = append(names, p.Name)
	}
	require.NotNil(t, m.Eval, "manifest")
	assert.Equal(t, "gsm8k", m.Eval.Task, "manifest")
	assert.Equal(t, "load,eval,stop", strings.Join(names, ","), "manifest")
	assert.Len(t, m.Files, 5, "manifest")
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
	t.Parallel()
	b := &simBackend{cfg: sim.Config{TTFT: time.Millisecond, ITL: time.Millisecond}}
	o, log := options(t, b, 2, 4)
	set, err := recipe.Parse("r.yaml", []byte(multinodeRecipes))
	require.NoError(t, err)
	inv, err := inventory.Parse("i.yaml", []byte("families:\n  gb200-nv: {gpu: gb200, gpus-per-node: 4, vendor: nvidia, backend: slurm, port: 0}\n"))
	require.NoError(t, err)
	row, err := ParseRow([]byte(multinodeJSON))
	require.NoError(t, err)
	row.Model, row.Conc = "sim-model", Concs{2, 4}
	o.Row, o.Recipes, o.Inventory, o.RunnerName, o.RunnerType = row, set, inv, "gb200-nv_0", "gb200"
	rep, err := Run(context.Background(), o)
	require.NoError(t, err, "%v\n%s", err, log)
	require.Len(t, b.specs, 1)
	s := b.specs[0]
	assert.Equal(t, "launch --config=recipes/trtllm/b200-fp4/1k1k/mtp/ctx1_gen2_dep8_batch64_eplb0_mtp2.yaml --prefill=1x4@1 --decode=2x8@4", strings.Join(s.Argv, " "), "argv")
	assert.Equal(t, 5, s.Nodes)
	assert.Equal(t, 4, s.GPUs)
	env := strings.Join(s.Env, " ")
	for _, w := range []string{"CONC_LIST=2 4", "IS_MULTINODE=true", "PREFILL_NUM_WORKERS=1", "PREFILL_TP=4", "PREFILL_EP=4", "PREFILL_DP_ATTN=true",
		"DECODE_NUM_WORKERS=2", "DECODE_TP=8", "DECODE_GPUS=16", "DECODE_NODES=4", "CONFIG_FILE=recipes/trtllm/", "DISAGG=true", "GPUS_PER_NODE=4"} {
		assert.Contains(t, env, w, "env")
	}
	for _, kv := range s.Env {
		assert.False(t, strings.HasPrefix(kv, "TP="), "a multi-node launch has no single %s", kv)
		assert.False(t, strings.HasPrefix(kv, "EP_SIZE="), "a multi-node launch has no single %s", kv)
	}
	for i, m := range rep.Points {
		stem := fmt.Sprintf("dsr1_1k1k_fp4_dynamo-trt_prefill-tp4-ep4-dptrue-nw1_decode-tp8-ep8-dptrue-nw2_disagg-true_spec-mtp_conc2x4_gb200-nv_0_conc%d_gpus_20_ctx_4_gen_16", m.Conc)
		assert.Equal(t, stem, m.ResultFilename, "point")
		assert.Equal(t, result.StatusSuccess, m.Status, "point")
		assert.Equal(t, i > 0, m.ServerReused, "point")
		b, err := os.ReadFile(filepath.Join(o.OutDir, result.AggFile(stem)))
		require.NoError(t, err)
		var agg result.Agg
		require.NoError(t, json.Unmarshal(b, &agg))
		assert.True(t, agg.IsMultinode, "agg: %s", b)
		assert.Equal(t, 4, agg.NumPrefillGPU, "agg: %s", b)
		assert.Equal(t, 16, agg.NumDecodeGPU, "agg: %s", b)
		assert.Equal(t, "true", agg.Prefill.DPAttention, "agg: %s", b)
		assert.Equal(t, 2, agg.Decode.NumWorkers, "agg: %s", b)
		assert.Greater(t, agg.TputPerGPU, float64(0), "agg: %s", b)
		assert.Equal(t, "gb200", agg.HW, "agg: %s", b)
	}
	assert.Equal(t, 1, b.stops)
	// A recipe picked by name must be of the row's kind.
	o.Engine = "single"
	_, err = Run(context.Background(), o)
	assert.Equal(t, KindUsage, KindOf(err))
	assert.Contains(t, err.Error(), "is single-node, the row is multi-node")
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
	t.Parallel()
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
			require.NoError(t, err)
			o.Inventory, o.RunnerName = inv, tc.runner
			ev := &fakeEval{}
			o.Evaluator, o.Row.RunEval = ev, true
			_, err = Run(context.Background(), o)
			require.NoError(t, err, "%v\n%s", err, log)
			require.Equal(t, tc.exec, ev.got.Exec != nil, "exec set")
			require.Equal(t, tc.wantOutDir, ev.got.ExecOutDir, "exec set")
			if tc.exec {
				res, err := ev.got.Exec(context.Background(), []string{"lm_eval", "--tasks", "gsm8k"}, nil)
				assert.NoError(t, err, "exec through the target")
				assert.Equal(t, "ran lm_eval --tasks gsm8k", string(res.Stdout), "exec through the target")
			}
		})
	}
}

// TestLoadErrorKinds: the kind of a load generator's error is decided by what went wrong,
// not by where: only a configuration it cannot run is the user's to fix.
func TestLoadErrorKinds(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct {
		name string
		err  error
		want Kind
	}{
		{"unusable configuration", &loadgen.ConfigError{Err: errors.New("input length 0")}, KindUsage},
		{"load generator crashed", fmt.Errorf("%w: index out of range", loadgen.ErrCrashed), KindInternal},
		{"I/O error", &os.PathError{Op: "write", Path: "requests.jsonl", Err: syscall.ENOSPC}, KindInternal},
	} {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			b := &simBackend{cfg: sim.Config{TTFT: time.Millisecond, ITL: time.Millisecond}}
			o, log := options(t, b, 4)
			o.Bench = BenchFunc(func(context.Context, loadgen.Config, io.Writer) (*loadgen.Outcome, error) { return nil, tc.err })
			_, err := Run(context.Background(), o)
			require.Error(t, err, log.String())
			assert.Equal(t, tc.want, KindOf(err), "%v", err)
			assert.ErrorIs(t, err, tc.err, "the cause stays reachable for callers")
		})
	}
}

// TestDockerHostRefusedBeforeLaunch: a DOCKER_HOST the docker backend cannot use is a usage
// error found before anything starts, not an engine failure at the first container.
func TestDockerHostRefusedBeforeLaunch(t *testing.T) {
	t.Parallel()
	o, _ := options(t, nil, 4)
	inv, err := inventory.Parse("i.yaml", []byte("families:\n  ci-docker: {gpu: cpu, vendor: none, backend: docker, port: 0}\n"))
	require.NoError(t, err)
	o.Inventory, o.RunnerName, o.Backend = inv, "ci-docker_0", nil
	o.Environ = []string{"DOCKER_HOST=ssh://me@gpu-7"}
	_, err = Run(context.Background(), o)
	require.Error(t, err)
	assert.Equal(t, KindUsage, KindOf(err), "%v", err)
	assert.ErrorContains(t, err, "DOCKER_HOST")
}
