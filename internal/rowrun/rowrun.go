// Package rowrun runs one matrix row on this runner: it resolves the engine recipe and the
// runner's inventory entry, launches the server through an engine backend, waits for it to
// be ready, benchmarks every concurrency point (reusing the server while its rendered launch
// stays the same), writes each point's outputs, and removes exactly what it started, on
// success, failure, timeout and cancellation.
//
// It sits above the agent-side packages (recipe, inventory, engine/*, readiness, loadgen,
// result) and below the agent's main package.
package rowrun

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"fmt"
	"io"
	"net"
	"os"
	"path/filepath"
	"runtime/debug"
	"slices"
	"strings"
	"time"

	"github.com/inferbench/inferbench/internal/energy"
	"github.com/inferbench/inferbench/internal/engine"
	"github.com/inferbench/inferbench/internal/execx"
	"github.com/inferbench/inferbench/internal/inventory"
	"github.com/inferbench/inferbench/internal/loadgen"
	"github.com/inferbench/inferbench/internal/procfs"
	"github.com/inferbench/inferbench/internal/recipe"
	"github.com/inferbench/inferbench/internal/result"
	"github.com/inferbench/inferbench/internal/telemetry"
)

// Bencher drives the load of one point; loadgen.Run in production.
type Bencher interface {
	Bench(ctx context.Context, cfg loadgen.Config, progress io.Writer) (*loadgen.Outcome, error)
}

// BenchFunc adapts a function to Bencher.
type BenchFunc func(ctx context.Context, cfg loadgen.Config, progress io.Writer) (*loadgen.Outcome, error)

// Bench implements Bencher.
func (f BenchFunc) Bench(ctx context.Context, cfg loadgen.Config, progress io.Writer) (*loadgen.Outcome, error) {
	return f(ctx, cfg, progress)
}

// Evaluator runs the accuracy eval after the throughput points of a row with run-eval.
type Evaluator interface {
	Eval(ctx context.Context, t EvalTarget) (*result.EvalRow, error)
}

// EvalTarget is the running server an eval talks to.
type EvalTarget struct {
	BaseURL  string
	Endpoint string
	Model    string
	Conc     int
	Row      Row
	OutDir   string
	Stem     string
	HW       string
	// Exec runs a command where the server runs (inside its container, or beside it for
	// non-container launches); nil when the backend cannot. See engine.Execer.
	Exec func(ctx context.Context, argv, env []string) (engine.ExecResult, error)
	// ExecOutDir is where OutDir appears to commands run through Exec (the container's
	// workspace mount); empty means the same path.
	ExecOutDir string
}

