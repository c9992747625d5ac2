package main

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"slices"
	"strings"

	"github.com/inferbench/inferbench/internal/changelog"
	"github.com/inferbench/inferbench/internal/config"
	"github.com/inferbench/inferbench/internal/diag"
	"github.com/inferbench/inferbench/internal/execx"
	"github.com/inferbench/inferbench/internal/ghactions"
	"github.com/inferbench/inferbench/internal/matrix"
)

// Defaults of the changelog-related subcommands: the reference's hard-coded paths, with
// configs/ in place of .github/configs/ (docs/generator.md#changelog-cli).
var (
	defaultMasterConfigs = []string{"configs/amd-master.yaml", "configs/nvidia-master.yaml"}
	defaultChangelog     = "perf-changelog.yaml"
)

// gitExec runs git for changelog and validate.
var gitExec execx.Executor = execx.OS{}

func changelogParser() *argParser {
	p := &argParser{prog: "generator changelog",
		desc: "Expand the perf-changelog entries added between the merge base of two git refs and the head ref\n" +
			"into single_node/multi_node buckets per sequence length (one line of JSON on stdout)."}
	p.add(&option{name: "--base-ref", arity: oneArg, metavar: "BASE_REF", required: true, help: "base git ref (the diff starts at the merge base of it and the head ref)"})
	p.add(&option{name: "--head-ref", arity: oneArg, metavar: "HEAD_REF", required: true, help: "head git ref"})
	p.add(&option{name: "--changelog-file", arity: oneArg, metavar: "CHANGELOG_FILE", required: true, help: "path of perf-changelog.yaml"})
	addConfigOptions(p)
	p.add(&option{name: "--max-jobs", arity: oneArg, metavar: "N", isInt: true, minInt: int64p(1),
		help: "in Actions, give the step output \"matrix\" the sharded shape with at most N rows per shard (stdout keeps the changelog shape)"})
	p.add(&option{name: "--trim-conc", help: "2026-08: keep one concurrency (the lowest) per recipe"})
	p.add(&option{name: "--all-evals", help: "2026-08: expand every entry's eval selection, without changing its throughput rows"})
	p.add(&option{name: "--evals-only", help: "2026-08: suppress the throughput rows of every entry"})
	return p
}

// addConfigOptions adds the options shared by changelog and validate.
func addConfigOptions(p *argParser) {
	p.add(&option{name: "--config-files", arity: manyArg, metavar: "CONFIG_FILES", help: "master configs, merged in this order", def: strings.Join(defaultMasterConfigs, " ")})
	p.add(&option{name: "--runner-config", arity: oneArg, metavar: "RUNNER_CONFIG", help: "runner file", def: defaultRunnerConfig})
}

