package main

import (
	"bytes"
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"strconv"
	"strings"

	"github.com/inferbench/inferbench/internal/config"
	"github.com/inferbench/inferbench/internal/diag"
	"github.com/inferbench/inferbench/internal/execx"
	"github.com/inferbench/inferbench/internal/ghactions"
	"github.com/inferbench/inferbench/internal/inventory"
	"github.com/inferbench/inferbench/internal/plan"
)

const planUsage = `usage: agent plan [flags] MATRIX.json [MATRIX.json ...]

Works out what a sweep will cost before anything runs. MATRIX is the generator's JSON (an
array of rows, its --max-jobs shards, or the changelog output; "-" reads stdin); several are
planned as one sweep. For every row it renders the launches agent run would make on the
nodes runners.yaml lists for its runner type, and prints:

  - the engine launches: one per point as the reference starts them, and one per launch
    group (points whose rendered launch is identical), with the setting that forces each
    relaunch within a configuration;
  - per runner type: jobs, launches, GPU-hours and the makespan on its nodes, with the
    node whose chain of jobs ends last;
  - where every estimate comes from: earlier results (--history) for the same or the
    nearest configuration, else the stated model (the --model-* flags).

--emit-matrix reference|grouped prints the matrix to run on stdout instead (the plan goes
to --plan-md, --plan-json, the step summary, or stderr): the reference's one job per row, or
one job per launch group (conc a list), less the points --reuse DIR already has valid
results for; --reuse-out copies those results, with their provenance, for collection.
In GitHub Actions the markdown plan is added to the step summary and the step outputs
sweep (the emitted matrix), jobs and reused-points are set.

flags:
`

