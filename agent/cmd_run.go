package main

import (
	"context"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"os"
	"path/filepath"
	"runtime/debug"
	"strings"
	"time"

	"github.com/inferbench/inferbench/internal/execx"
	"github.com/inferbench/inferbench/internal/inventory"
	"github.com/inferbench/inferbench/internal/loadgen"
	"github.com/inferbench/inferbench/internal/recipe"
	"github.com/inferbench/inferbench/internal/rowrun"
)

// cmdRun runs one matrix row: launch the engine, benchmark every concurrency point, clean up.
func cmdRun(ctx context.Context, e env, args []string) int {
	fs := flag.NewFlagSet("agent run", flag.ContinueOnError)
	fs.SetOutput(e.stderr)
	fs.Usage = func() {
		fmt.Fprintln(e.stderr, `usage: agent run [--entry JSON | --entry-file FILE] [flags]

Runs one matrix row on this runner: starts the engine the recipe describes with the backend
the runner inventory names (docker, slurm, local), waits until it serves, benchmarks every
concurrency of the row (one server for consecutive points whose launch is identical), and
writes per point <stem>.json, agg_<stem>.json, manifest_<stem>.json and server.log.
Whatever it started is removed on exit, on failure and on SIGINT/SIGTERM.

A multi-node row (prefill and decode worker blocks instead of tp/ep/dp-attn) brings up one
disaggregated deployment with its multinode recipe (frontend, prefill and decode workers,
over the nodes of one Slurm allocation) and benchmarks every conc of its list against the
frontend; per point it writes <RESULT_FILENAME>_conc<C>_gpus_<G>_ctx_<P>_gen_<D> files.

Without --entry/--entry-file the row comes from the reference's environment (EXP_NAME, MODEL,
MODEL_PREFIX, IMAGE, FRAMEWORK, PRECISION, TP, EP_SIZE, DP_ATTENTION, CONC (one value or a
list), ISL, OSL, MAX_MODEL_LEN, SPEC_DECODING, DISAGG, RUN_EVAL, RUNNER_TYPE), or for a
multi-node row its contract: CONC_LIST, PREFILL_NUM_WORKERS, PREFILL_TP, PREFILL_EP,
PREFILL_DP_ATTN, DECODE_* likewise, and the additional settings either as
PREFILL_ADDITIONAL_SETTINGS/DECODE_ADDITIONAL_SETTINGS (JSON arrays of "K=V") or as the
exported variables themselves (CONFIG_FILE, PREFILL_NODES, DECODE_NODES, DECODE_MTP_SIZE, ...).

Per point it also samples the GPUs' power, temperature, clocks and utilization during the
load (nvidia-smi or amd-smi by the runner's vendor, the simulator's own for simulated
engines; --power-tool) into gpu_metrics_<stem>.csv, validates the telemetry and computes the
energy over the benchmark window into power_validation_<stem>.json and the agg record's
power fields (avg_power_w, total_gpu_energy_j, joules_per_output_token, ..., power_valid).
Invalid power is recorded, not fatal, unless --require-power (or REQUIRE_POWER=1).

--dry-run prints what the run would start, starting nothing: one JSON object with every
launch (the backend's request, the engine's command line, complete environment and config
files) and the concurrency points benchmarked against it with the client's settings.
--dry-run=text prints the same for people.

Before launching, it refuses a row or flags beyond the limits, result names that would leave
--out or collide, and earlier results in --out (unless --overwrite); it refuses a port that is
already held, and after readiness it checks that the server answering is the one it launched.
Leftovers of agents that were killed (containers, Slurm jobs, processes) are removed when
their agent is provably gone. See docs/robustness.md.

Exit status: 0 success, 1 benchmark failure, 2 usage error, 3 engine failure (including a
port held by another program), 4 other (including cancellation), 5 power required and its
telemetry invalid. The first SIGINT/SIGTERM cancels (the engine gets --stop-grace), a second
kills the engine at once.

flags:`)
		fs.PrintDefaults()
	}
	entry := fs.String("entry", "", "the matrix row as JSON (conc may be a list)")
	entryFile := fs.String("entry-file", "", "file holding the matrix row as JSON")
	runnerName := fs.String("runner-name", e.getenv("RUNNER_NAME"), "runner node; picks the inventory entry (default $RUNNER_NAME)")
	runnerType := fs.String("runner-type", e.getenv("RUNNER_TYPE"), "runner label written as hw (default $RUNNER_TYPE, else the row's runner)")
	resultFilename := fs.String("result-filename", e.getenv("RESULT_FILENAME"), "result file stem (default $RESULT_FILENAME, else built from the row)")
	out := fs.String("out", ".", "directory for the outputs")
	recipes := fs.String("recipes", "configs/recipes.yaml", "engine recipes file, or a directory of *.yaml")
	inv := fs.String("inventory", "configs/inventory.yaml", "runner inventory file")
	timeout := fs.Duration("timeout", 180*time.Minute, "bound on the whole run (the reference's job timeout; 480m for multi-node rows and conc lists unless set)")
	numPrompts := fs.Int("num-prompts", 0, "requests per point (default 10 x conc)")
	numWarmups := fs.Int("num-warmups", -1, "warm-up requests per point (default 2 x conc)")
	runID := fs.String("run-id", "", "identity put on everything this run creates (default random)")
	readyInterval := fs.Duration("ready-interval", time.Second, "readiness probe interval")
	stopGrace := fs.Duration("stop-grace", rowrun.DefaultStopGrace, "time the engine gets between SIGTERM and SIGKILL (fits the CI runner's cancellation window)")
	stallTimeout := fs.Duration("stall-timeout", loadgen.DefaultStallTimeout, "fail a request that receives nothing for this long (0: no limit)")
	overwrite := fs.Bool("overwrite", false, "replace results an earlier run left in --out for the same points (default: refuse to start)")
	engine := fs.String("engine", "", "serve the row with the recipe of this name instead of the one its configuration selects (e.g. sim)")
	evalConfig := fs.String("eval-config", "configs/eval-harness.yaml", "accuracy eval harness settings, used when the row has run-eval")
	evalThresholds := fs.String("eval-thresholds", "configs/eval-thresholds.yaml", "minimum eval scores per task and model")
	evalMode := fs.String("eval-mode", "", "override the eval mode of --eval-config: harness (lm-eval) or builtin (no Python needed)")
	var dryRun dryRunFlag
	fs.Var(&dryRun, "dry-run", "print the plan (json, or text with --dry-run=text) instead of running it")
	powerTool := fs.String("power-tool", rowrun.PowerAuto, "GPU power telemetry: "+strings.Join(rowrun.PowerTools, ", "))
	powerInterval := fs.Duration("power-interval", 0, "power sampling interval (default 100ms for nvidia-smi; amd-smi counts whole seconds)")
	requirePower := fs.Bool("require-power", envTrue(e.getenv("REQUIRE_POWER")), "fail a point whose power telemetry is invalid, with exit status 5 (default $REQUIRE_POWER)")
	if err := fs.Parse(args); err != nil {
		if errors.Is(err, flag.ErrHelp) {
			return exitOK
		}
		return exitUsage
	}
	if fs.NArg() > 0 {
		fmt.Fprintf(e.stderr, "agent run: unexpected arguments %q\n", fs.Args())
		return exitUsage
	}
	if problems := runFlagProblems(*numPrompts, *numWarmups, *timeout, *readyInterval, *stopGrace, *stallTimeout); len(problems) > 0 {
		fmt.Fprintf(e.stderr, "agent run: %s\n", strings.Join(problems, "\nagent run: "))
		return exitUsage
	}
	row, err := loadRow(*entry, *entryFile, e.getenv)
	if err != nil {
		fmt.Fprintf(e.stderr, "agent run: %v\n", err)
		return exitUsage
	}
	if (row.Multinode() || len(row.Conc) > 1) && !flagSet(fs, "timeout") {
		// The reference's multi-node template allows 480 minutes (docs/workflows.md#timeouts);
		// a single-node row of a grouped matrix runs several points and gets as long as its job.
		*timeout = 480 * time.Minute
	}
	set, err := loadRecipes(*recipes)
	if err != nil {
		fmt.Fprintf(e.stderr, "agent run: recipes:\n%v\n", err)
		return exitUsage
	}
	inventoryData, err := inventory.LoadFile(*inv)
	if err != nil {
		fmt.Fprintf(e.stderr, "agent run: inventory:\n%v\n", err)
		return exitUsage
	}
	if dryRun != "" {
		return printPlan(e, string(dryRun), rowrun.Options{
			Row: row, RunnerName: *runnerName, RunnerType: *runnerType, ResultFilename: *resultFilename,
			OutDir: *out, Recipes: set, Inventory: inventoryData, Environ: e.environment(), AgentPath: self(),
			RunID: or(*runID, "dry-run"), RangeRatio: rangeRatio(e.getenv), NumPrompts: *numPrompts, NumWarmups: *numWarmups,
			Engine: *engine,
		})
	}
	var evaluator rowrun.Evaluator
	if row.RunEval {
		ev, err := newRowEvaluator(*evalConfig, *evalThresholds, *evalMode, execx.OS{}, e.getenv, e.stderr)
		if err != nil {
			fmt.Fprintf(e.stderr, "agent run: eval settings:\n%v\n", err)
			return exitUsage
		}
		evaluator = ev
	}
	rep, err := rowrun.Run(ctx, rowrun.Options{
		Row: row, RunnerName: *runnerName, RunnerType: *runnerType, ResultFilename: *resultFilename,
		OutDir: *out, Recipes: set, Inventory: inventoryData, Environ: e.environment(), AgentPath: self(),
		AgentVersion: agentVersion(), AgentBuild: agentBuild(), RunID: *runID, Timeout: *timeout, RangeRatio: rangeRatio(e.getenv),
		NumPrompts: *numPrompts, NumWarmups: *numWarmups, Log: e.stderr, ReadyInterval: *readyInterval,
		StopGrace: *stopGrace, Evaluator: evaluator,
		Engine: *engine, Overwrite: *overwrite, StallTimeout: stallOption(*stallTimeout), Hurry: e.hurry,
		PowerTool: *powerTool, PowerInterval: *powerInterval, RequirePower: *requirePower,
	})
	if rep != nil {
		for _, m := range rep.Points {
			fmt.Fprintf(e.stdout, "%s\t%s\n", m.Status, m.ResultFilename)
		}
	}
	kind := rowrun.KindOf(err)
	if err != nil {
		fmt.Fprintf(e.stderr, "agent run: %s: %v\n", kind, err)
	}
	switch kind {
	case rowrun.KindNone:
		return exitOK
	case rowrun.KindBench:
		return exitBenchFail
	case rowrun.KindPower:
		return exitPower
	case rowrun.KindUsage:
		return exitUsage
	case rowrun.KindEngine:
		return exitEngine
	}
	return exitInternal
}

