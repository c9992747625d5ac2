package rowrun

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/inferbench/inferbench/internal/engine"
	"github.com/inferbench/inferbench/internal/inventory"
	"github.com/inferbench/inferbench/internal/loadgen"
	"github.com/inferbench/inferbench/internal/report"
	"github.com/inferbench/inferbench/internal/result"
	"github.com/inferbench/inferbench/internal/sim"
)

// Tests of what a hostile or unlucky user, engine or machine does to `agent run`, named
// TestHostile<NN><What> after the findings of docs/robustness.md.

// foreignSim serves the simulator from this test process on a free port, as a program
// that is not the agent's engine would; token is what it echoes ("" for none).
func foreignSim(t *testing.T, token string) int {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	require.NoError(t, err)
	startSimOn(t, ln, token)
	return ln.Addr().(*net.TCPAddr).Port
}

func startSimOn(t *testing.T, ln net.Listener, token string) {
	t.Helper()
	s, err := sim.New(sim.Config{Model: "sim-model", TTFT: time.Millisecond, ITL: time.Millisecond, LaunchToken: token})
	require.NoError(t, err)
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan struct{})
	go func() { defer close(done); _ = s.Serve(ctx, ln) }()
	t.Cleanup(func() { cancel(); <-done })
}

// withFixedPort gives the run's runner family a fixed port, as 16 real families have.
func withFixedPort(t *testing.T, o *Options, port int) {
	t.Helper()
	inv, err := inventory.Parse("i.yaml", []byte(fmt.Sprintf("families:\n  ci-local: {gpu: cpu, vendor: none, backend: local, port: %d}\n", port)))
	require.NoError(t, err)
	o.Inventory = inv
}

// noSuccessAnywhere fails when any file in dir records a success or holds an agg record.
func noSuccessAnywhere(t *testing.T, dir string) {
	t.Helper()
	ents, err := os.ReadDir(dir)
	require.NoError(t, err)
	for _, e := range ents {
		assert.False(t, strings.HasPrefix(e.Name(), "agg_"), "agg record %s written", e.Name())
		b, err := os.ReadFile(filepath.Join(dir, e.Name()))
		require.NoError(t, err)
		assert.NotContains(t, string(b), `"status": "success"`, "%s records a success", e.Name())
	}
}

func TestHostile01ForeignEngineOnPort(t *testing.T) {
	t.Parallel()
	port := foreignSim(t, "")
	b := &simBackend{cfg: sim.Config{TTFT: time.Millisecond, ITL: time.Millisecond}}
	o, log := options(t, b, 4)
	withFixedPort(t, &o, port)

	rep, err := Run(context.Background(), o)

	require.Error(t, err, log.String())
	assert.Equal(t, KindEngine, KindOf(err))
	assert.ErrorIs(t, err, errPortInUse)
	assert.Contains(t, err.Error(), fmt.Sprintf("port %d on 127.0.0.1 is already held by pid %d", port, os.Getpid()))
	assert.Empty(t, b.specs, "the engine was launched onto a held port")
	require.Len(t, rep.Points, 1)
	assert.Equal(t, result.StatusEngineFailed, rep.Points[0].Status)
	assert.Equal(t, "port in use", rep.Points[0].StopReason)
	noSuccessAnywhere(t, o.OutDir)
}

// foreignAfterStart is a backend whose launch loses the port to someone else between the
// port check and readiness (a second run starting at the same time): what answers on the
// port is a simulator that is not this launch's.
type foreignAfterStart struct {
	simBackend
	token string // what the foreign server echoes; "" for a real engine that echoes nothing
}

func (b *foreignAfterStart) Start(_ context.Context, s engine.Spec) (engine.Server, error) {
	b.mu.Lock()
	b.specs = append(b.specs, s)
	b.mu.Unlock()
	simEngine, err := sim.New(sim.Config{Model: "sim-model", TTFT: time.Millisecond, ITL: time.Millisecond, LaunchToken: b.token})
	if err != nil {
		return nil, err
	}
	ln, err := net.Listen("tcp", "127.0.0.1:"+strconv.Itoa(s.Port))
	if err != nil {
		return nil, err
	}
	sctx, cancel := context.WithCancel(context.Background())
	srv := &simServer{b: &b.simBackend, spec: s, cancel: cancel, done: make(chan struct{})}
	go func() { defer close(srv.done); _ = simEngine.Serve(sctx, ln) }()
	return srv, nil
}

