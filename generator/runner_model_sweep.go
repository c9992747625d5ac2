package main

import (
	"context"

	"github.com/inferbench/inferbench/internal/matrix"
)

func cmdRunnerModelSweep(_ context.Context, e env, words []string) int {
	p := newSweepParser("runner-model-sweep", "Run one representative point of every config of a runner type on each of its nodes.", func(p *argParser) {
		p.add(&option{name: "--runner-type", arity: oneArg, metavar: "RUNNER_TYPE", required: true, help: "runner type to test"})
		p.add(&option{name: "--single-node", help: "use single-node configs"})
		p.add(&option{name: "--multi-node", help: "use multi-node (disaggregated) configs"})
		p.exclusive(true, "--single-node", "--multi-node")
		p.add(&option{name: "--model-prefix", arity: manyArg, metavar: "MODEL_PREFIX", help: "keep configs whose key starts with one of these"})
		p.add(&option{name: "--precision", arity: manyArg, metavar: "PRECISION", help: "keep configs with one of these precisions"})
		p.add(&option{name: "--framework", arity: manyArg, metavar: "FRAMEWORK", help: "keep configs with one of these frameworks"})
		p.add(&option{name: "--conc", arity: oneArg, metavar: "CONC", isInt: true, help: "concurrency to use instead of the config's lowest"})
	})
	a, code, ok := parseArgs(e, p, words)
	if !ok {
		return code
	}
	m, r, ok := loadInputs(e, a)
	if !ok {
		return exitFail
	}
	o := matrix.RunnerModelOptions{
		RunnerType:    a.str("--runner-type", ""),
		Kind:          matrix.SingleNode,
		ModelPrefixes: a.list("--model-prefix"),
		Precisions:    a.list("--precision"),
		Frameworks:    a.list("--framework"),
		Conc:          a.integer("--conc"),
		NodeFilter:    a.str("--runner-node-filter", ""),
		Evals:         evalMode(a),
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
