package matrix

import (
	"slices"
	"strconv"

	"github.com/inferbench/inferbench/internal/config"
)

// The 2026-08 eval policy. Evals run at 8k1k only, at concurrency 16 or more:
//   - single-node: per (model, runner, framework, precision, isl, osl, spec-decoding,
//     dp-attn) group, every row at the highest and at the median concurrency;
//   - multi-node: per topology (the row without its concurrency and eval fields), the row
//     holding the highest concurrency, with eval-conc set to it;
//   - agentic rows only with --evals-only or --all-evals: single-node the highest
//     concurrency per (model, runner, framework, precision), multi-node as above.
//
// --all-evals then turns every 8k1k fixed-seq-len row and every agentic row into an eval
// row, merging multi-node rows of one topology into one row with all their concurrencies.

// minEvalConc is the lowest concurrency an eval runs at.
const minEvalConc = 16

func applyEvals0208(rows []Row, mode EvalMode, all bool) []Row {
	if mode != EvalsNone {
		markEvals0208(rows, mode == EvalsOnly || all)
		if all {
			rows = markAllEvals0208(rows)
		}
	}
	if mode != EvalsOnly && !all {
		return rows
	}
	out := make([]Row, 0, len(rows))
	for _, r := range rows {
		if r.RunEval {
			r.EvalOnly = true
			out = append(out, r)
		}
	}
	return out
}

func is8k1k(r *Row) bool { return r.Scenario == FixedSeqLen && r.ISL == 8192 && r.OSL == 1024 }

// eligibleMax is the highest of a row's concurrencies that an eval may run at, or 0.
func eligibleMax(r *Row) int64 {
	var best int64
	for _, c := range r.concs() {
		if c >= minEvalConc && c > best {
			best = c
		}
	}
	return best
}

func (r *Row) concs() []int64 {
	if r.Kind == MultiNode {
		return r.ConcList
	}
	return []int64{r.Conc}
}

// pick is a candidate row of a group and the concurrency it competes with.
type pick struct {
	i int
	c int64
}

// first returns the candidate with the highest concurrency, the first one on ties.
func first(ps []pick) pick {
	best := ps[0]
	for _, p := range ps[1:] {
		if p.c > best.c {
			best = p
		}
	}
	return best
}

func markEvals0208(rows []Row, agentic bool) {
	type snKey struct {
		model, runner, framework, precision string
		isl, osl                            int64
		spec                                string
		dpAttn                              bool
	}
	type agKey struct{ model, runner, framework, precision string }
	marked := make([]bool, len(rows))
	evalConc := map[int]int64{}
	sn := map[snKey][]int{}
	var snOrder []snKey
	mn := map[string][]pick{}
	var mnOrder []string
	ag := map[agKey][]pick{}
	var agOrder []agKey
	canon := map[any]string{}
	for i := range rows {
		r := &rows[i]
		switch {
		case r.Scenario == AgenticCoding && !agentic:
		case r.Scenario == AgenticCoding && r.Kind == SingleNode:
			k := agKey{r.Model, r.Runner, r.Framework, r.Precision}
			if _, ok := ag[k]; !ok {
				agOrder = append(agOrder, k)
			}
			ag[k] = append(ag[k], pick{i, r.Conc})
		case !is8k1k(r) && r.Scenario == FixedSeqLen:
		case r.Kind == SingleNode:
			if r.Conc < minEvalConc {
				continue
			}
			k := snKey{r.Model, r.Runner, r.Framework, r.Precision, r.ISL, r.OSL, r.Spec, r.DPAttn}
			if _, ok := sn[k]; !ok {
				snOrder = append(snOrder, k)
			}
			sn[k] = append(sn[k], i)
		default: // multi-node, fixed 8k1k or agentic
			c := eligibleMax(r)
			if c == 0 {
				continue
			}
			k := parallelismKey(r, canon)
			if _, ok := mn[k]; !ok {
				mnOrder = append(mnOrder, k)
			}
			mn[k] = append(mn[k], pick{i, c})
		}
	}
	for _, k := range snOrder {
		idx := sn[k]
		concs := make([]int64, 0, len(idx))
		for _, i := range idx {
			concs = append(concs, rows[i].Conc)
		}
		concs = sortedUnique(concs)
		hi, median := concs[len(concs)-1], concs[len(concs)/2]
		for _, i := range idx {
			if c := rows[i].Conc; c == hi || c == median {
				marked[i] = true
			}
		}
	}
	for _, k := range mnOrder {
		best := first(mn[k])
		marked[best.i] = true
		evalConc[best.i] = best.c
	}
	for _, k := range agOrder {
		marked[first(ag[k]).i] = true
	}
	for i := range rows {
		rows[i].RunEval, rows[i].NoRunEval = marked[i], false
		if c, ok := evalConc[i]; ok {
			rows[i].EvalConc = c
		}
	}
}