func TestHostile01ForeignEngineAnswersReadiness(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name  string
		token string
		want  string
	}{
		{"another agent's simulator", "another-launch", "answers as another agent's simulator"},
		{"a server that echoes nothing, held by a process without our token", "", fmt.Sprintf("is held by pid %d", os.Getpid())},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			b := &foreignAfterStart{token: tt.token}
			o, log := options(t, &b.simBackend, 4)
			o.Backend = b

			rep, err := Run(context.Background(), o)

			require.Error(t, err, log.String())
			assert.Equal(t, KindEngine, KindOf(err))
			assert.ErrorIs(t, err, errForeign)
			assert.Contains(t, err.Error(), tt.want)
			assert.Equal(t, "foreign server on the port", rep.Points[0].StopReason)
			noSuccessAnywhere(t, o.OutDir)
			assert.NotContains(t, log.String(), "benchmarking", "a foreign server was benchmarked")
		})
	}
}

// TestHostile01OwnerScriptInsideTheServer runs the check made inside a server's container
// against real listeners: one of a process carrying the launch token, one without.
func TestHostile01OwnerScriptInsideTheServer(t *testing.T) {
	t.Parallel()
	if _, err := exec.LookPath("sh"); err != nil {
		t.Skip("no sh")
	}
	ours := helperListener(t, "token-ours")
	foreign := foreignSim(t, "")
	tests := []struct {
		name string
		port int
		want int
	}{
		{"listener carries the token", ours, 0},
		{"listener without the token", foreign, 3},
		{"nothing listens", freeTestPort(t), 4},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			cmd := exec.Command("sh", "-c", ownerScript, "sh", strconv.Itoa(tt.port), "token-ours")
			err := cmd.Run()
			code := 0
			var ee *exec.ExitError
			if errors.As(err, &ee) {
				code = ee.ExitCode()
			} else {
				require.NoError(t, err)
			}
			assert.Equal(t, tt.want, code)
		})
	}
}

func freeTestPort(t *testing.T) int {
	p, err := freePort()
	require.NoError(t, err)
	return p
}

// helperListener starts this test binary as a child that listens on a port with
// INFERBENCH_LAUNCH=token in its environment, and returns the port.
func helperListener(t *testing.T, token string) int {
	t.Helper()
	cmd := exec.Command(os.Args[0], "-test.run=^TestHostileHelperListener$")
	cmd.Env = append(os.Environ(), "INFERBENCH_HELPER_LISTEN=1", engine.EnvLaunch+"="+token)
	out, err := cmd.StdoutPipe()
	require.NoError(t, err)
	stdin, err := cmd.StdinPipe()
	require.NoError(t, err)
	require.NoError(t, cmd.Start())
	t.Cleanup(func() { stdin.Close(); _ = cmd.Wait() })
	var port int
	_, err = fmt.Fscan(out, &port)
	require.NoError(t, err)
	return port
}

// TestHostileHelperListener is not a test: it is the child process of helperListener.
func TestHostileHelperListener(t *testing.T) {
	if os.Getenv("INFERBENCH_HELPER_LISTEN") != "1" {
		t.Skip("helper process for other tests")
	}
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	require.NoError(t, err)
	fmt.Println(ln.Addr().(*net.TCPAddr).Port)
	_, _ = io.Copy(io.Discard, os.Stdin) // until the parent closes stdin
	ln.Close()
}

// crashingBench panics in the middle of the load, as a makeslice of a huge count did.
type crashingBench struct{}

func (crashingBench) Bench(context.Context, loadgen.Config, io.Writer) (*loadgen.Outcome, error) {
	var s []int
	_ = s[len(s)+5]
	return nil, nil
}