// Options configure a run. Row, RunnerName (or a Row.Runner naming the node), OutDir,
// Recipes and Inventory are required. Every other field has a zero value that means its
// default, written on the field; withDefaults is the one place that resolves them.
type Options struct {
	Row Row
	// RunnerName (RUNNER_NAME) picks the inventory family; default Row.Runner, which
	// runner-model-sweep rows set to the node itself.
	RunnerName string
	// RunnerType (RUNNER_TYPE) is the hw label of the results; default Row.Runner.
	RunnerType string
	// ResultFilename is RESULT_FILENAME when the workflow set it; empty builds the
	// reference's names from the row.
	ResultFilename string
	// OutDir receives every point's files and the server log; it is created.
	OutDir    string
	Recipes   *recipe.Set
	Inventory *inventory.Inventory
	// Backend overrides the one the inventory names (tests); nil builds the family's.
	Backend engine.Backend
	// Environ is the agent's environment: local and Slurm servers inherit it, containers get
	// the tokens of it they need, the docker backend finds its daemon and credentials in it.
	// Nil is an empty environment.
	Environ []string
	// AgentPath is this binary, for recipes that run the built-in simulator; empty leaves
	// such recipes without it.
	AgentPath string
	// AgentVersion is recorded in every manifest; empty records none.
	AgentVersion string
	// AgentBuild identifies the agent's measurement code in result fingerprints: a digest of
	// its source stamped at build time; empty uses AgentVersion (docs/plan.md).
	AgentBuild string
	// RunID labels everything this run creates; empty picks a random one.
	RunID string
	// Timeout bounds the whole run; zero means none.
	Timeout time.Duration
	// RangeRatio is RANDOM_RANGE_RATIO; zero means the reference's 0.8.
	RangeRatio float64
	// NumPrompts is the measured requests per point; zero means 10 x conc.
	NumPrompts int
	// NumWarmups is the warm-up requests per point; -1 means 2 x conc, and zero is none
	// (so the zero value of Options warms nothing up: callers pass -1 for the reference's).
	NumWarmups int
	// Bench drives the load of each point; nil is loadgen.Run.
	Bench Bencher
	// Evaluator runs the accuracy eval of a row with run-eval; nil skips it with a warning.
	Evaluator Evaluator
	// Exec runs short commands (GPU inventory, power tools, slurm's commands, docker
	// credential helpers); nil is the host's (execx.OS).
	Exec execx.Executor
	// Starter starts long-lived processes (local servers, samplers); nil is the host's.
	Starter execx.Starter
	// Log receives the run's progress; nil discards it.
	Log io.Writer
	// ReadyInterval is how often readiness probes the server; zero means one second.
	ReadyInterval time.Duration
	// WatchInterval is how often a serving server is checked for death or a fatal log
	// line during the load; zero means half a second.
	WatchInterval time.Duration
	// StopGrace is the engine's SIGTERM-to-SIGKILL time; zero means DefaultStopGrace.
	StopGrace time.Duration
	// Engine names the recipe to serve the row with instead of looking one up by its
	// configuration (e.g. "sim" to replay a GPU row on the simulator); empty looks it up.
	Engine string
	// Port is the engine's port where the inventory family leaves it to the agent (port 0);
	// zero makes Run pick a free one when it starts (plans show a stand-in).
	Port int
	// Overwrite lets the run replace the result files an earlier run left in OutDir for the
	// same points; without it the run refuses to start, so nothing is lost silently.
	Overwrite bool
	// StallTimeout fails a request that receives nothing for this long (an engine that
	// stalls mid-stream while its health endpoint stays fine); zero means
	// loadgen.DefaultStallTimeout, negative disables it.
	StallTimeout time.Duration
	// Hurry is closed when the agent must finish at once (a second signal: the CI runner is
	// about to kill it): servers are then killed instead of stopped with their grace. Nil
	// never hurries.
	Hurry <-chan struct{}
	// PowerTool samples GPU power during each point's load (one of PowerTools); empty picks
	// the one the GPU's vendor provides.
	PowerTool string
	// PowerInterval is the power sampling interval; zero is the tool's own (100 ms for
	// nvidia-smi, whole seconds for amd-smi), so it is resolved where the tool is known.
	PowerInterval time.Duration
	// RequirePower fails a point whose power telemetry does not validate (KindPower).
	RequirePower bool
	// PowerClock is what the sampler reads and waits on; nil is the wall clock.
	PowerClock telemetry.Clock
}

// DefaultStopGrace lets the engine stop cleanly within the first 7.5 s of a CI cancellation
// (the runner's SIGINT-to-SIGTERM window), leaving time to write the status records.
const DefaultStopGrace = 5 * time.Second