func markAllEvals0208(rows []Row) []Row {
	out := make([]Row, 0, len(rows))
	merged := map[string]int{}
	canon := map[any]string{}
	for _, r := range rows {
		switch {
		case r.Scenario == AgenticCoding && r.Kind == SingleNode:
			r.RunEval = true
		case r.Scenario == AgenticCoding || (r.Kind == MultiNode && is8k1k(&r)):
			k := parallelismKey(&r, canon)
			if j, ok := merged[k]; ok {
				m := &out[j]
				m.ConcList = sortedUnique(append(slices.Clone(m.ConcList), r.ConcList...))
				if m.Scenario == AgenticCoding {
					m.EvalConc = m.ConcList[len(m.ConcList)-1]
				}
				continue
			}
			r.ConcList = sortedUnique(slices.Clone(r.ConcList))
			r.RunEval = true
			if r.Scenario == AgenticCoding {
				r.EvalConc = r.ConcList[len(r.ConcList)-1]
			} else {
				r.EvalAllConcs, r.EvalConc = true, 0
			}
			merged[k] = len(out)
		case is8k1k(&r):
			r.RunEval = true
		}
		out = append(out, r)
	}
	return out
}

func sortedUnique(v []int64) []int64 {
	slices.Sort(v)
	return slices.Compact(v)
}

// parallelismKey identifies a multi-node row's deployment: every field except the
// concurrency, the eval fields and exp-name (which an agentic row derives from its
// concurrency). Nested mappings compare by content, whatever their key order; rows of
// one search-space entry share them, so their canonical forms are made once (canon).
func parallelismKey(r *Row, canon map[any]string) string {
	b := make([]byte, 0, 256)
	for _, s := range []string{r.Image, r.Model, r.ModelPrefix, r.Precision, r.Framework, r.Runner, r.Spec, r.KVOffloading, r.KVP2PTransfer} {
		b = appendString(b, s)
	}
	for _, v := range []int64{int64(r.Scenario), r.ISL, r.OSL, r.MaxModelLen, r.TotalCPUDRAMGB, r.Duration} {
		b = strconv.AppendInt(append(b, ','), v, 10)
	}
	b = strconv.AppendBool(append(b, ','), r.Disagg)
	for _, w := range []*config.Worker{r.Prefill, r.Decode} {
		if _, ok := canon[w]; !ok {
			canon[w] = string(appendCanonicalWorker(nil, w))
		}
		b = append(b, canon[w]...)
	}
	for _, c := range []*config.Component{r.Router, r.KVOffloadBackend} {
		if _, ok := canon[c]; !ok {
			canon[c] = string(appendCanonicalComponent(nil, c))
		}
		b = append(b, canon[c]...)
	}
	return string(b)
}

func appendCanonicalWorker(b []byte, w *config.Worker) []byte {
	if w == nil {
		return append(b, "|-"...)
	}
	keys := workerKeys0208(w)
	slices.Sort(keys)
	b = append(b, '|')
	for _, k := range keys {
		b = appendString(b, k)
		b = appendWorkerValue(b, w, k)
	}
	return b
}

func appendCanonicalComponent(b []byte, c *config.Component) []byte {
	if c == nil {
		return append(b, "|-"...)
	}
	return appendComponent(append(b, '|'), c, true)
}