func TestHostile03PanicIsAFailedStatusNotSuccess(t *testing.T) {
	t.Parallel()
	b := &simBackend{cfg: sim.Config{TTFT: time.Millisecond, ITL: time.Millisecond}}
	o, log := options(t, b, 4, 8)
	o.Bench = crashingBench{}

	rep, err := Run(context.Background(), o)

	require.Error(t, err, log.String())
	assert.Equal(t, KindInternal, KindOf(err))
	require.Len(t, rep.Points, 2)
	m := readManifest(t, o.OutDir, rep.Points[0].ResultFilename)
	assert.Equal(t, result.StatusError, m.Status)
	assert.Contains(t, m.Message, "the agent crashed")
	assert.Contains(t, m.Message, "index out of range")
	noSuccessAnywhere(t, o.OutDir)
	assert.Equal(t, 1, b.stops, "the engine must be stopped after the crash")
}

func TestHostile03HugeConcRefusedBeforeLaunch(t *testing.T) {
	t.Parallel()
	for _, conc := range []int{922337203685477580, 100_000_000} {
		t.Run(strconv.Itoa(conc), func(t *testing.T) {
			b := &simBackend{}
			o, _ := options(t, b, conc)
			_, err := Run(context.Background(), o)
			require.Error(t, err)
			assert.Equal(t, KindUsage, KindOf(err))
			assert.Contains(t, err.Error(), fmt.Sprintf("conc %d is more than %d", conc, loadgen.MaxConcurrency))
			assert.Empty(t, b.specs)
			noSuccessAnywhere(t, o.OutDir)
		})
	}
}

func TestHostile03FailedPointStaysFailedAfterItsEval(t *testing.T) {
	t.Parallel()
	b := &simBackend{cfg: sim.Config{TTFT: time.Millisecond, ITL: time.Millisecond, FailRate: 0.5, Seed: 1}}
	o, log := options(t, b, 4)
	o.Evaluator, o.Row.RunEval = &fakeEval{}, true

	rep, err := Run(context.Background(), o)

	assert.Equal(t, KindBench, KindOf(err), "%v\n%s", err, log)
	m := readManifest(t, o.OutDir, rep.Points[0].ResultFilename)
	assert.Equal(t, result.StatusBenchFailed, m.Status)
	require.NotNil(t, m.Eval, "the eval still ran and is recorded")
}

func TestHostile04RowValuesBounded(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name   string
		change func(*Row)
		want   string
	}{
		{"conc 1e8", func(r *Row) { r.Conc = Concs{100_000_000} }, "conc 100000000 is more than 65536"},
		{"isl 2e9", func(r *Row) { r.ISL = 2_000_000_000 }, "must be at most 1048576 tokens"},
		{"osl 2e9", func(r *Row) { r.OSL = 2_000_000_000 }, "must be at most 1048576 tokens"},
		{"tp 1e9", func(r *Row) { r.TP = 1_000_000_000 }, "tp 1000000000 is more than 65536"},
		{"max-model-len 2^40", func(r *Row) { r.MaxModelLen = 1 << 40 }, "max-model-len 1099511627776 must be within"},
		{"a conc twice", func(r *Row) { r.Conc = Concs{4, 8, 4} }, "conc 4 appears twice"},
		{"2000 points", func(r *Row) {
			r.Conc = nil
			for i := 1; i <= 2000; i++ {
				r.Conc = append(r.Conc, i)
			}
		}, "conc lists 2000 points; at most 1024"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			b := &simBackend{}
			o, _ := options(t, b, 4)
			tt.change(&o.Row)
			_, err := Run(context.Background(), o)
			require.Error(t, err)
			assert.Equal(t, KindUsage, KindOf(err))
			assert.Contains(t, err.Error(), tt.want)
			assert.Empty(t, b.specs, "launched despite the row being refused")
		})
	}
}

// TestHostile04LoadBoundedBeforeLaunch: within the row's limits, the point's load (prompts x
// lengths) must still fit the host, and is checked before the engine starts.
func TestHostile04LoadBoundedBeforeLaunch(t *testing.T) {
	t.Parallel()
	b := &simBackend{}
	o, _ := options(t, b, 4096)
	o.Row.ISL, o.Row.OSL = 1<<20, 1<<20
	o.NumPrompts = 1_000_000

	_, err := Run(context.Background(), o)

	require.Error(t, err)
	assert.Equal(t, KindUsage, KindOf(err))
	assert.Contains(t, err.Error(), "output tokens to record, more")
	assert.Contains(t, err.Error(), "prompt tokens held at once, more")
	assert.Empty(t, b.specs)
}