// dryRunFlag is --dry-run (json), --dry-run=json or --dry-run=text.
type dryRunFlag string

func (d *dryRunFlag) String() string   { return string(*d) }
func (d *dryRunFlag) IsBoolFlag() bool { return true }
func (d *dryRunFlag) Set(s string) error {
	switch s {
	case "true", "json":
		*d = "json"
	case "text":
		*d = "text"
	case "false":
		*d = ""
	default:
		return fmt.Errorf("want --dry-run, --dry-run=json or --dry-run=text, not %q", s)
	}
	return nil
}

// printPlan prints the row's plan without starting anything.
func printPlan(e env, mode string, o rowrun.Options) int {
	p, err := rowrun.PlanRow(o)
	if err != nil {
		fmt.Fprintf(e.stderr, "agent run --dry-run: %v\n", err)
		if rowrun.KindOf(err) == rowrun.KindUsage {
			return exitUsage
		}
		return exitInternal
	}
	if mode == "text" {
		err = p.WriteText(e.stdout)
	} else {
		enc := json.NewEncoder(e.stdout)
		enc.SetIndent("", "  ")
		enc.SetEscapeHTML(false)
		err = enc.Encode(p)
	}
	if err != nil {
		fmt.Fprintf(e.stderr, "agent run --dry-run: %v\n", err)
		return exitInternal
	}
	return exitOK
}

