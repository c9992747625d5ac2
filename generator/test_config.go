package main

import (
	"context"

	"github.com/inferbench/inferbench/internal/matrix"
)

func cmdTestConfig(_ context.Context, e env, words []string) int {
	p := newSweepParser("test-config", "Expand the named config keys completely, in the given order.", func(p *argParser) {
		p.add(&option{name: "--config-keys", arity: manyArg, metavar: "CONFIG_KEYS", required: true, help: "config keys to expand, in output order (2026-08: also * ? [..] patterns)"})
		p.add(&option{name: "--conc", arity: manyArg, metavar: "CONC", isInt: true, help: "keep only these concurrencies"})
		p.add(&option{name: "--seq-lens", arity: manyArg, metavar: "{1k1k,1k8k,8k1k}", choices: matrix.SeqLenNames, help: "keep only these sequence lengths"})
	})
	a, code, ok := parseArgs(e, p, words)
	if !ok {
		return code
	}
	in, code, ok := loadInputs(e, p, a, checkSeqLens)
	if !ok {
		return code
	}
	// With 2026-02 configs --runner-node-filter is accepted and ignored, as in that
	// reference; 2026-08 fans the rows out over the matching nodes
	// (docs/generator-generations.md#options).
	rows, err := matrix.TestConfig(in.m, in.r, matrix.TestConfigOptions{
		Keys:       a.list("--config-keys"),
		Conc:       a.ints("--conc"),
		Evals:      evalMode(a, in.gen),
		AllEvals:   a.flag("--all-evals"),
		NodeFilter: a.str("--runner-node-filter", ""),
		SeqLens:    a.list("--seq-lens"),
		Scenarios:  scenarios(a),
	})
	if err != nil {
		return fail(e, err)
	}
	return writeRows(e, a, rows)
}