// deadServer says it is dead when asked, though its Done channel has not closed yet (the
// container's wait has not returned): the case where a dead container used to be reused.
// It dies once dead is set, or on the aliveChecks+1st question.
type deadServer struct {
	*simServer
	mu          sync.Mutex
	dead        bool
	aliveChecks int // answers "alive" this many times, then dead; 0: only dead decides
	asked       int
}

func (d *deadServer) Alive(context.Context) error {
	d.mu.Lock()
	defer d.mu.Unlock()
	d.asked++
	if d.dead || (d.aliveChecks > 0 && d.asked > d.aliveChecks) {
		return errors.New("container inferbench-t1-1 is exited (exit status 137)")
	}
	return nil
}

type dyingBackend struct {
	simBackend
	aliveChecks int
	srvs        []*deadServer
}

func (b *dyingBackend) Start(ctx context.Context, s engine.Spec) (engine.Server, error) {
	srv, err := b.simBackend.Start(ctx, s)
	if err != nil {
		return nil, err
	}
	d := &deadServer{simServer: srv.(*simServer), aliveChecks: b.aliveChecks}
	b.srvs = append(b.srvs, d)
	return d, nil
}

// benchThenDie runs the real load and then lets the server die, as an engine that crashes
// while the load finishes (its requests failing fast end the load before the watch sees it).
type benchThenDie struct{ b *dyingBackend }

func (f benchThenDie) Bench(ctx context.Context, cfg loadgen.Config, w io.Writer) (*loadgen.Outcome, error) {
	out, err := loadgen.Run(ctx, cfg, w)
	s := f.b.srvs[0]
	s.mu.Lock()
	s.dead = true
	s.mu.Unlock()
	return out, err
}

func TestHostile05EngineDeathIsAnEngineFailureAndNotReused(t *testing.T) {
	t.Parallel()
	b := &dyingBackend{simBackend: simBackend{cfg: sim.Config{TTFT: time.Millisecond, ITL: time.Millisecond}}}
	o, log := options(t, &b.simBackend, 4, 8)
	o.Backend, o.Bench = b, benchThenDie{b}

	rep, err := Run(context.Background(), o)

	require.Error(t, err, log.String())
	assert.Equal(t, KindEngine, KindOf(err))
	require.Len(t, rep.Points, 2)
	assert.Equal(t, result.StatusEngineFailed, rep.Points[0].Status)
	assert.Contains(t, rep.Points[0].Message, "exited (exit status 137) during the load")
	assert.Equal(t, "not run: an earlier point failed", rep.Points[1].StopReason)
	assert.NotContains(t, log.String(), "reusing server")
	noSuccessAnywhere(t, o.OutDir)
}

func TestHostile05ServerDeadBetweenPointsIsReplaced(t *testing.T) {
	t.Parallel()
	// Alive after the first point's load, dead when the second point asks.
	b := &dyingBackend{simBackend: simBackend{cfg: sim.Config{TTFT: time.Millisecond, ITL: time.Millisecond}}, aliveChecks: 1}
	o, log := options(t, &b.simBackend, 4, 8)
	o.Backend = b

	rep, err := Run(context.Background(), o)

	require.NoError(t, err, log.String())
	assert.Len(t, b.specs, 2, "a second server must be started")
	assert.False(t, rep.Points[1].ServerReused)
	assert.Contains(t, log.String(), "is no longer running (container inferbench-t1-1 is exited (exit status 137)): starting a new one")
}

