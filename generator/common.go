package main

import (
	"errors"
	"fmt"

	"github.com/inferbench/inferbench/internal/config"
	"github.com/inferbench/inferbench/internal/diag"
	"github.com/inferbench/inferbench/internal/ghactions"
	"github.com/inferbench/inferbench/internal/matrix"
)

// defaultRunnerConfig is the reference's .github/configs/runners.yaml, moved to
// configs/ in this project (spec project note).
const defaultRunnerConfig = "configs/runners.yaml"

func int64p(v int64) *int64 { return &v }

// newSweepParser returns a parser with the options common to the three matrix
// subcommands (spec §2.2) after the subcommand's own.
func newSweepParser(name, desc string, own func(p *argParser)) *argParser {
	p := &argParser{prog: "generator " + name, desc: desc}
	own(p)
	p.add(&option{name: "--config-files", arity: manyArg, metavar: "CONFIG_FILES", required: true,
		help: "master config files, merged in the given order"})
	p.add(&option{name: "--runner-config", arity: oneArg, metavar: "RUNNER_CONFIG", def: defaultRunnerConfig,
		help: "runner types and their node names"})
	p.add(&option{name: "--run-evals", help: "mark the rows that also run accuracy evals"})
	p.add(&option{name: "--evals-only", help: "output only the rows that run accuracy evals"})
	p.exclusive(false, "--run-evals", "--evals-only")
	p.add(&option{name: "--runner-node-filter", arity: oneArg, metavar: "RUNNER_NODE_FILTER",
		help: "use the nodes of the runner type whose names contain this text"})
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

func evalMode(a *args) matrix.EvalMode {
	switch {
	case a.flag("--run-evals"):
		return matrix.EvalsRun
	case a.flag("--evals-only"):
		return matrix.EvalsOnly
	}
	return matrix.EvalsNone
}

// loadInputs loads and validates the master configs and the runner file, reporting
// every problem of every file at once. ok is false when any error was found.
func loadInputs(e env, a *args) (*config.Master, *config.Runners, bool) {
	m, diags := config.LoadMaster(a.list("--config-files")...)
	r, rdiags := config.LoadRunners(a.str("--runner-config", defaultRunnerConfig))
	diags = append(diags, rdiags...)
	if m != nil && r != nil {
		diags = append(diags, config.Lint(m, r)...)
	}
	reportDiags(e, diags)
	return m, r, m != nil && r != nil
}

// reportDiags prints diagnostics to stderr, sorted, and as annotations in Actions.
func reportDiags(e env, diags diag.List) {
	if len(diags) == 0 {
		return
	}
	diags.Sort()
	_ = diag.WriteText(e.stderr, diags)
	gh := ghactions.New(e.getenv, e.stderr)
	if !gh.InActions() {
		return
	}
	for _, d := range diags {
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
	fmt.Fprintf(e.stderr, "error: %v\n", err)
	gh := ghactions.New(e.getenv, e.stderr)
	if gh.InActions() {
		gh.Annotate(ghactions.Error, "", 0, 0, err.Error())
	}
	return exitFail
}

// writeRows prints the matrix on one line of stdout and, in Actions, also sets the
// step output "matrix". With --max-jobs the output is the sharded shape.
func writeRows(e env, a *args, rows []matrix.Row) int {
	var out []byte
	if n := a.integer("--max-jobs"); n != nil {
		out = appendShards(nil, matrix.Shard(rows, int(*n)))
	} else {
		out = matrix.AppendJSON(make([]byte, 0, 400*len(rows)+3), rows)
	}
	gh := ghactions.New(e.getenv, e.stderr)
	if err := gh.SetOutput("matrix", string(out)); err != nil {
		return fail(e, err)
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
