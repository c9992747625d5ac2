package main

import (
	"errors"
	"fmt"
	"slices"

	"github.com/inferbench/inferbench/internal/config"
	"github.com/inferbench/inferbench/internal/diag"
	"github.com/inferbench/inferbench/internal/ghactions"
	"github.com/inferbench/inferbench/internal/matrix"
)

// defaultRunnerConfig is the reference's .github/configs/runners.yaml, moved to
// configs/ in this project (docs/generator.md#config-paths).
const defaultRunnerConfig = "configs/runners.yaml"

func int64p(v int64) *int64 { return &v }

// newSweepParser returns a parser with the options common to the three matrix
// subcommands (docs/generator.md#common-options) after the subcommand's own.
func newSweepParser(name, desc string, own func(p *argParser)) *argParser {
	p := &argParser{prog: "generator " + name, desc: desc}
	own(p)
	p.add(&option{name: "--config-files", arity: manyArg, metavar: "CONFIG_FILES", required: true,
		help: "master config files, merged in the given order"})
	p.add(&option{name: "--runner-config", arity: oneArg, metavar: "RUNNER_CONFIG", def: defaultRunnerConfig,
		help: "runner types and their node names"})
	p.add(&option{name: "--run-evals", help: "mark the rows that also run accuracy evals (2026-08: the default)"})
	p.add(&option{name: "--no-evals", help: "run no accuracy evals (2026-02: the default)"})
	p.add(&option{name: "--evals-only", help: "output only the rows that run accuracy evals"})
	p.exclusive(false, "--run-evals", "--no-evals", "--evals-only")
	p.add(&option{name: "--all-evals", help: "2026-08: every 8k1k fixed-seq-len and every agentic row runs its eval; only eval rows are output"})
	p.add(&option{name: "--runner-node-filter", arity: oneArg, metavar: "RUNNER_NODE_FILTER",
		help: "use the nodes of the runner type whose names contain this text"})
	p.add(&option{name: "--scenario-type", arity: manyArg, metavar: "SCENARIO_TYPE", choices: scenarioNames,
		help: "keep only these scenarios: fixed-seq-len, agentic-coding (2026-02 configs have fixed-seq-len only)"})
	p.add(&option{name: "--max-jobs", arity: oneArg, metavar: "N", isInt: true, minInt: int64p(1),
		help: `print {"shard_count": K, "shard_index": [0, ..., K-1], "shards": [[row, ...], ...]} with at most N rows per shard instead of the plain array (GitHub allows 256 jobs per matrix)`})
	return p
}

// parseArgs parses words, printing help or usage errors; ok is false when the
// command must end with code.
func parseArgs(e env, p *argParser, words []string) (a *args, code int, ok bool) {
	a, err := p.parse(words)
	if errors.Is(err, errHelp) {
		p.writeHelp(e.stdout)
		return nil, exitOK, false
	}
	if err != nil {
		p.writeUsageError(e.stderr, err)
		return nil, exitUsage, false
	}
	return a, 0, true
}

// scenarioNames are the choices of --scenario-type, in the reference's order.
var scenarioNames = []string{"fixed-seq-len", "agentic-coding"}

func scenarios(a *args) []matrix.Scenario {
	var out []matrix.Scenario
	for _, s := range a.list("--scenario-type") {
		if s == "agentic-coding" {
			out = append(out, matrix.AgenticCoding)
		} else {
			out = append(out, matrix.FixedSeqLen)
		}
	}
	return out
}

// evalMode is the eval selection of the options in generation g: 2026-02 marks evals only
// when asked (--run-evals), 2026-08 unless told not to (--no-evals).
func evalMode(a *args, g config.Generation) matrix.EvalMode {
	switch {
	case a.flag("--evals-only"):
		return matrix.EvalsOnly
	case a.flag("--run-evals"):
		return matrix.EvalsRun
	case a.flag("--no-evals"):
		return matrix.EvalsNone
	case g == config.Gen2026_08:
		return matrix.EvalsRun
	}
	return matrix.EvalsNone
}

// inputs are the validated files of one command.
type inputs struct {
	m   *config.Master
	r   *config.Runners
	gen config.Generation
}

// loadInputs loads and validates the master configs and the runner file, recognising
// their generation, then checks the options that depend on it (check may be nil). Usage
// errors come first, as the reference's argument parser reports them before reading any
// file; then every problem of every file is reported at once. ok is false when the
// command must end with code.
func loadInputs(e env, p *argParser, a *args, check func(*args, config.Generation) error) (in inputs, code int, ok bool) {
	m, r, g, diags := config.Load(a.list("--config-files"), a.str("--runner-config", defaultRunnerConfig))
	if err := checkCommon(a, g); err != nil {
		p.writeUsageError(e.stderr, err)
		return in, exitUsage, false
	}
	if check != nil {
		if err := check(a, g); err != nil {
			p.writeUsageError(e.stderr, err)
			return in, exitUsage, false
		}
	}
	if m != nil && r != nil {
		diags = append(diags, config.Lint(m, r)...)
	}
	reportDiags(e, diags)
	if m == nil || r == nil {
		return in, exitFail, false
	}
	return inputs{m, r, g}, exitOK, true
}