func TestHostile07ResultNamesConfinedToOut(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name   string
		change func(*Options)
		want   string
	}{
		{"--result-filename ../../x", func(o *Options) { o.ResultFilename = "../../x" }, `result name "../../x" has "/"`},
		{"exp-name with ../", func(o *Options) { o.Row.ExpName = "../escape" }, `exp-name "../escape" has "/"`},
		{"model-prefix ../../x from a row", func(o *Options) { o.Row.ModelPrefix, o.Row.ExpName = "../../x", "" }, `model-prefix "../../x" has "/"`},
		{"a name that makes the raw result look like an agg record", func(o *Options) { o.ResultFilename = "agg_other" }, "starts with agg_ or manifest_"},
		{"a name that makes the raw result look like a status record", func(o *Options) { o.ResultFilename = "manifest_other" }, "starts with agg_ or manifest_"},
		{"a hidden name", func(o *Options) { o.ResultFilename = ".." }, "starts with a dot"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			b := &simBackend{}
			o, _ := options(t, b, 4)
			root := t.TempDir()
			o.OutDir = filepath.Join(root, "a", "b", "out")
			tt.change(&o)
			_, err := Run(context.Background(), o)
			require.Error(t, err)
			assert.Equal(t, KindUsage, KindOf(err))
			assert.Contains(t, err.Error(), tt.want)
			assert.Empty(t, b.specs)
			_ = filepath.WalkDir(root, func(p string, d os.DirEntry, _ error) error {
				if !d.IsDir() {
					assert.True(t, strings.HasPrefix(p, o.OutDir+string(filepath.Separator)), "file written outside --out: %s", p)
				}
				return nil
			})
		})
	}
}

func TestHostile08EarlierResultsAreNotOverwritten(t *testing.T) {
	t.Parallel()
	good := &simBackend{cfg: sim.Config{TTFT: time.Millisecond, ITL: time.Millisecond}}
	o, log := options(t, good, 4)
	rep, err := Run(context.Background(), o)
	require.NoError(t, err, log.String())
	stem := rep.Points[0].ResultFilename
	aggBefore, err := os.ReadFile(filepath.Join(o.OutDir, result.AggFile(stem)))
	require.NoError(t, err)
	manifestBefore, err := os.ReadFile(filepath.Join(o.OutDir, result.ManifestFile(stem)))
	require.NoError(t, err)

	// A re-run into the same --out (it would fail: every request errors) is refused before
	// anything starts, and the earlier good result stays as it was.
	bad := &simBackend{cfg: sim.Config{TTFT: time.Millisecond, ITL: time.Millisecond, FailRate: 0.5, Seed: 1}}
	o.Backend = bad
	_, err = Run(context.Background(), o)
	require.Error(t, err)
	assert.Equal(t, KindUsage, KindOf(err))
	assert.Contains(t, err.Error(), "already holds results of this row")
	assert.Contains(t, err.Error(), "--overwrite")
	assert.Empty(t, bad.specs)
	aggAfter, _ := os.ReadFile(filepath.Join(o.OutDir, result.AggFile(stem)))
	manifestAfter, _ := os.ReadFile(filepath.Join(o.OutDir, result.ManifestFile(stem)))
	assert.Equal(t, string(aggBefore), string(aggAfter))
	assert.Equal(t, string(manifestBefore), string(manifestAfter))
	sweep, err := report.Scan(os.DirFS(o.OutDir), ".")
	require.NoError(t, err)
	assert.Len(t, sweep.Records, 1, "collect must still find the earlier result")

	// With --overwrite the re-run replaces the point entirely: its failure is what the
	// directory holds, with no stale numbers of the earlier run beside it.
	o.Overwrite = true
	_, err = Run(context.Background(), o)
	assert.Equal(t, KindBench, KindOf(err))
	m := readManifest(t, o.OutDir, stem)
	assert.Equal(t, result.StatusBenchFailed, m.Status)
	sweep, err = report.Scan(os.DirFS(o.OutDir), ".")
	require.NoError(t, err)
	assert.Empty(t, sweep.Records)
	assert.Len(t, sweep.FailedPoints, 1)
}

// reaperBackend records the identity it was asked to reap with.
type reaperBackend struct {
	simBackend
	self string
}

func (b *reaperBackend) Reap(_ context.Context, self string) ([]string, error) {
	b.self = self
	return []string{"removed leftover container inferbench-old-1 (run old, exited): its agent (pid 1234) has exited"}, nil
}

