package matrix

import (
	"math/bits"
	"slices"
	"strings"

	"github.com/inferbench/inferbench/internal/config"
)

// EvalMode selects eval marking (docs/generator.md#eval-marking).
type EvalMode int

const (
	EvalsNone EvalMode = iota // no marking; every row has run-eval false
	EvalsRun                  // --run-evals (2026-08: the default): mark eval rows, keep all rows
	EvalsOnly                 // --evals-only: mark eval rows, keep only them
)

// SweepOptions are the full-sweep options (docs/generator.md#full-sweep-options). Nil bounds
// are "not given".
type SweepOptions struct {
	Kind          Kind       // SingleNode (--single-node) or MultiNode (--multi-node)
	BothKinds     bool       // 2026-08 without --single-node/--multi-node: both kinds
	Scenarios     []Scenario // nil: every scenario (2026-08 --scenario-type)
	ModelPrefixes []string
	Precisions    []string
	Frameworks    []string
	RunnerTypes   []string
	SeqLens       []string // names from SeqLenNames
	StepSize      int64    // 0 means 2
	MinConc       *int64
	MaxConc       *int64
	MaxTP         *int64
	MaxEP         *int64
	NodeFilter    string // "" means not given
	Evals         EvalMode
	// AllEvals is 2026-08's --all-evals: every 8k1k fixed-seq-len row (merged per
	// topology for multi-node) and every agentic row runs its eval, and only eval rows
	// are kept.
	AllEvals bool
}

func (o *SweepOptions) wants(k Kind) bool { return o.BothKinds || o.Kind == k }

// FullSweep expands every config entry that passes the filters (docs/generator.md#full-sweep),
// in merged config order, then applies eval marking. With 2026-08 configs the agentic-coding
// scenarios of each entry follow its fixed-seq-len rows, and the 2026-08 eval policy applies.
func FullSweep(m *config.Master, r *config.Runners, o SweepOptions) ([]Row, error) {
	if err := checkRunnerTypes(r, o.RunnerTypes); err != nil {
		return nil, err
	}
	step := o.StepSize
	if step == 0 {
		step = 2
	}
	rows := make([]Row, 0, rowHint(m))
	var errs agenticErrors
	for _, e := range m.Entries {
		if !selected(e, o.ModelPrefixes, o.Precisions, o.Frameworks) || (o.RunnerTypes != nil && !slices.Contains(o.RunnerTypes, e.Runner)) {
			continue
		}
		nodes := resolveNodes(e, r, o.NodeFilter)
		if len(nodes) == 0 {
			continue
		}
		kind := SingleNode
		if e.Multinode {
			kind = MultiNode
		}
		if !o.wants(kind) {
			continue
		}
		if wantsScenario(o.Scenarios, FixedSeqLen) {
			for _, sl := range e.SeqLens {
				if o.SeqLens != nil && !slices.Contains(o.SeqLens, SeqLenNameOf(e.Gen, sl.ISL, sl.OSL)) {
					continue
				}
				for i := range sl.Search {
					s := &sl.Search[i]
					if e.Multinode {
						rows = appendMulti(rows, e, sl, s, nodes, multiConc(s, step, o.MinConc, o.MaxConc))
					} else {
						rows = appendSingleSweep(rows, e, sl, s, nodes, step, o)
					}
				}
			}
		}
		if wantsScenario(o.Scenarios, AgenticCoding) {
			rows = appendAgentic(rows, e, r, nodes, &errs, func(s *config.Search) []int64 {
				return boundConc(concValues(s, step), o.MinConc, o.MaxConc)
			})
		}
	}
	if err := errs.err(); err != nil {
		return nil, err
	}
	return applyEvals(m.Gen, rows, o.Evals, o.AllEvals), nil
}

// rowHint is about how many rows a sweep of every entry makes on one node each: room for
// them is taken once instead of by doubling a slice of large rows.
func rowHint(m *config.Master) int {
	n := 0
	count := func(e *config.Entry, s *config.Search) {
		switch {
		case e.Multinode && len(e.Agentic) == 0:
			n++
		case len(s.ConcList) > 0:
			n += len(s.ConcList)
		default:
			n += bits.Len64(uint64(max(s.ConcEnd/max(s.ConcStart, 1), 1))) + 1
		}
	}
	for _, e := range m.Entries {
		for i := range e.SeqLens {
			for j := range e.SeqLens[i].Search {
				count(e, &e.SeqLens[i].Search[j])
			}
		}
		for i := range e.Agentic {
			for j := range e.Agentic[i].Search {
				count(e, &e.Agentic[i].Search[j])
			}
		}
	}
	return n
}

func wantsScenario(scenarios []Scenario, s Scenario) bool {
	return scenarios == nil || slices.Contains(scenarios, s)
}

func checkRunnerTypes(r *config.Runners, types []string) error {
	var bad []string
	for _, t := range types {
		if !r.Has(t) && !slices.Contains(bad, t) {
			bad = append(bad, t)
		}
	}
	if bad == nil {
		return nil
	}
	return &InvalidRunnerTypesError{Invalid: sortedCopy(bad), Valid: sortedCopy(r.Names())}
}

// selected applies the key-prefix (docs/generator.md#quirk-model-prefix-key), precision and
// framework filters.
func selected(e *config.Entry, prefixes, precisions, frameworks []string) bool {
	if prefixes != nil && !slices.ContainsFunc(prefixes, func(p string) bool { return strings.HasPrefix(e.Key, p) }) {
		return false
	}
	if precisions != nil && !slices.Contains(precisions, e.Precision) {
		return false
	}
	return frameworks == nil || slices.Contains(frameworks, e.Framework)
}

