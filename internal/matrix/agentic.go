package matrix

import (
	"errors"
	"fmt"
	"math/big"
	"slices"
	"strings"

	"github.com/inferbench/inferbench/internal/config"
)

// Agentic-coding rows (2026-08): one trace replay per concurrency, sized by the runner's
// hardware when the KV cache is offloaded to CPU DRAM.

const (
	// agenticDuration is how long (seconds) every agentic point replays traces.
	agenticDuration = 3600
	// maxAgenticDRAMMiB caps the CPU DRAM a KV offload budget starts from: 3 TB (decimal)
	// in MiB, before the utilization is applied.
	maxAgenticDRAMMiB = 2_861_022
	bytesPerMiB       = 1 << 20
	bytesPerGB        = 1_000_000_000
)

// agenticErrors collects the hardware problems found while sizing KV offload budgets, so
// that all of them are reported at once.
type agenticErrors []error

func (a *agenticErrors) err() error { return errors.Join(*a...) }

// concValues is a search-space entry's concurrency list, or its geometric range.
func concValues(s *config.Search, step int64) []int64 {
	if len(s.ConcList) > 0 {
		return s.ConcList
	}
	return Series(s.ConcStart, s.ConcEnd, step)
}

// boundConc keeps the values within --min-conc and --max-conc; unlike the fixed-seq-len
// rows, agentic rows never substitute a bound for a value.
func boundConc(values []int64, minC, maxC *int64) []int64 {
	if minC == nil && maxC == nil {
		return values
	}
	out := make([]int64, 0, len(values))
	for _, c := range values {
		if (minC == nil || c >= *minC) && (maxC == nil || c <= *maxC) {
			out = append(out, c)
		}
	}
	return out
}

// appendAgentic appends the agentic-coding rows of entry e. concs gives the concurrencies
// of one search-space entry. Single-node rows go per concurrency, then per node;
// multi-node rows per node, then per concurrency, each its own allocation.
func appendAgentic(rows []Row, e *config.Entry, r *config.Runners, nodes []string, errs *agenticErrors, concs func(*config.Search) []int64) []Row {
	for ai := range e.Agentic {
		a := &e.Agentic[ai]
		for i := range a.Search {
			s := &a.Search[i]
			gb, err := dramOffloadGB(a, s, e, r)
			if err != nil {
				*errs = append(*errs, fmt.Errorf("config entry '%s' (%s:%d:%d): %w", e.Key, e.File, s.Pos.Line, s.Pos.Col, err))
				continue
			}
			cs := concs(s)
			if len(cs) == 0 {
				continue
			}
			if e.Multinode {
				for _, node := range nodes {
					for _, c := range cs {
						rows = append(rows, agenticMultiRow(e, s, node, c, gb))
					}
				}
				continue
			}
			for _, c := range cs {
				for _, node := range nodes {
					rows = append(rows, agenticSingleRow(e, s, node, c, gb))
				}
			}
		}
	}
	return rows
}

func agenticRow(e *config.Entry, s *config.Search, node string, gb int64) Row {
	row := Row{
		Gen: e.Gen, Scenario: AgenticCoding, Key: e.Key,
		Image: e.Image, Model: e.Model, ModelPrefix: e.ModelPrefix, Precision: e.Precision,
		Framework: e.Framework, Runner: node, Spec: s.Spec, Disagg: e.Disagg,
		PP: 1, DCPSize: 1, PCPSize: 1,
		KVOffloading: s.KVOffloading, KVOffloadBackend: s.KVOffloadBackend,
		TotalCPUDRAMGB: gb, Duration: agenticDuration, NoRunEval: true,
	}
	if row.KVOffloading == "" {
		row.KVOffloading = "none"
	}
	row.components(e, s)
	return row
}

func agenticSingleRow(e *config.Entry, s *config.Search, node string, conc, gb int64) Row {
	row := agenticRow(e, s, node, gb)
	row.Kind = SingleNode
	row.TP, row.PP, row.DCPSize, row.PCPSize = s.TP, s.PP, s.DCPSize, s.PCPSize
	row.EP, row.DPAttn, row.Conc = s.EP, s.DPAttn, conc
	row.ExpName = e.ModelPrefix + "_tp" + itoa(s.TP) + "_conc" + itoa(conc) + "_" + offloadSuffix(&row)
	if s.Spec != "none" {
		row.ExpName += "_spec-" + s.Spec
	}
	return row
}