// cmdChangelog implements `generator changelog` (docs/generator.md#changelog).
func cmdChangelog(ctx context.Context, e env, words []string) int {
	p := changelogParser()
	a, code, ok := parseArgs(e, p, words)
	if !ok {
		return code
	}
	m, r, g, diags := loadConfigs(a, false)
	if g != config.Gen2026_08 {
		for _, f := range []string{"--trim-conc", "--all-evals", "--evals-only"} {
			if a.flag(f) {
				p.writeUsageError(e.stderr, usagef("argument %s: the configs are 2026-02, whose changelog processing has no such modifier", f))
				return exitUsage
			}
		}
	}
	reportDiags(e, diags)
	if diags.HasErrors() {
		return exitFail
	}
	req := changelog.Request{
		Git:     changelog.Git{Exec: gitExec},
		BaseRef: a.str("--base-ref", ""),
		HeadRef: a.str("--head-ref", ""),
		File:    a.str("--changelog-file", ""),
		Keys:    m.Keys(),
		Expand:  expander(m, r),
	}
	maxJobs := 0
	if n := a.integer("--max-jobs"); n != nil {
		maxJobs = int(*n)
	}
	if g == config.Gen2026_08 {
		req.V0208 = options0208(a, m, r, req)
		out, err := changelog.Process0208(ctx, req)
		if err != nil {
			return reportError(e, err)
		}
		b, err := out.Encode()
		if err != nil {
			return fail(e, err)
		}
		outs := changelogOutputs{rows: out.Rows(), single: out.SingleNode, multi: out.MultiNode, meta: out.MetadataJSON(),
			hasSingle: out.SingleNode.Len()+len(out.Evals)+len(out.AgenticEvals) > 0,
			hasMulti:  out.MultiNode.Len()+len(out.MultinodeEvals)+len(out.MultinodeAgenticEvals) > 0}
		if err := outs.write(ghactions.New(e.getenv, e.stderr), b, maxJobs); err != nil {
			return fail(e, err)
		}
		if _, err := e.stdout.Write(b); err != nil {
			return fail(e, err)
		}
		return exitOK
	}
	out, err := changelog.Process(ctx, req)
	if err != nil {
		return reportError(e, err)
	}
	for _, name := range append(slices.Clone(out.SingleNode.Names), out.MultiNode.Names...) {
		if !slices.Contains(changelog.StandardSeqLens, name) {
			fmt.Fprintf(e.stderr, "generator changelog: warning: bucket %q is not one of %s: the matrix output includes its rows, but workflows that read the per-bucket outputs skip it (docs/generator.md#quirk-odd-buckets)\n",
				diag.Clean(name), strings.Join(changelog.StandardSeqLens, ", "))
		}
	}
	b, err := out.Encode()
	if err != nil {
		return fail(e, err)
	}
	var rows []json.RawMessage
	for _, bk := range []changelog.Buckets{out.SingleNode, out.MultiNode} {
		for _, name := range bk.Names {
			rows = append(rows, bk.Rows[name]...)
		}
	}
	meta, err := json.Marshal(out.Metadata)
	if err != nil {
		return fail(e, err)
	}
	outs := changelogOutputs{rows: rows, single: out.SingleNode, multi: out.MultiNode, meta: meta,
		hasSingle: out.SingleNode.Len() > 0, hasMulti: out.MultiNode.Len() > 0}
	if err := outs.write(ghactions.New(e.getenv, e.stderr), b, maxJobs); err != nil {
		return fail(e, err)
	}
	if _, err := e.stdout.Write(b); err != nil {
		return fail(e, err)
	}
	return exitOK
}

const argsFromEnvFlag = "--args-from-env"

// expandArgsFromEnv implements the global option `--args-from-env VAR`: leading
// "--args-from-env VAR" (or "--args-from-env=VAR") words are replaced by the words of
// $VAR, split by execx.SplitWords. Nothing in the value is expanded or executed, and the
// resulting words are never examined for --args-from-env again, so text from a workflow
// input cannot make the generator read other environment variables. This is how
// action.yml hands workflow inputs to the generator without a shell ever seeing them:
//
//	generator --args-from-env INFERBENCH_GENERATOR_COMMAND --args-from-env INFERBENCH_GENERATOR_ARGS
//
// main's dispatch calls it before looking at the subcommand.
func expandArgsFromEnv(words []string, getenv func(string) string) ([]string, error) {
	var out []string
	for len(words) > 0 {
		name, ok := strings.CutPrefix(words[0], argsFromEnvFlag+"=")
		switch {
		case ok:
			words = words[1:]
		case words[0] == argsFromEnvFlag:
			if len(words) < 2 {
				return nil, usagef("argument %s: expected one argument", argsFromEnvFlag)
			}
			name, words = words[1], words[2:]
		default:
			return append(out, words...), nil
		}
		split, err := execx.SplitWords(getenv(name))
		if err != nil {
			return nil, usagef("argument %s: environment variable %s: %v", argsFromEnvFlag, name, err)
		}
		out = append(out, split...)
	}
	return out, nil
}

// loadConfigs loads the master configs and the runner file named by the options; the runner
// file is validated even though the changelog does not use it
// (docs/generator.md#quirk-runner-file-always). With strict (validate, the PR gate) a runner
// missing from the runner file is an error; otherwise it is the warning the reference's
// behaviour calls for (docs/generator.md#quirk-unknown-runner).
func loadConfigs(a *args, strict bool) (*config.Master, *config.Runners, config.Generation, diag.List) {
	m, r, g, diags := config.Load(configFiles(a), a.str("--runner-config", defaultRunnerConfig))
	switch {
	case m == nil || r == nil:
	case strict:
		diags = append(diags, config.LintStrict(m, r)...)
	default:
		diags = append(diags, config.Lint(m, r)...)
	}
	return m, r, g, diags
}

