package main

import (
	"context"

	"github.com/inferbench/inferbench/internal/config"
	"github.com/inferbench/inferbench/internal/matrix"
)

func cmdFullSweep(_ context.Context, e env, words []string) int {
	p := newSweepParser("full-sweep", "Expand every config that passes the filters into matrix rows.", func(p *argParser) {
		p.add(&option{name: "--single-node", help: "expand single-node configs (2026-08: both kinds when neither is given)"})
		p.add(&option{name: "--multi-node", help: "expand multi-node (disaggregated) configs"})
		p.add(&option{name: "--model-prefix", arity: manyArg, metavar: "MODEL_PREFIX", help: "keep configs whose key starts with one of these"})
		p.add(&option{name: "--precision", arity: manyArg, metavar: "PRECISION", help: "keep configs with one of these precisions"})
		p.add(&option{name: "--framework", arity: manyArg, metavar: "FRAMEWORK", help: "keep configs with one of these frameworks"})
		p.add(&option{name: "--runner-type", arity: manyArg, metavar: "RUNNER_TYPE", help: "keep configs on one of these runner types"})
		p.add(&option{name: "--seq-lens", arity: manyArg, metavar: "{1k1k,1k8k,8k1k}", choices: matrix.SeqLenNames, help: "keep only these sequence lengths (2026-08: 1k1k, 8k1k)"})
		p.add(&option{name: "--step-size", arity: oneArg, metavar: "STEP_SIZE", isInt: true, def: "2", help: "multiplier of the concurrency series"})
		p.add(&option{name: "--min-conc", arity: oneArg, metavar: "MIN_CONC", isInt: true, help: "lowest concurrency"})
		p.add(&option{name: "--max-conc", arity: oneArg, metavar: "MAX_CONC", isInt: true, help: "highest concurrency"})
		p.add(&option{name: "--max-tp", arity: oneArg, metavar: "MAX_TP", isInt: true, help: "drop single-node entries with a larger tp"})
		p.add(&option{name: "--max-ep", arity: oneArg, metavar: "MAX_EP", isInt: true, help: "clamp single-node ep to this"})
	})
	a, code, ok := parseArgs(e, p, words)
	if !ok {
		return code
	}
	in, code, ok := loadInputs(e, p, a, checkFullSweep)
	if !ok {
		return code
	}
	o := matrix.SweepOptions{
		Kind:          matrix.SingleNode,
		Scenarios:     scenarios(a),
		ModelPrefixes: a.list("--model-prefix"),
		Precisions:    a.list("--precision"),
		Frameworks:    a.list("--framework"),
		RunnerTypes:   a.list("--runner-type"),
		SeqLens:       a.list("--seq-lens"),
		MinConc:       a.integer("--min-conc"),
		MaxConc:       a.integer("--max-conc"),
		MaxTP:         a.integer("--max-tp"),
		MaxEP:         a.integer("--max-ep"),
		NodeFilter:    a.str("--runner-node-filter", ""),
		Evals:         evalMode(a, in.gen),
		AllEvals:      a.flag("--all-evals"),
	}
	single, multi := a.flag("--single-node"), a.flag("--multi-node")
	switch {
	case single == multi:
		o.BothKinds = true
	case multi:
		o.Kind = matrix.MultiNode
	}
	if s := a.integer("--step-size"); s != nil {
		o.StepSize = *s
	}
	rows, err := matrix.FullSweep(in.m, in.r, o)
	if err != nil {
		return fail(e, err)
	}
	return writeRows(e, a, rows)
}

// checkFullSweep applies the full-sweep rules of the files' generation.
func checkFullSweep(a *args, g config.Generation) error {
	if err := checkNodeKinds(a, g); err != nil {
		return err
	}
	if err := checkSeqLens(a, g); err != nil {
		return err
	}
	step := a.integer("--step-size")
	minC, maxC := a.integer("--min-conc"), a.integer("--max-conc")
	if g != config.Gen2026_08 {
		if step != nil && *step < 2 {
			return usagef("argument --step-size: must be at least 2, got %d", *step)
		}
		return nil
	}
	if step != nil && *step <= 1 {
		return usagef("--step-size must be greater than 1")
	}
	if minC != nil && maxC != nil && *minC > *maxC {
		return usagef("--min-conc must be less than or equal to --max-conc")
	}
	return nil
}