// checkCommon checks the options every matrix subcommand shares against the generation
// of the files (docs/generator-generations.md says what each option does in each).
func checkCommon(a *args, g config.Generation) error {
	if a.flag("--all-evals") {
		if g != config.Gen2026_08 {
			return usagef("argument --all-evals: the files are 2026-02 configs, which have no --all-evals selection (--run-evals marks their eval rows)")
		}
		if a.flag("--no-evals") {
			return usagef("--all-evals cannot be combined with --no-evals")
		}
	}
	return nil
}

// checkSeqLens refuses seq-len names the generation does not know: 2026-08 dropped 1k8k.
func checkSeqLens(a *args, g config.Generation) error {
	if g != config.Gen2026_08 {
		return nil
	}
	for _, s := range a.list("--seq-lens") {
		if !slices.Contains(seqLenNames0208, s) {
			return usagef("argument --seq-lens: invalid choice: '%s' (choose from %s)", s, quoteJoin(seqLenNames0208))
		}
	}
	return nil
}

// seqLenNames0208 are the --seq-lens choices of 2026-08 configs.
var seqLenNames0208 = []string{"1k1k", "8k1k"}

// checkNodeKinds applies the 2026-02 rule that exactly one of --single-node and
// --multi-node is given; 2026-08 expands both kinds when neither is.
func checkNodeKinds(a *args, g config.Generation) error {
	if g == config.Gen2026_08 {
		return nil
	}
	single, multi := a.flag("--single-node"), a.flag("--multi-node")
	switch {
	case single && multi:
		first, second := "--single-node", "--multi-node"
		if a.pos[first] > a.pos[second] {
			first, second = second, first
		}
		return usagef("argument %s: not allowed with argument %s", second, first)
	case !single && !multi:
		return usagef("one of the arguments --single-node --multi-node is required")
	}
	return nil
}

// reportDiags prints diagnostics to stderr, sorted, and as annotations in Actions.
func reportDiags(e env, diags diag.List) {
	if len(diags) == 0 {
		return
	}
	diags.Sort()
	shown, more := diags.Head(diag.Shown)
	_ = diag.WriteText(e.stderr, shown)
	if more > 0 {
		fmt.Fprintf(e.stderr, "... and %d more problems (%d in all; fix these and run again)\n", more, len(diags))
	}
	gh := ghactions.New(e.getenv, e.stderr)
	if !gh.InActions() {
		return
	}
	for _, d := range shown {
		level := ghactions.Error
		if d.Severity == diag.Warning {
			level = ghactions.Warning
		}
		msg := d.Message
		if d.Hint != "" {
			msg += "\n" + d.Hint
		}
		gh.Annotate(level, d.File, d.Line, d.Col, msg)
	}
}

// fail reports an error that has no position (a selection error) and returns exitFail.
func fail(e env, err error) int {
	msg := diag.CleanLines(err.Error())
	fmt.Fprintf(e.stderr, "error: %s\n", msg)
	gh := ghactions.New(e.getenv, e.stderr)
	if gh.InActions() {
		gh.Annotate(ghactions.Error, "", 0, 0, msg)
	}
	return exitFail
}

// writeRows prints the matrix on one line of stdout and, in Actions, also sets the
// step output "matrix". With --max-jobs the output is the sharded shape.
func writeRows(e env, a *args, rows []matrix.Row) int {
	gh := ghactions.New(e.getenv, e.stderr)
	n := a.integer("--max-jobs")
	if n == nil && !gh.HasOutputFile() {
		if err := matrix.WriteJSON(e.stdout, rows); err != nil {
			return fail(e, err)
		}
		return exitOK
	}
	var out []byte
	if n != nil {
		out = appendShards(nil, matrix.Shard(rows, int(*n)))
	} else {
		out = matrix.AppendJSON(nil, rows)
	}
	if gh.HasOutputFile() {
		if err := gh.SetOutput("matrix", string(out)); err != nil {
			return fail(e, err)
		}
	}
	if _, err := e.stdout.Write(append(out, '\n')); err != nil {
		return fail(e, err)
	}
	return exitOK
}

// appendShards appends {"shard_count": K, "shard_index": [0..K-1], "shards": [[rows], ...]}:
// a workflow fans out over shard_index with an outer matrix and hands each shard's rows
// to a reusable workflow as its inner matrix, so no matrix exceeds N jobs.
func appendShards(b []byte, shards [][]matrix.Row) []byte {
	b = fmt.Appendf(b, `{"shard_count": %d, "shard_index": [`, len(shards))
	for i := range shards {
		if i > 0 {
			b = append(b, ", "...)
		}
		b = fmt.Append(b, i)
	}
	b = append(b, `], "shards": [`...)
	for i, s := range shards {
		if i > 0 {
			b = append(b, ", "...)
		}
		b = matrix.AppendJSON(b, s)
	}
	return append(b, "]}"...)
}