// withDefaults resolves every default of Options (documented on its fields) in one place.
// It starts nothing; the free port and the backend, which need the inventory family and
// the host, are picked by newRun.
func withDefaults(o Options) Options {
	if o.RunnerName == "" {
		// runner-model-sweep rows carry the node name itself.
		o.RunnerName = o.Row.Runner
	}
	if o.RunnerType == "" {
		o.RunnerType = o.Row.Runner
	}
	if o.RunID == "" {
		o.RunID = newRunID()
	}
	if o.RangeRatio == 0 {
		o.RangeRatio = 0.8
	}
	if o.Bench == nil {
		o.Bench = BenchFunc(loadgen.Run)
	}
	if o.Exec == nil {
		o.Exec = execx.OS{}
	}
	if o.Starter == nil {
		o.Starter = execx.OS{}
	}
	if o.Log == nil {
		o.Log = io.Discard
	}
	if o.ReadyInterval == 0 {
		o.ReadyInterval = time.Second
	}
	if o.WatchInterval == 0 {
		o.WatchInterval = 500 * time.Millisecond
	}
	if o.StopGrace == 0 {
		o.StopGrace = DefaultStopGrace
	}
	switch {
	case o.StallTimeout == 0:
		o.StallTimeout = loadgen.DefaultStallTimeout
	case o.StallTimeout < 0:
		o.StallTimeout = -1 // disabled; loadgen's zero
	}
	return o
}

// Report is what a run did.
type Report struct {
	RunID  string
	Points []*result.Manifest
}

// Run executes the row. The returned error's Kind (KindOf) tells success, benchmark failure,
// engine failure, usage error and cancellation apart; the report lists every point with its
// manifest, including the ones that failed.
func Run(ctx context.Context, o Options) (rep *Report, err error) {
	r, err := newRun(o)
	if err != nil {
		return nil, err
	}
	if o.Timeout > 0 {
		var cancel context.CancelFunc
		ctx, cancel = context.WithTimeoutCause(ctx, o.Timeout, fmt.Errorf("run timeout %s", o.Timeout))
		defer cancel()
	}
	defer r.cleanup(ctx)
	// A crash anywhere below becomes an internal error of the run (the points record
	// their own), never a success, and the cleanup above still runs.
	defer func() {
		if p := recover(); p != nil {
			rep, err = r.report, crashError(p)
		}
	}()
	r.reap(ctx)
	return r.report, r.points(ctx)
}

// crashError turns a recovered panic into an internal error carrying its stack.
func crashError(p any) error {
	return &Error{Kind: KindInternal, Err: fmt.Errorf("the agent crashed (a bug, please report it): %v\n%s", p, debug.Stack())}
}

// reap removes what killed agents left on this node (by their owner record, only when the
// agent is provably gone) before anything is launched, and says what it removed.
func (r *run) reap(ctx context.Context) {
	rp, ok := r.backend.(engine.Reaper)
	if !ok {
		return
	}
	rctx, cancel := context.WithTimeout(ctx, time.Minute)
	defer cancel()
	lines, err := rp.Reap(rctx, r.owner)
	for _, l := range lines {
		fmt.Fprintf(r.o.Log, "reaped: %s\n", l)
	}
	if err != nil {
		fmt.Fprintf(r.o.Log, "warning: reaping leftovers of earlier runs: %v\n", err)
	}
}

// run is the state of one row's execution.
type run struct {
	o       Options
	fam     *inventory.Family
	plan    *Plan
	backend engine.Backend
	port    int
	logPath string
	report  *Report
	gpu     *result.GPUInfo

	// The server currently up, if any.
	srv      engine.Server
	srvFP    string
	srvSpec  recipe.Rendered
	launches int
	// fps are the result fingerprints of the points, in execution order.
	fps []result.Fingerprint
	// scratch are the scratch directories of the server currently up.
	scratch []string
	version string
	// owner is this agent's identity, recorded on everything it launches.
	owner string
	// token is the identity of the current server's launch.
	token string

	// The power telemetry tool (ptoolKey says for which server), its stream while a server
	// runs, and what its validation expects.
	ptool      *telemetry.Tool
	ptoolKey   string
	pstream    *telemetry.Stream
	powerTopo  energy.Topology
	powerNoted bool
}

