package report

import (
	"fmt"
	"sort"
	"strings"
)

// Filter selects records; zero fields select everything. It is what the jq recipes of the
// reference did by hand, as flags.
type Filter struct {
	HW          []string // runner types or SKUs; "b200" matches b200 and b200-trt
	Framework   []string
	Precision   []string
	ModelPrefix []string
	ISL, OSL    int
	// Best keeps, per group (model, hardware, framework, precision, spec decoding, isl, osl,
	// conc), only the configuration with the highest throughput per GPU.
	Best bool
}

// Apply returns the records the filter selects, in their original order.
func (f Filter) Apply(rs []Record) []Record {
	var out []Record
	for _, r := range rs {
		if f.match(r) {
			out = append(out, r)
		}
	}
	if f.Best {
		out = BestPerGroup(out)
	}
	return out
}

func (f Filter) match(r Record) bool {
	return matchHW(f.HW, r.HW) &&
		matchFold(f.Framework, r.Framework) &&
		matchFold(f.Precision, r.Precision) &&
		matchFold(f.ModelPrefix, r.Prefix) &&
		(f.ISL == 0 || f.ISL == r.ISL) &&
		(f.OSL == 0 || f.OSL == r.OSL)
}

func matchFold(want []string, got string) bool {
	if len(want) == 0 {
		return true
	}
	for _, w := range want {
		if strings.EqualFold(w, got) {
			return true
		}
	}
	return false
}

// matchHW accepts the exact runner type or its GPU SKU (the part before the first "-"), so
// --hw b200 selects b200 and b200-trt but not gb200.
func matchHW(want []string, hw string) bool {
	if len(want) == 0 {
		return true
	}
	for _, w := range want {
		if strings.EqualFold(w, hw) || strings.EqualFold(w, SKU(hw)) {
			return true
		}
	}
	return false
}

// SKU is the GPU SKU of a runner type: the label up to its first "-" (b200-trt → b200),
// as calc_success_rate.py derives it.
func SKU(hw string) string {
	if i := strings.IndexByte(hw, '-'); i >= 0 {
		return strings.ToLower(hw[:i])
	}
	return strings.ToLower(hw)
}

// groupKey identifies the points --best chooses among: the same workload on the same
// hardware and software, differing only in parallelism.
func groupKey(r Record) string {
	return fmt.Sprintf("%s|%s|%s|%s|%s|%s|%d|%d|%d", r.Prefix, r.Model, r.HW, r.Framework,
		r.Precision, r.SpecDecoding, r.ISL, r.OSL, r.Conc)
}

// BestPerGroup keeps the record with the highest throughput per GPU of each group; ties go
// to the record seen first. The result keeps input order.
func BestPerGroup(rs []Record) []Record {
	best := map[string]int{}
	for i, r := range rs {
		k := groupKey(r)
		if j, ok := best[k]; !ok || r.TputPerGPU > rs[j].TputPerGPU {
			best[k] = i
		}
	}
	idx := make([]int, 0, len(best))
	for _, i := range best {
		idx = append(idx, i)
	}
	sort.Ints(idx)
	out := make([]Record, len(idx))
	for n, i := range idx {
		out[n] = rs[i]
	}
	return out
}

// SeqLen names an ISL/OSL pair the way config keys do (1024/8192 → 1k8k); lengths that
// are not whole thousands read "<isl>_<osl>".
func SeqLen(isl, osl int) string {
	a, okA := kName(isl)
	b, okB := kName(osl)
	if okA && okB {
		return a + b
	}
	return fmt.Sprintf("%d_%d", isl, osl)
}

func kName(n int) (string, bool) {
	switch {
	case n >= 1024 && n%1024 == 0:
		return fmt.Sprintf("%dk", n/1024), true
	case n >= 1000 && n%1000 == 0:
		return fmt.Sprintf("%dk", n/1000), true
	}
	return "", false
}

// MatchLabels reports whether a row with these labels passes the filter's hardware,
// framework and precision selections (for eval rows, which carry no model prefix or
// sequence lengths).
func (f Filter) MatchLabels(hw, framework, precision string) bool {
	return matchHW(f.HW, hw) && matchFold(f.Framework, framework) && matchFold(f.Precision, precision)
}

// MatchEval says whether the filter selects an eval row: its labels, the model prefix and
// sequence lengths of its eval set ("" and 0 when unknown, which a set filter rejects).
func (f Filter) MatchEval(hw, framework, precision, prefix string, isl, osl int) bool {
	return f.MatchLabels(hw, framework, precision) && matchFold(f.ModelPrefix, prefix) &&
		(f.ISL == 0 || f.ISL == isl) && (f.OSL == 0 || f.OSL == osl)
}

// Statuses returns the status records the filter selects (--best does not apply: every
// attempt counts towards the success rate).
func (f Filter) Statuses(ss []Status) []Status {
	var out []Status
	for _, s := range ss {
		if f.MatchLabels(s.HW, s.Framework, s.Precision) && matchFold(f.ModelPrefix, s.ModelPrefix) &&
			(f.ISL == 0 || f.ISL == s.ISL) && (f.OSL == 0 || f.OSL == s.OSL) {
			out = append(out, s)
		}
	}
	return out
}
