package matrix

import (
	"math"
	"slices"
	"strings"

	"github.com/inferbench/inferbench/internal/config"
)

// RunnerModelOptions are the runner-model-sweep options
// (docs/generator.md#runner-model-sweep-options).
type RunnerModelOptions struct {
	RunnerType    string
	Kind          Kind
	ModelPrefixes []string
	Precisions    []string
	Frameworks    []string
	Conc          *int64 // overrides the picked concurrency
	NodeFilter    string
	Evals         EvalMode
}

// RunnerModelSweep picks one representative point of every config of a runner type
// and fans it out over the type's nodes (docs/generator.md#runner-model-sweep).
func RunnerModelSweep(m *config.Master, r *config.Runners, o RunnerModelOptions) ([]Row, error) {
	nodes, ok := r.Nodes(o.RunnerType)
	if !ok {
		return nil, &RunnerNotFoundError{Runner: o.RunnerType, RunnerFile: r.File, Valid: r.Names()}
	}
	if o.NodeFilter != "" {
		nodes = slices.DeleteFunc(slices.Clone(nodes), func(n string) bool { return !strings.Contains(n, o.NodeFilter) })
		if len(nodes) == 0 {
			return nil, &NoNodesError{Filter: o.NodeFilter, Runner: o.RunnerType}
		}
	}
	var rows []Row
	for _, e := range m.Entries {
		if e.Runner != o.RunnerType || !selected(e, o.ModelPrefixes, o.Precisions, o.Frameworks) || e.Multinode != (o.Kind == MultiNode) {
			continue
		}
		i := slices.IndexFunc(e.SeqLens, func(sl config.SeqLen) bool { return sl.ISL == 1024 && sl.OSL == 1024 })
		if i < 0 || len(e.SeqLens[i].Search) == 0 {
			continue
		}
		sl := e.SeqLens[i]
		for _, node := range nodes {
			if e.Multinode {
				rows = append(rows, runnerModelMulti(e, sl, node, o.Conc))
			} else {
				rows = append(rows, runnerModelSingle(e, sl, node, o.Conc))
			}
		}
	}
	return applyEvals(m.Gen, rows, o.Evals, false), nil
}

func testRow(e *config.Entry, sl config.SeqLen, node string) Row {
	row := baseRow(e, sl, node)
	row.Order = OrderRunnerModel
	row.MaxModelLen = 2048
	row.ExpName = e.ModelPrefix + "_test"
	return row
}

// runnerModelSingle uses the entry with the largest tp, first on ties
// (docs/generator.md#quirk-representative-point).
func runnerModelSingle(e *config.Entry, sl config.SeqLen, node string, conc *int64) Row {
	best := &sl.Search[0]
	for i := range sl.Search {
		if sl.Search[i].TP > best.TP {
			best = &sl.Search[i]
		}
	}
	c := int64(1)
	switch {
	case conc != nil:
		c = *conc
	case best.HasRange && best.ConcStart != 0:
		c = best.ConcStart
	case len(best.ConcList) > 0:
		c = slices.Min(best.ConcList)
	}
	row := testRow(e, sl, node)
	row.Kind = SingleNode
	row.TP, row.EP, row.DPAttn, row.Spec, row.Conc = best.TP, best.EP, best.DPAttn, best.Spec, c
	return row
}

// runnerModelMulti uses the entry whose conc-list has the smallest minimum; entries
// without a list rank last, ties go to the first (docs/generator.md#quirk-representative-point).
func runnerModelMulti(e *config.Entry, sl config.SeqLen, node string, conc *int64) Row {
	best, bestMin := &sl.Search[0], int64(math.MaxInt64)
	first := true
	for i := range sl.Search {
		v := int64(math.MaxInt64)
		if len(sl.Search[i].ConcList) > 0 {
			v = slices.Min(sl.Search[i].ConcList)
		}
		if first || v < bestMin {
			best, bestMin, first = &sl.Search[i], v, false
		}
	}
	c := int64(1)
	switch {
	case conc != nil:
		c = *conc
	case len(best.ConcList) > 0:
		c = bestMin
	case best.HasRange:
		c = best.ConcStart
	}
	row := testRow(e, sl, node)
	row.Kind = MultiNode
	row.Spec, row.Prefill, row.Decode, row.ConcList = best.Spec, best.Prefill, best.Decode, []int64{c}
	return row
}