func newRun(o Options) (*run, error) {
	o = withDefaults(o)
	if o.Inventory != nil && o.Port == 0 {
		// A family with port 0 lets the agent pick a free port (the reference keyed ports on
		// user names); a bad runner name is reported by the plan below.
		if fam, err := o.Inventory.Family(o.RunnerName); err == nil && fam.Port == 0 {
			port, err := freePort()
			if err != nil {
				return nil, errorf(KindInternal, "pick a free port: %w", err)
			}
			o.Port = port
		}
	}
	owner := procfs.Host.Self().String()
	if o.Backend == nil && o.Inventory != nil {
		if fam, err := o.Inventory.Family(o.RunnerName); err == nil {
			o.Backend = newBackend(o, fam, owner)
		}
	}
	if o.PowerTool != "" && !slices.Contains(PowerTools, o.PowerTool) {
		return nil, errorf(KindUsage, "power tool %q: want one of %s", o.PowerTool, strings.Join(PowerTools, ", "))
	}
	plan, err := PlanRow(o)
	if err != nil {
		return nil, err
	}
	// The plan's row is the validated one, with the derived defaults (exp-name, ...) the
	// planned result names were built from; the run's files must carry the same names.
	o.Row = plan.Row
	fpPlan, err := FingerprintPlan(o)
	if err != nil {
		return nil, err
	}
	if err := os.MkdirAll(o.OutDir, 0o755); err != nil {
		return nil, errorf(KindInternal, "output directory: %w", err)
	}
	abs, err := filepath.Abs(o.OutDir)
	if err != nil {
		return nil, errorf(KindInternal, "output directory: %w", err)
	}
	o.OutDir = abs
	fam, _ := o.Inventory.Family(o.RunnerName)
	r := &run{o: o, fam: fam, plan: plan, backend: o.Backend, port: plan.Runner.Port,
		logPath: filepath.Join(abs, result.ServerLogFile), report: &Report{RunID: o.RunID}, owner: owner,
		fps: pointFingerprints(fpPlan, o.AgentIdentity())}
	// Everything that could stop a point half-way (limits, names, earlier results) is
	// checked before anything is launched.
	if err := r.preflight(); err != nil {
		return nil, err
	}
	fmt.Fprintf(o.Log, "agent run %s: runner %s (family %s, %s backend, gpu %s), recipe %q (%s), port %d, %d point(s): %v, %d launch(es)\n",
		o.RunID, o.RunnerName, fam.Name, r.backend.Name(), fam.GPU, plan.Recipe.Name, plan.Recipe.Source, r.port, len(o.Row.Conc), []int(o.Row.Conc), len(plan.Launches))
	if row := o.Row; row.Multinode() {
		fmt.Fprintf(o.Log, "multi-node deployment: prefill %d worker(s) x tp%d (%d GPUs), decode %d worker(s) x tp%d (%d GPUs), one frontend for all points\n",
			row.Prefill.NumWorkers, row.Prefill.TP, row.PrefillGPUs(), row.Decode.NumWorkers, row.Decode.TP, row.DecodeGPUs())
	}
	return r, nil
}

func newRunID() string {
	b := make([]byte, 5)
	_, _ = rand.Read(b)
	return hex.EncodeToString(b)
}

// freePort asks the kernel for an unused port (the reference keyed ports on user names).
func freePort() (int, error) {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return 0, err
	}
	defer l.Close()
	return l.Addr().(*net.TCPAddr).Port, nil
}