func self() string {
	p, _ := os.Executable()
	return p
}

func or(s, def string) string {
	if s == "" {
		return def
	}
	return s
}

// runFlagProblems checks the numeric flags before anything starts: a bad value must not be
// found out only after the engine has loaded for minutes, nor be ignored.
func runFlagProblems(numPrompts, numWarmups int, timeout, readyInterval, stopGrace, stall time.Duration) []string {
	var p []string
	if numPrompts < 0 || numPrompts > loadgen.MaxPrompts {
		p = append(p, fmt.Sprintf("--num-prompts %d must be within [1, %d] (0: 10 x conc)", numPrompts, loadgen.MaxPrompts))
	}
	if numWarmups < -1 || numWarmups > loadgen.MaxWarmups {
		p = append(p, fmt.Sprintf("--num-warmups %d must be within [0, %d] (-1: 2 x conc)", numWarmups, loadgen.MaxWarmups))
	}
	if timeout <= 0 {
		p = append(p, fmt.Sprintf("--timeout %s must be positive", timeout))
	}
	if readyInterval <= 0 {
		p = append(p, fmt.Sprintf("--ready-interval %s must be positive", readyInterval))
	}
	if stopGrace < 0 {
		p = append(p, fmt.Sprintf("--stop-grace %s must not be negative", stopGrace))
	}
	if stall < 0 {
		p = append(p, fmt.Sprintf("--stall-timeout %s must not be negative (0: no limit)", stall))
	}
	return p
}

