package main

import (
	"context"

	"github.com/inferbench/inferbench/internal/config"
	"github.com/inferbench/inferbench/internal/matrix"
)

func cmdRunnerModelSweep(_ context.Context, e env, words []string) int {
	p := newSweepParser("runner-model-sweep", "Run one representative point of every config of a runner type on each of its nodes.", func(p *argParser) {
		p.add(&option{name: "--runner-type", arity: oneArg, metavar: "RUNNER_TYPE", required: true, help: "runner type to test"})
		p.add(&option{name: "--single-node", help: "use single-node configs"})
		p.add(&option{name: "--multi-node", help: "use multi-node (disaggregated) configs"})
		p.add(&option{name: "--model-prefix", arity: manyArg, metavar: "MODEL_PREFIX", help: "keep configs whose key starts with one of these"})
		p.add(&option{name: "--precision", arity: manyArg, metavar: "PRECISION", help: "keep configs with one of these precisions"})
		p.add(&option{name: "--framework", arity: manyArg, metavar: "FRAMEWORK", help: "keep configs with one of these frameworks"})
		p.add(&option{name: "--conc", arity: oneArg, metavar: "CONC", isInt: true, help: "concurrency to use instead of the config's lowest"})
	})
	a, code, ok := parseArgs(e, p, words)
	if !ok {
		return code
	}
	in, code, ok := loadInputs(e, p, a, checkRunnerModel)
	if !ok {
		return code
	}
	m, r := in.m, in.r
	o := matrix.RunnerModelOptions{
		RunnerType:    a.str("--runner-type", ""),
		Kind:          matrix.SingleNode,
		ModelPrefixes: a.list("--model-prefix"),
		Precisions:    a.list("--precision"),
		Frameworks:    a.list("--framework"),
		Conc:          a.integer("--conc"),
		NodeFilter:    a.str("--runner-node-filter", ""),
		Evals:         evalMode(a, in.gen),
	}
	if a.flag("--multi-node") {
		o.Kind = matrix.MultiNode
	}
	rows, err := matrix.RunnerModelSweep(m, r, o)
	if err != nil {
		return fail(e, err)
	}
	return writeRows(e, a, rows)
}

// checkRunnerModel refuses 2026-08 configs: that generation dropped runner-model-sweep.
func checkRunnerModel(a *args, g config.Generation) error {
	if g == config.Gen2026_08 {
		return usagef("runner-model-sweep works on 2026-02 configs only (the 2026-08 generator dropped it); " +
			"with 2026-08 configs use test-config --config-keys KEY... --runner-node-filter NODE")
	}
	if a.list("--scenario-type") != nil {
		return usagef("argument --scenario-type: not allowed with runner-model-sweep")
	}
	return checkNodeKinds(a, g)
}