func agenticMultiRow(e *config.Entry, s *config.Search, node string, conc, gb int64) Row {
	row := agenticRow(e, s, node, gb)
	row.Kind = MultiNode
	row.Prefill, row.Decode, row.ConcList = s.Prefill, s.Decode, []int64{conc}
	row.ExpName = e.ModelPrefix + "_" + workerTag(s.Prefill, "p") + "_" + workerTag(s.Decode, "d") + "_conc" + itoa(conc)
	if row.KVOffloading != "none" {
		row.ExpName += "_" + offloadSuffix(&row)
	}
	return row
}

// offloadSuffix names the KV offload settings in exp-name: kvnone, or kv<mode>-<backend>.
func offloadSuffix(r *Row) string {
	if r.KVOffloading == "none" {
		return "kvnone"
	}
	name := ""
	if r.KVOffloadBackend != nil {
		name = r.KVOffloadBackend.Name
	}
	return "kv" + r.KVOffloading + "-" + name
}

// workerTag encodes a worker's topology for a multi-node agentic exp-name: p1x4ep4dpa.
func workerTag(w *config.Worker, role string) string {
	tag := role + itoa(w.NumWorker) + "x" + itoa(w.TP)
	if w.EP != 1 {
		tag += "ep" + itoa(w.EP)
	}
	if w.DPAttn {
		tag += "dpa"
	}
	return tag
}

// dramOffloadGB is the CPU DRAM (GB, decimal) one agentic server may fill with offloaded
// KV cache: the runner's available DRAM (capped at 3 TB) times dram-utilization times the
// share of the node's GPUs the server uses. It is computed exactly and truncated, as the
// reference does with decimals. Without DRAM offload it is 0.
func dramOffloadGB(a *config.Agentic, s *config.Search, e *config.Entry, r *config.Runners) (int64, error) {
	if s.KVOffloading != "dram" {
		return 0, nil
	}
	hw := r.HardwareOf(e.Runner)
	if hw == nil {
		labels := make([]string, len(r.Hardware))
		for i, h := range r.Hardware {
			labels[i] = h.Label
		}
		slices.Sort(labels)
		return 0, fmt.Errorf("Runner '%s' requires 'available-cpu-dram-mib' in runner hardware metadata. Available hardware keys: %s",
			e.Runner, strings.Join(labels, ", "))
	}
	if a.DRAMUtilization == nil {
		return 0, errors.New("kv-offloading='dram' requires dram-utilization with runner hardware metadata")
	}
	perNode := hw.GPUsPerNode
	var gpus int64
	if s.Prefill != nil {
		n, err := workerGPUsPerNode(s.Prefill, perNode)
		if err != nil {
			return 0, err
		}
		gpus = n
	} else {
		gpus = s.TP * s.PP * s.PCPSize
		if gpus > perNode {
			return 0, fmt.Errorf("tp=%d with pp=%d and pcp-size=%d requires %d GPUs and exceeds gpus-per-node=%d for runner '%s'",
				s.TP, s.PP, s.PCPSize, gpus, perNode, e.Runner)
		}
	}
	v := new(big.Rat).SetInt64(min(hw.AvailableCPUDRAMMiB, maxAgenticDRAMMiB) * bytesPerMiB)
	v.Mul(v, a.DRAMUtilization)
	v.Mul(v, new(big.Rat).SetFrac64(gpus, perNode*bytesPerGB))
	return new(big.Int).Quo(v.Num(), v.Denom()).Int64(), nil
}

// workerGPUsPerNode is the GPUs one replica of a worker occupies on one node: a replica
// larger than a node fills whole nodes; a smaller one must tile the node evenly.
func workerGPUsPerNode(w *config.Worker, perNode int64) (int64, error) {
	n := w.TP * w.PP * w.PCPSize
	if n > perNode {
		if n%perNode != 0 {
			return 0, fmt.Errorf("worker tp*pp*pcp-size=%d spans multiple nodes but is not a multiple of gpus-per-node=%d", n, perNode)
		}
		return perNode, nil
	}
	if perNode%n != 0 {
		return 0, fmt.Errorf("worker tp*pp*pcp-size=%d does not divide gpus-per-node=%d evenly", n, perNode)
	}
	return n, nil
}