// points runs every concurrency point in order. After an engine failure or a cancellation
// the remaining points are recorded as not run, with the reason.
func (r *run) points(ctx context.Context) error {
	r.gpu = GPUInfo(ctx, r.o.Exec)
	r.hostSetup(ctx)
	type step struct {
		l  *Launch
		pt PlannedPoint
	}
	var steps []step
	for i := range r.plan.Launches {
		for _, pt := range r.plan.Launches[i].Points {
			steps = append(steps, step{&r.plan.Launches[i], pt})
		}
	}
	worst := KindNone
	var firstErr error
	for i, st := range steps {
		m, err := r.point(ctx, st.l, st.pt, r.fingerprint(i))
		r.report.Points = append(r.report.Points, m)
		if k := KindOf(err); k > worst {
			worst, firstErr = k, err
		}
		if worst == KindEngine || worst >= KindUsage {
			for _, rest := range steps[i+1:] {
				r.report.Points = append(r.report.Points, r.skipped(rest.pt.Conc, worst, firstErr))
			}
			break
		}
	}
	if worst < KindEngine {
		if err := r.eval(ctx); err != nil && KindOf(err) > worst {
			worst, firstErr = KindOf(err), err
		}
	}
	if worst == KindNone {
		return nil
	}
	if len(r.o.Row.Conc) > 1 {
		return &Error{Kind: worst, Err: fmt.Errorf("%d point(s) of %d did not succeed; first: %w", r.failed(), len(r.report.Points), firstErr)}
	}
	return firstErr
}

// fingerprint is the result fingerprint of the i-th point in execution order, nil if the
// fingerprint plan did not line up with the run's (it always does: the two plans differ only
// in values that are the same for every point of the row).
func (r *run) fingerprint(i int) *result.Fingerprint {
	if i >= len(r.fps) {
		return nil
	}
	fp := r.fps[i]
	return &fp
}

func (r *run) failed() int {
	n := 0
	for _, m := range r.report.Points {
		if !m.OK() {
			n++
		}
	}
	return n
}

// cleanup stops the server and sweeps anything left carrying the run id, with a fresh
// context so it still works after SIGTERM cancelled the run's own.
func (r *run) cleanup(ctx context.Context) {
	cctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), 2*time.Minute)
	defer cancel()
	if r.o.Hurry != nil {
		stop := make(chan struct{})
		defer close(stop)
		go func() {
			select {
			case <-r.o.Hurry:
				fmt.Fprintln(r.o.Log, "told to hurry: killing the server now")
				cancel()
			case <-stop:
			}
		}()
	}
	r.stopPowerStream()
	if r.srv != nil {
		fmt.Fprintf(r.o.Log, "stopping server %s\n", r.srv.Info().Name)
		ph := &phases{}
		end := ph.begin("stop")
		err := r.srv.Stop(cctx)
		end(err)
		if err != nil {
			fmt.Fprintf(r.o.Log, "warning: %v\n", err)
		}
		r.srv = nil
		r.removeScratch()
		// The last point's manifest gets the final stop, so its timings cover the teardown.
		if n := len(r.report.Points); n > 0 {
			m := r.report.Points[n-1]
			m.Phases = append(m.Phases, ph.list...)
			r.rewrite(m)
		}
	}
	// The sweep must run even when told to hurry: it is what removes a server whose start
	// was interrupted.
	sctx, scancel := context.WithTimeout(context.WithoutCancel(ctx), 30*time.Second)
	defer scancel()
	if err := r.backend.Cleanup(sctx, r.o.RunID); err != nil {
		fmt.Fprintf(r.o.Log, "warning: cleanup of run %s: %v\n", r.o.RunID, err)
	}
}

func pickRecipe(o Options, gpu string) (*recipe.Recipe, error) {
	mn := o.Row.Multinode()
	if o.Engine != "" {
		rec, err := o.Recipes.ByName(o.Engine)
		if err == nil && rec.Multinode != mn {
			return nil, fmt.Errorf("recipe %q (%s) is %s, the row is %s: pick a recipe of the row's kind", rec.Name, rec.Pos, kindName(rec.Multinode), kindName(mn))
		}
		return rec, err
	}
	return o.Recipes.Lookup(recipe.Key{Framework: o.Row.Framework, ModelPrefix: o.Row.ModelPrefix,
		Precision: o.Row.Precision, GPU: gpu, SpecDecoding: o.Row.SpecDecoding, Multinode: mn})
}

func kindName(multinode bool) string {
	if multinode {
		return "multi-node (disaggregated)"
	}
	return "single-node"
}