// stallOption maps the flag onto rowrun.Options.StallTimeout, where 0 keeps the default.
func stallOption(d time.Duration) time.Duration {
	if d == 0 {
		return -1
	}
	return d
}

func flagSet(fs *flag.FlagSet, name string) bool {
	set := false
	fs.Visit(func(f *flag.Flag) { set = set || f.Name == name })
	return set
}

func loadRow(entry, entryFile string, getenv func(string) string) (rowrun.Row, error) {
	switch {
	case entry != "" && entryFile != "":
		return rowrun.Row{}, errors.New("give --entry or --entry-file, not both")
	case entry != "":
		return rowrun.ParseRow([]byte(entry))
	case entryFile != "":
		b, err := os.ReadFile(entryFile)
		if err != nil {
			return rowrun.Row{}, err
		}
		return rowrun.ParseRow(b)
	}
	if getenv("MODEL") == "" && getenv("CONC") == "" && getenv("CONC_LIST") == "" {
		return rowrun.Row{}, errors.New("no row: pass --entry or --entry-file, or set the workflow environment (MODEL, CONC or CONC_LIST, ...)")
	}
	return rowrun.RowFromEnv(getenv)
}

func loadRecipes(path string) (*recipe.Set, error) {
	st, err := os.Stat(path)
	if err != nil {
		return nil, err
	}
	if !st.IsDir() {
		return recipe.LoadFile(path)
	}
	files, _ := filepath.Glob(filepath.Join(path, "*.yaml"))
	if len(files) == 0 {
		return nil, fmt.Errorf("%s: no *.yaml recipe files", path)
	}
	return recipe.LoadFiles(files...)
}

// envTrue reads a boolean environment variable the way the reference's REQUIRE_POWER is read.
func envTrue(v string) bool {
	switch strings.ToLower(strings.TrimSpace(v)) {
	case "1", "true", "yes":
		return true
	}
	return false
}

// rangeRatio reads RANDOM_RANGE_RATIO (the reference sets 0.8); 0 lets the runner default.
func rangeRatio(getenv func(string) string) float64 {
	var r float64
	if v := getenv("RANDOM_RANGE_RATIO"); v != "" {
		_, _ = fmt.Sscan(v, &r)
	}
	return r
}

// sourceDigest is set at build time (-ldflags "-X main.sourceDigest=...") to a digest of the
// agent's source, which the workflows compute the same way wherever they build it.
var sourceDigest string

// agentBuild identifies the agent's code in result fingerprints: the source digest when the
// build stamped one, which stays the same across commits that do not touch the agent, else
// the version (docs/plan.md).
func agentBuild() string {
	if sourceDigest != "" {
		return "src:" + sourceDigest
	}
	return agentVersion()
}

// agentVersion is the module version or VCS revision baked in at build time.
func agentVersion() string {
	bi, ok := debug.ReadBuildInfo()
	if !ok {
		return "unknown"
	}
	v := bi.Main.Version
	for _, s := range bi.Settings {
		if s.Key == "vcs.revision" && len(s.Value) >= 12 {
			v += "+" + s.Value[:12]
		}
	}
	return v
}