func configFiles(a *args) []string {
	if files := a.list("--config-files"); files != nil {
		return files
	}
	return defaultMasterConfigs
}

// expander runs test-config in-process for one changelog entry
// (docs/generator.md#changelog-expansion) and hands the rows over as JSON, the contract
// between the generator's halves.
func expander(m *config.Master, r *config.Runners) changelog.Expander {
	return func(keys []string, evalsOnly bool) ([]json.RawMessage, error) {
		mode := matrix.EvalsRun
		if evalsOnly {
			mode = matrix.EvalsOnly
		}
		rows, err := matrix.TestConfig(m, r, matrix.TestConfigOptions{Keys: keys, Evals: mode})
		if err != nil {
			return nil, err
		}
		var raw []json.RawMessage
		if err := json.Unmarshal(matrix.AppendJSON(nil, rows), &raw); err != nil {
			return nil, fmt.Errorf("re-reading generated rows: %w", err)
		}
		return raw, nil
	}
}

// changelogOutputs are the step outputs the sweep workflows need, set when
// $GITHUB_OUTPUT is:
//
//	search-space-config   the whole result (stdout), as the reference's workflow stored it
//	matrix                every row (single-node buckets, multi-node buckets, then the
//	                      2026-08 eval lists): a JSON array, or with maxJobs > 0
//	                      {"shard_count", "shard_index", "shards"} like --max-jobs
//	changelog-metadata    the changelog_metadata object
//	has-work, has-single-node, has-multi-node   "true" or "false"
//	single-node-1k1k ... multi-node-8k1k        one bucket each, "[]" when empty
type changelogOutputs struct {
	rows                []json.RawMessage
	single, multi       changelog.Buckets
	meta                []byte // the changelog_metadata object
	hasSingle, hasMulti bool
}

func (c changelogOutputs) write(gh *ghactions.Actions, full []byte, maxJobs int) error {
	if !gh.HasOutputFile() {
		return nil
	}
	matrixJSON, err := allRows(c.rows, maxJobs)
	if err != nil {
		return err
	}
	set := map[string]string{
		"matrix":              matrixJSON,
		"search-space-config": strings.TrimRight(string(full), "\n"),
		"has-work":            fmt.Sprint(len(c.rows) > 0),
		"has-single-node":     fmt.Sprint(c.hasSingle),
		"has-multi-node":      fmt.Sprint(c.hasMulti),
	}
	set["changelog-metadata"] = string(c.meta)
	for _, seq := range changelog.StandardSeqLens {
		for prefix, b := range map[string]changelog.Buckets{"single-node-": c.single, "multi-node-": c.multi} {
			rows := b.Rows[seq]
			if rows == nil {
				rows = []json.RawMessage{}
			}
			enc, err := json.Marshal(rows)
			if err != nil {
				return err
			}
			set[prefix+seq] = string(enc)
		}
	}
	names := make([]string, 0, len(set))
	for k := range set {
		names = append(names, k)
	}
	slices.Sort(names)
	for _, k := range names {
		if err := gh.SetOutput(k, set[k]); err != nil {
			return err
		}
	}
	return nil
}

// allRows renders rows as one array, or as shards of at most maxJobs rows.
func allRows(rows []json.RawMessage, maxJobs int) (string, error) {
	if rows == nil {
		rows = []json.RawMessage{}
	}
	var v any = rows
	if maxJobs > 0 {
		shards := [][]json.RawMessage{}
		index := []int{}
		for len(rows) > 0 {
			n := min(maxJobs, len(rows))
			index = append(index, len(shards))
			shards = append(shards, rows[:n])
			rows = rows[n:]
		}
		v = struct {
			Count  int                 `json:"shard_count"`
			Index  []int               `json:"shard_index"`
			Shards [][]json.RawMessage `json:"shards"`
		}{len(shards), index, shards}
	}
	b, err := json.Marshal(v)
	return string(b), err
}

// reportError reports a changelog failure: its positioned diagnostics when it has them,
// else one line. It returns exitFail.
func reportError(e env, err error) int {
	var f *changelog.Failure
	if errors.As(err, &f) {
		reportDiags(e, f.Diags)
		return exitFail
	}
	return fail(e, err)
}
