package matrix

import "github.com/inferbench/inferbench/internal/config"

// evalGroup is the grouping key of eval marking (docs/generator.md#eval-marking): rows that
// agree on all eight parts compete.
type evalGroup struct {
	model, runner, framework, precision string
	isl, osl                            int64
	spec                                string
	dpAttn                              bool
}

type groupStats struct {
	hiTP, loTP     int64
	hiConc, loConc int64
}

// MarkEvals sets RunEval on the rows chosen for accuracy evals
// (docs/generator.md#eval-marking): among the single-node 1k8k rows of each group, the
// highest-concurrency rows of the highest and of the lowest tp. Ties are all marked. Every
// other row gets RunEval false.
func MarkEvals(rows []Row) {
	eligible := func(r *Row) bool { return r.Kind == SingleNode && r.ISL == 1024 && r.OSL == 8192 }
	key := func(r *Row) evalGroup {
		return evalGroup{r.Model, r.Runner, r.Framework, r.Precision, r.ISL, r.OSL, r.Spec, r.DPAttn}
	}
	groups := map[evalGroup]*groupStats{}
	for i := range rows {
		r := &rows[i]
		if !eligible(r) {
			continue
		}
		g := groups[key(r)]
		if g == nil {
			groups[key(r)] = &groupStats{hiTP: r.TP, loTP: r.TP}
			continue
		}
		g.hiTP, g.loTP = max(g.hiTP, r.TP), min(g.loTP, r.TP)
	}
	for i := range rows {
		r := &rows[i]
		if !eligible(r) {
			continue
		}
		g := groups[key(r)]
		if r.TP == g.hiTP {
			g.hiConc = max(g.hiConc, r.Conc)
		}
		if r.TP == g.loTP {
			g.loConc = max(g.loConc, r.Conc)
		}
	}
	for i := range rows {
		r := &rows[i]
		r.RunEval = false
		if !eligible(r) {
			continue
		}
		g := groups[key(r)]
		r.RunEval = (r.TP == g.hiTP && r.Conc == g.hiConc) || (g.loTP != g.hiTP && r.TP == g.loTP && r.Conc == g.loConc)
	}
}

// OnlyEvals returns the rows with RunEval set, in order.
func OnlyEvals(rows []Row) []Row {
	out := []Row{}
	for _, r := range rows {
		if r.RunEval {
			out = append(out, r)
		}
	}
	return out
}

func applyEvals(g config.Generation, rows []Row, mode EvalMode, all bool) []Row {
	if g == config.Gen2026_08 {
		rows = applyEvals0208(rows, mode, all)
	} else {
		switch mode {
		case EvalsRun:
			MarkEvals(rows)
		case EvalsOnly:
			MarkEvals(rows)
			rows = OnlyEvals(rows)
		}
	}
	if rows == nil {
		rows = []Row{}
	}
	return rows
}
