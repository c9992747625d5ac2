package matrix

import (
	"slices"

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
	evalConc := make([]int64, len(rows))
	sn := map[snKey][]int{}
	var snOrder []snKey
	mn := map[topology]int{} // index into mnGroups, which keep the order groups appear in
	var mnGroups [][]pick
	ag := map[agKey][]pick{}
	var agOrder []agKey
	canon := newCanonical()
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
			g, ok := mn[k]
			if !ok {
				g = len(mnGroups)
				mn[k] = g
				mnGroups = append(mnGroups, nil)
			}
			mnGroups[g] = append(mnGroups[g], pick{i, c})
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
	for _, g := range mnGroups {
		best := first(g)
		marked[best.i] = true
		evalConc[best.i] = best.c
	}
	for _, k := range agOrder {
		marked[first(ag[k]).i] = true
	}
	for i := range rows {
		rows[i].RunEval, rows[i].NoRunEval = marked[i], false
		if evalConc[i] != 0 {
			rows[i].EvalConc = evalConc[i]
		}
	}
}

func markAllEvals0208(rows []Row) []Row {
	out := make([]Row, 0, len(rows))
	merged := map[topology]int{}
	canon := newCanonical()
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

// topology identifies a multi-node row's deployment: every field except the concurrency,
// the eval fields and exp-name (which an agentic row derives from its concurrency).
// Nested mappings compare by content, whatever their key order: by their canonical forms.
type topology struct {
	image, model, prefix, precision, framework, runner, spec, kvOffloading, kvP2P string
	scenario                                                                      Scenario
	isl, osl, maxModelLen, dramGB, duration                                       int64
	disagg                                                                        bool
	prefill, decode, router, backend                                              string
}

// canonical caches the canonical forms of worker blocks and components: the rows of one
// search-space entry share them.
type canonical struct {
	workers    map[*config.Worker]string
	components map[*config.Component]string
}

func newCanonical() *canonical {
	return &canonical{workers: map[*config.Worker]string{}, components: map[*config.Component]string{}}
}

func (c *canonical) worker(w *config.Worker) string {
	s, ok := c.workers[w]
	if !ok {
		s = string(appendCanonicalWorker(nil, w))
		c.workers[w] = s
	}
	return s
}

func (c *canonical) component(x *config.Component) string {
	s, ok := c.components[x]
	if !ok {
		s = string(appendCanonicalComponent(nil, x))
		c.components[x] = s
	}
	return s
}

func parallelismKey(r *Row, c *canonical) topology {
	return topology{
		image: r.Image, model: r.Model, prefix: r.ModelPrefix, precision: r.Precision, framework: r.Framework,
		runner: r.Runner, spec: r.Spec, kvOffloading: r.KVOffloading, kvP2P: r.KVP2PTransfer,
		scenario: r.Scenario, isl: r.ISL, osl: r.OSL, maxModelLen: r.MaxModelLen, dramGB: r.TotalCPUDRAMGB, duration: r.Duration,
		disagg:  r.Disagg,
		prefill: c.worker(r.Prefill), decode: c.worker(r.Decode), router: c.component(r.Router), backend: c.component(r.KVOffloadBackend),
	}
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