// cmdPlan prints a sweep's plan and, optionally, the matrix to run.
func cmdPlan(_ context.Context, e env, args []string) int {
	fs := flag.NewFlagSet("agent plan", flag.ContinueOnError)
	fs.SetOutput(e.stderr)
	fs.Usage = func() { fmt.Fprint(e.stderr, planUsage); fs.PrintDefaults() }
	recipes := fs.String("recipes", "configs/recipes.yaml", "engine recipes file, or a directory of *.yaml")
	inv := fs.String("inventory", "configs/inventory.yaml", "runner inventory file")
	runners := fs.String("runner-config", "configs/runners.yaml", "runner types and their nodes")
	genCommand := fs.String("generator-command", "", "the generator command line the matrix came from: its --runner-config is used unless --runner-config is given")
	runnerName := fs.String("runner-name", "", "plan every row on this one node instead of its runner type's nodes")
	engine := fs.String("engine", "", "serve every row with the recipe of this name (as agent run --engine)")
	format := fs.String("format", "md", "the plan's format on stdout: md or json")
	emit := fs.String("emit-matrix", "", "print the matrix to run instead of the plan: reference or grouped")
	maxJobs := fs.Int("max-jobs", 0, "rows per shard of an emitted sharded matrix (default: as the input, else 256)")
	planMD := fs.String("plan-md", "", "also write the markdown plan to this `file`")
	planJSON := fs.String("plan-json", "", "also write the JSON plan to this `file`")
	history := fs.String("history", "", "`directory` of earlier results (manifests, agg records) to estimate from")
	reuse := fs.String("reuse", "", "`directory` of an earlier sweep's artifacts whose valid results are reused")
	reuseSource := fs.String("reuse-source", "", "what --reuse holds, for the provenance (e.g. the run's address)")
	reuseOut := fs.String("reuse-out", "", "copy the reused results into this `directory`, as the jobs would have uploaded them")
	numPrompts := fs.Int("num-prompts", 0, "requests per point, as agent run (default 10 x conc)")
	numWarmups := fs.Int("num-warmups", -1, "warm-up requests per point, as agent run (default 2 x conc)")
	build := fs.String("agent-build", agentBuild(), "identity of the agent that will run the sweep, for result fingerprints")
	version := fs.String("agent-version", agentVersion(), "version of the agent that will run the sweep")
	requirePower := fs.Bool("require-power", envTrue(e.getenv("REQUIRE_POWER")), "the sweep runs with --require-power: reuse only results whose power telemetry was valid (default $REQUIRE_POWER)")
	var digests digestFlag
	fs.Var(&digests, "image-digest", "`IMAGE=DIGEST`: the digest IMAGE resolves to now; results measured with another are not reused (repeatable)")
	m := plan.DefaultModel()
	fs.DurationVar(&m.Overhead, "model-overhead", m.Overhead, "model: a job's time outside the agent (checkout, build, uploads)")
	fs.DurationVar(&m.Startup, "model-startup", m.Startup, "model: an engine's start-up")
	fs.DurationVar(&m.StartupMultinode, "model-startup-multinode", m.StartupMultinode, "model: a multi-node deployment's start-up")
	fs.DurationVar(&m.Stop, "model-stop", m.Stop, "model: an engine's shutdown")
	fs.DurationVar(&m.Eval, "model-eval", m.Eval, "model: an accuracy eval")
	fs.Float64Var(&m.TokenRate, "token-rate", m.TokenRate, "model: output tokens/s one GPU produces with a full batch")
	fs.Float64Var(&m.UserRate, "user-rate", m.UserRate, "model: output tokens/s one request gets")
	fs.Float64Var(&m.PrefillRate, "prefill-rate", m.PrefillRate, "model: input tokens/s one GPU takes in")
	files, code := parseArgsAnywhere(fs, args)
	if code >= 0 {
		return code
	}
	var problems []string
	if len(files) == 0 {
		problems = append(problems, "no matrix: give the generator's JSON as an argument (- for stdin)")
	}
	if *format != "md" && *format != "json" {
		problems = append(problems, fmt.Sprintf("--format %q: want md or json", *format))
	}
	if *emit != "" && *emit != "reference" && *emit != "grouped" {
		problems = append(problems, fmt.Sprintf("--emit-matrix %q: want reference or grouped", *emit))
	}
	if *reuseOut != "" && *reuse == "" {
		problems = append(problems, "--reuse-out needs --reuse DIR")
	}
	if m.TokenRate <= 0 || m.UserRate <= 0 || m.PrefillRate <= 0 {
		problems = append(problems, "--token-rate, --user-rate and --prefill-rate must be positive")
	}
	if *genCommand != "" && !flagSet(fs, "runner-config") {
		rc, err := runnerConfigOf(*genCommand)
		if err != nil {
			problems = append(problems, fmt.Sprintf("--generator-command: %v", err))
		} else if rc != "" {
			*runners = rc
		}
	}
	if len(problems) > 0 {
		for _, p := range problems {
			fmt.Fprintf(e.stderr, "agent plan: %s\n", p)
		}
		return exitUsage
	}

	o := plan.Options{RunnerName: *runnerName, Engine: *engine, AgentVersion: *version, AgentBuild: *build,
		RangeRatio: rangeRatio(e.getenv), NumPrompts: *numPrompts, NumWarmups: *numWarmups,
		Grouped: *emit == "grouped", Model: m, ImageDigests: digests, RequirePower: *requirePower}
	mat, code := loadPlanInputs(e, files, *recipes, *inv, *runners, &o)
	if code >= 0 {
		return code
	}
	if *history != "" {
		h, err := plan.LoadHistory(os.DirFS(*history), *history)
		if err != nil {
			fmt.Fprintf(e.stderr, "agent plan: %v\n", err)
			return exitUsage
		}
		for _, p := range h.Problems {
			fmt.Fprintf(e.stderr, "agent plan: history: %s (skipped)\n", p)
		}
		o.History = h
	}
	if *reuse != "" {
		r, err := plan.LoadReuse(os.DirFS(*reuse), *reuse, *reuseSource)
		if err != nil {
			fmt.Fprintf(e.stderr, "agent plan: %v\n", err)
			return exitUsage
		}
		o.Reuse = r
	}
	p, err := plan.Make(mat, o)
	if err != nil {
		fmt.Fprintf(e.stderr, "agent plan: %v\n", err)
		return exitUsage
	}
	return writePlan(e, p, planOutputs{format: *format, emit: *emit != "", maxJobs: *maxJobs, md: *planMD, json: *planJSON, reuseOut: *reuseOut})
}

// loadPlanInputs reads the matrices, recipes, inventory and runner file, reporting every
// problem before giving up.
func loadPlanInputs(e env, files []string, recipes, inv, runners string, o *plan.Options) (*plan.Matrix, int) {
	var errs []string
	mat := &plan.Matrix{}
	for _, f := range files {
		var b []byte
		var err error
		if f == "-" {
			b, err = io.ReadAll(e.stdin)
		} else {
			b, err = os.ReadFile(f)
		}
		if err == nil {
			var m *plan.Matrix
			if m, err = plan.ReadMatrix(f, b); err == nil {
				mat.Append(m)
			}
		}
		if err != nil {
			errs = append(errs, err.Error())
		}
	}
	set, err := loadRecipes(recipes)
	if err != nil {
		errs = append(errs, "recipes: "+err.Error())
	}
	o.Recipes = set
	if o.Inventory, err = inventory.LoadFile(inv); err != nil {
		errs = append(errs, "inventory: "+err.Error())
	}
	if o.RunnerName == "" {
		r, diags := config.LoadRunners(runners)
		diags.Sort()
		if diags.HasErrors() {
			var b bytes.Buffer
			_ = diag.WriteText(&b, diags.Errors())
			errs = append(errs, strings.TrimSpace(b.String()))
		} else {
			o.Runners = r
		}
	}
	if len(errs) > 0 {
		for _, msg := range errs {
			fmt.Fprintf(e.stderr, "agent plan: %s\n", msg)
		}
		return nil, exitUsage
	}
	return mat, -1
}

