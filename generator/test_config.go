package main

import (
	"context"

	"github.com/inferbench/inferbench/internal/matrix"
)

func cmdTestConfig(_ context.Context, e env, words []string) int {
	p := newSweepParser("test-config", "Expand the named config keys completely, in the given order.", func(p *argParser) {
		p.add(&option{name: "--config-keys", arity: manyArg, metavar: "CONFIG_KEYS", required: true, help: "config keys to expand, in output order"})
		p.add(&option{name: "--conc", arity: manyArg, metavar: "CONC", isInt: true, help: "keep only these concurrencies"})
	})
	a, code, ok := parseArgs(e, p, words)
	if !ok {
		return code
	}
	// --runner-node-filter is accepted and ignored, as in the reference (spec Q-15).
	m, _, ok := loadInputs(e, a)
	if !ok {
		return exitFail
	}
	rows, err := matrix.TestConfig(m, matrix.TestConfigOptions{
		Keys:  a.list("--config-keys"),
		Conc:  a.ints("--conc"),
		Evals: evalMode(a),
	})
	if err != nil {
		return fail(e, err)
	}
	return writeRows(e, a, rows)
}