// resolveNodes returns the runners a config's rows go to: its runner type, or with a
// node filter the matching nodes of that type (none when the type is unknown).
func resolveNodes(e *config.Entry, r *config.Runners, filter string) []string {
	if filter == "" {
		return []string{e.Runner}
	}
	all, _ := r.Nodes(e.Runner)
	var nodes []string
	for _, n := range all {
		if strings.Contains(n, filter) {
			nodes = append(nodes, n)
		}
	}
	return nodes
}

// appendSingleSweep applies --max-tp, --max-ep, --min-conc and --max-conc to a single-node
// entry and appends one row per concurrency and node (docs/generator.md#full-sweep-single).
func appendSingleSweep(rows []Row, e *config.Entry, sl config.SeqLen, s *config.Search, nodes []string, step int64, o SweepOptions) []Row {
	if o.MaxTP != nil && (*o.MaxTP <= 0 || s.TP > *o.MaxTP) {
		return rows
	}
	ep := s.EP
	if o.MaxEP != nil {
		if *o.MaxEP <= 0 {
			return rows
		}
		ep = min(ep, *o.MaxEP)
	}
	var concs []int64
	if s.ConcList != nil {
		// The reference crashes here (docs/generator.md#quirk-single-conc-list); expand the
		// list like multi-node.
		concs = listConc(s.ConcList, o.MinConc, o.MaxConc)
	} else {
		concs = singleRangeConc(s.ConcStart, s.ConcEnd, step, o.MinConc, o.MaxConc)
	}
	for _, c := range concs {
		for _, node := range nodes {
			row := singleRow(e, sl, s, node, c)
			row.EP = ep
			rows = append(rows, row)
		}
	}
	return rows
}

// singleRangeConc re-bases the series at --min-conc (docs/generator.md#quirk-min-conc-rebase)
// and clamps it at
// --max-conc, which may introduce a value absent from the config (docs/generator.md#quirk-max-conc-adds-value).
func singleRangeConc(start, end, step int64, minC, maxC *int64) []int64 {
	if minC != nil {
		if *minC <= 0 || end < *minC {
			return nil
		}
		start = max(start, *minC)
	}
	if maxC != nil {
		if *maxC <= 0 {
			return nil
		}
		if start > *maxC {
			start, end = *maxC, *maxC
		} else {
			end = min(end, *maxC)
		}
	}
	return Series(start, end, step)
}

// listConc filters explicit values by the bounds, falling back to [max] when the
// maximum removes everything (docs/generator.md#full-sweep-multi).
func listConc(values []int64, minC, maxC *int64) []int64 {
	out := slices.Clone(values)
	if minC != nil {
		if *minC <= 0 {
			return nil
		}
		out = slices.DeleteFunc(out, func(c int64) bool { return c < *minC })
		if len(out) == 0 {
			return nil
		}
	}
	if maxC != nil {
		out = slices.DeleteFunc(out, func(c int64) bool { return c > *maxC })
		if len(out) == 0 {
			if *maxC <= 0 {
				return nil
			}
			out = []int64{*maxC}
		}
	}
	return out
}

func multiConc(s *config.Search, step int64, minC, maxC *int64) []int64 {
	values := s.ConcList
	if values == nil {
		values = Series(s.ConcStart, s.ConcEnd, step)
	}
	return listConc(values, minC, maxC)
}

func appendMulti(rows []Row, e *config.Entry, sl config.SeqLen, s *config.Search, nodes []string, concs []int64) []Row {
	if len(concs) == 0 {
		return rows
	}
	for _, node := range nodes {
		rows = append(rows, multiRow(e, sl, s, node, concs))
	}
	return rows
}

// modelLenHeadroom is what max-model-len adds to isl+osl: 200 tokens in 2026-02, 256 in
// 2026-08.
func modelLenHeadroom(g config.Generation) int64 {
	if g == config.Gen2026_08 {
		return 256
	}
	return 200
}

func baseRow(e *config.Entry, sl config.SeqLen, runner string) Row {
	return Row{
		Gen:   e.Gen,
		Image: e.Image, Model: e.Model, ModelPrefix: e.ModelPrefix, Precision: e.Precision,
		Framework: e.Framework, Runner: runner, ISL: sl.ISL, OSL: sl.OSL,
		MaxModelLen: sl.ISL + sl.OSL + modelLenHeadroom(e.Gen),
		ExpName:     e.ModelPrefix + "_" + SeqLenNameOf(e.Gen, sl.ISL, sl.OSL),
		Disagg:      e.Disagg, Key: e.Key,
		PP: 1, DCPSize: 1, PCPSize: 1,
	}
}

// components sets router and kv-p2p-transfer: the search-space entry's, else the
// config's.
func (row *Row) components(e *config.Entry, s *config.Search) {
	row.Router, row.KVP2PTransfer = s.Router, s.KVP2PTransfer
	if row.Router == nil {
		row.Router = e.Router
	}
	if row.KVP2PTransfer == "" {
		row.KVP2PTransfer = e.KVP2PTransfer
	}
}

func singleRow(e *config.Entry, sl config.SeqLen, s *config.Search, runner string, conc int64) Row {
	row := baseRow(e, sl, runner)
	row.Kind = SingleNode
	row.TP, row.EP, row.DPAttn, row.Spec, row.Conc = s.TP, s.EP, s.DPAttn, s.Spec, conc
	row.PP, row.DCPSize, row.PCPSize = s.PP, s.DCPSize, s.PCPSize
	row.components(e, s)
	return row
}

func multiRow(e *config.Entry, sl config.SeqLen, s *config.Search, runner string, concs []int64) Row {
	row := baseRow(e, sl, runner)
	row.Kind = MultiNode
	row.Spec, row.Prefill, row.Decode, row.ConcList = s.Spec, s.Prefill, s.Decode, concs
	row.components(e, s)
	return row
}