type planOutputs struct {
	format             string
	emit               bool
	maxJobs            int
	md, json, reuseOut string
}

func writePlan(e env, p *plan.Plan, out planOutputs) int {
	var md, js bytes.Buffer
	if err := p.WriteMarkdown(&md); err != nil {
		fmt.Fprintf(e.stderr, "agent plan: %v\n", err)
		return exitInternal
	}
	if err := p.WriteJSON(&js); err != nil {
		fmt.Fprintf(e.stderr, "agent plan: %v\n", err)
		return exitInternal
	}
	for path, b := range map[string][]byte{out.md: md.Bytes(), out.json: js.Bytes()} {
		if path == "" {
			continue
		}
		if err := os.WriteFile(path, b, 0o644); err != nil {
			fmt.Fprintf(e.stderr, "agent plan: %v\n", err)
			return exitInternal
		}
	}
	gh := ghactions.New(e.getenv, e.stderr)
	if err := gh.AddStepSummary(md.String()); err != nil {
		fmt.Fprintf(e.stderr, "agent plan: %v\n", err)
	}
	if out.reuseOut != "" {
		n, err := p.CopyReused(out.reuseOut)
		if err != nil {
			fmt.Fprintf(e.stderr, "agent plan: copy reused results: %v\n", err)
			return exitInternal
		}
		fmt.Fprintf(e.stderr, "agent plan: copied %d reused results to %s\n", n, out.reuseOut)
	}
	chosen := js.Bytes()
	if out.format == "md" {
		chosen = md.Bytes()
	}
	if !out.emit {
		if _, err := e.stdout.Write(chosen); err != nil {
			return exitInternal
		}
		return exitOK
	}
	matrix, err := p.Matrix(out.maxJobs)
	if err != nil {
		fmt.Fprintf(e.stderr, "agent plan: %v\n", err)
		return exitInternal
	}
	if out.md == "" && out.json == "" && !gh.InActions() {
		// The matrix has stdout; the plan must still be seen before the sweep runs.
		_, _ = e.stderr.Write(chosen)
	}
	for name, v := range map[string]string{"sweep": string(matrix), "jobs": strconv.Itoa(p.JobsToRun()),
		"reused-points": strconv.Itoa(p.Totals.ReusedPoints)} {
		if err := gh.SetOutput(name, v); err != nil {
			fmt.Fprintf(e.stderr, "agent plan: %v\n", err)
			return exitInternal
		}
	}
	if _, err := fmt.Fprintf(e.stdout, "%s\n", matrix); err != nil {
		return exitInternal
	}
	return exitOK
}

// runnerConfigOf is the --runner-config of a generator command line (split as the generator
// splits it), "" when it has none; the last one counts, as in the generator.
func runnerConfigOf(command string) (string, error) {
	words, err := execx.SplitWords(command)
	if err != nil {
		return "", err
	}
	rc := ""
	for i, w := range words {
		if v, ok := strings.CutPrefix(w, "--runner-config="); ok {
			rc = v
		} else if w == "--runner-config" && i+1 < len(words) {
			rc = words[i+1]
		}
	}
	return rc, nil
}

// parseArgsAnywhere parses flags that may come before or after the positional arguments.
func parseArgsAnywhere(fs *flag.FlagSet, args []string) ([]string, int) {
	var pos []string
	for {
		if err := fs.Parse(args); err != nil {
			if errors.Is(err, flag.ErrHelp) {
				return nil, exitOK
			}
			return nil, exitUsage
		}
		if fs.NArg() == 0 {
			return pos, -1
		}
		pos = append(pos, fs.Arg(0))
		args = fs.Args()[1:]
	}
}

// digestFlag collects --image-digest IMAGE=DIGEST.
type digestFlag map[string]string

func (d *digestFlag) String() string { return fmt.Sprint(map[string]string(*d)) }

func (d *digestFlag) Set(s string) error {
	img, dig, ok := strings.Cut(s, "=")
	if !ok || img == "" || !strings.Contains(dig, ":") {
		return fmt.Errorf("want IMAGE=DIGEST (e.g. lmsysorg/sglang:v0.5=sha256:...), got %q", s)
	}
	if *d == nil {
		*d = digestFlag{}
	}
	(*d)[img] = dig
	return nil
}