func TestHostile09LeftoversReapedBeforeLaunch(t *testing.T) {
	t.Parallel()
	b := &reaperBackend{simBackend: simBackend{cfg: sim.Config{TTFT: time.Millisecond, ITL: time.Millisecond}}}
	o, log := options(t, &b.simBackend, 4)
	o.Backend = b

	_, err := Run(context.Background(), o)

	require.NoError(t, err, log.String())
	assert.Contains(t, b.self, fmt.Sprintf(":%d:", os.Getpid()), "reaped as this agent (host:pid:start:boot)")
	assert.Contains(t, log.String(), "reaped: removed leftover container inferbench-old-1")
	require.NotEmpty(t, b.specs)
	assert.Equal(t, b.self, b.specs[0].Owner, "the launch records the same owner")
	assert.Contains(t, b.specs[0].Env, engine.EnvOwner+"="+b.self)
	assert.Contains(t, b.specs[0].Env, engine.EnvLaunch+"="+b.specs[0].Token)
}

func TestHostile12StallTimeoutReachesTheLoad(t *testing.T) {
	t.Parallel()
	tests := []struct {
		option time.Duration
		want   time.Duration
	}{{0, loadgen.DefaultStallTimeout}, {90 * time.Second, 90 * time.Second}, {-1, 0}}
	for _, tt := range tests {
		t.Run(tt.option.String(), func(t *testing.T) {
			b := &simBackend{cfg: sim.Config{TTFT: time.Millisecond, ITL: time.Millisecond}}
			o, _ := options(t, b, 2)
			o.StallTimeout = tt.option
			var got time.Duration
			o.Bench = BenchFunc(func(ctx context.Context, cfg loadgen.Config, w io.Writer) (*loadgen.Outcome, error) {
				got = cfg.StallTimeout
				return loadgen.Run(ctx, cfg, w)
			})
			_, err := Run(context.Background(), o)
			require.NoError(t, err)
			assert.Equal(t, tt.want, got)
		})
	}
}

func TestHostile12NegativeNumPromptsRefusedBeforeLaunch(t *testing.T) {
	t.Parallel()
	b := &simBackend{}
	o, _ := options(t, b, 4)
	o.NumPrompts = -5
	_, err := Run(context.Background(), o)
	require.Error(t, err)
	assert.Equal(t, KindUsage, KindOf(err))
	assert.Contains(t, err.Error(), "number of prompts -5")
	assert.Empty(t, b.specs)
}

func TestHostile12DuplicateKeysInEntry(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name, entry, want string
	}{
		{"conc twice", `{"model":"m","model-prefix":"p","precision":"fp8","framework":"sim","isl":8,"osl":8,"tp":1,"conc":4,"conc":4096}`, `key "conc" appears twice`},
		{"image twice", `{"image":"a","image":"b","model":"m","model-prefix":"p","precision":"fp8","framework":"sim","isl":8,"osl":8,"tp":1,"conc":4}`, `key "image" appears twice`},
		{"inside a worker block", `{"model":"m","model-prefix":"p","precision":"fp8","framework":"x","isl":8,"osl":8,"conc":[4],
			"prefill":{"num-worker":1,"tp":4,"tp":8,"ep":1},"decode":{"num-worker":1,"tp":8,"ep":1}}`, `key "tp" appears twice in prefill: give each field once`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := ParseRow([]byte(tt.entry))
			require.Error(t, err)
			assert.Contains(t, err.Error(), tt.want)
		})
	}
	_, err := ParseRow([]byte(`{"model":"m","model-prefix":"p","precision":"fp8","framework":"sim","isl":8,"osl":8,"tp":1,"conc":4}`))
	assert.NoError(t, err)
}

type crashingEval struct{}

func (crashingEval) Eval(context.Context, EvalTarget) (*result.EvalRow, error) {
	var m map[string]int
	m["x"]++
	return nil, nil
}

func TestHostile03CrashInTheEvalIsNotSuccess(t *testing.T) {
	t.Parallel()
	b := &simBackend{cfg: sim.Config{TTFT: time.Millisecond, ITL: time.Millisecond}}
	o, log := options(t, b, 4)
	o.Evaluator, o.Row.RunEval = crashingEval{}, true

	rep, err := Run(context.Background(), o)

	require.Error(t, err, log.String())
	m := readManifest(t, o.OutDir, rep.Points[0].ResultFilename)
	assert.Equal(t, result.StatusEvalFailed, m.Status)
	assert.Contains(t, m.Message, "the agent crashed")
	assert.Contains(t, m.Message, "assignment to entry in nil map")
}
