package report

import (
	"fmt"
	"math"
	"slices"
)

// MetricSpec is one metric compare looks at.
type MetricSpec struct {
	Key          string  // agg record key
	Label        string  // column title
	HigherBetter bool    // throughput and interactivity: up is good; latencies: down is good
	Scale        float64 // record value × Scale = displayed value
	Unit         string
	// Floor is the metric's own noise floor in percent: the allowed change is never below
	// it, whatever --threshold says. Tail latencies move more from run to run than medians.
	Floor float64
	// MinAbs is a change (in displayed units) too small to matter whatever its percentage,
	// so a 1 ms TTFT going to 2 ms is not a "100 % regression".
	MinAbs float64
	// Quantile is set for tail metrics (0.99 for p99). Such a statistic is judged only when
	// both sides had at least MinTailSamples requests beyond it; with fewer (p99 of 32
	// requests is their maximum) it swings by tens of percent between identical runs.
	Quantile float64
}

// MinTailSamples is how many requests must lie beyond a tail percentile for its change to
// be judged: p99 needs 1,000 completed requests.
const MinTailSamples = 10

// CompareMetrics are the metrics compare reports, in column order.
var CompareMetrics = []MetricSpec{
	{Key: "tput_per_gpu", Label: "TPUT/GPU", HigherBetter: true, Scale: 1, Unit: "tok/s"},
	{Key: "median_intvty", Label: "Interactivity", HigherBetter: true, Scale: 1, Unit: "tok/s/user"},
	{Key: "median_ttft", Label: "TTFT p50", Scale: 1000, Unit: "ms", Floor: 10, MinAbs: 1},
	{Key: "p99_ttft", Label: "TTFT p99", Scale: 1000, Unit: "ms", Floor: 20, MinAbs: 2, Quantile: 0.99},
	{Key: "median_tpot", Label: "TPOT p50", Scale: 1000, Unit: "ms", MinAbs: 0.1},
	{Key: "median_e2el", Label: "E2EL p50", Scale: 1, Unit: "s", MinAbs: 0.01},
}

// EnergyMetrics are compared too when either set measured power: energy per output token
// regresses upwards, like a latency. Board power readings move by a few percent between
// identical runs, hence the floor.
var EnergyMetrics = []MetricSpec{
	{Key: "joules_per_output_token", Label: "J/output tok", Scale: 1, Unit: "J", Floor: 5, MinAbs: 1e-4},
}

// CompareOptions tunes what counts as a regression.
type CompareOptions struct {
	// Threshold is the smallest change in percent (in the bad direction) that is flagged.
	Threshold float64
	// AnyLayout joins on the workload only (hardware, framework, precision, model, seq-len,
	// concurrency), not the parallel layout: with --best, the best configuration of each
	// side is compared whatever layout won.
	AnyLayout bool
}

// Verdict is the outcome for one metric of one configuration.
type Verdict int

const (
	Same        Verdict = iota // within noise
	Regression                 // worse by more than allowed
	Improvement                // better by more than allowed
	Missing                    // the metric is absent on one side
	TooFew                     // a tail statistic over too few requests to judge
)

// MetricDelta is one metric of one joined configuration.
type MetricDelta struct {
	Old, New float64 // displayed units, mean over repeats
	Change   float64 // percent, (new-old)/old
	Allowed  float64 // percent: the noise-aware threshold applied
	Verdict  Verdict
}

// CompareRow is one configuration found in both sets.
type CompareRow struct {
	Key            string // human-readable configuration
	Ref            Record // a representative record (from the new set)
	NOld, NNew     int    // repeats on each side
	Deltas         []MetricDelta
	HasRegression  bool
	HasImprovement bool
}

// Comparison is the join of two result sets.
type Comparison struct {
	Rows             []CompareRow
	OnlyOld, OnlyNew []string // configurations present on one side only
	Regressions      int      // rows with at least one regression
	Improvements     int      // rows with at least one improvement and no regression
	Options          CompareOptions
	// Metrics are the metrics judged, in column order: CompareMetrics, then EnergyMetrics
	// when either set measured power. Each row's Deltas follow it.
	Metrics []MetricSpec
}

// configKey is the join key: everything that defines a configuration, concurrency included.
func configKey(r Record) string {
	par := fmt.Sprintf("tp%d/ep%d/dpa=%s", r.TP, r.EP, r.DPAttention)
	if r.Multinode {
		par = fmt.Sprintf("prefill %dx tp%d/ep%d/dpa=%s (%d gpu), decode %dx tp%d/ep%d/dpa=%s (%d gpu)",
			r.PrefillWorkers, r.PrefillTP, r.PrefillEP, r.PrefillDPAttention, r.PrefillGPUs,
			r.DecodeWorkers, r.DecodeTP, r.DecodeEP, r.DecodeDPAttention, r.DecodeGPUs)
	}
	spec := ""
	if r.SpecDecoding != "" && r.SpecDecoding != "none" {
		spec = " spec=" + r.SpecDecoding
	}
	disagg := ""
	if r.Disagg {
		disagg = " disagg"
	}
	return fmt.Sprintf("%s %s %s %s %s%s %d/%d %s%s conc=%d", r.HW, r.Framework, r.Precision,
		r.Prefix, r.Model, spec, r.ISL, r.OSL, par, disagg, r.Conc)
}

// Compare joins two result sets on the configuration and judges each metric. Repeated
// points (same configuration more than once in a set) are averaged, and their spread widens
// the allowed change: allowed = max(Threshold, metric floor) + 2·(relative std of old) +
// 2·(relative std of new), all in percent.
func Compare(oldRs, newRs []Record, opt CompareOptions) Comparison {
	c := Comparison{Options: opt, Metrics: CompareMetrics}
	if hasPower(oldRs) || hasPower(newRs) {
		c.Metrics = slices.Concat(CompareMetrics, EnergyMetrics)
	}
	key := configKey
	if opt.AnyLayout {
		key = workloadKey
	}
	oldG, newG := groupByConfig(oldRs, key), groupByConfig(newRs, key)
	for _, k := range sortedKeys(oldG) {
		if _, ok := newG[k]; !ok {
			c.OnlyOld = append(c.OnlyOld, k)
		}
	}
	for _, k := range sortedKeys(newG) {
		o, ok := oldG[k]
		if !ok {
			c.OnlyNew = append(c.OnlyNew, k)
			continue
		}
		row := compareRow(k, o, newG[k], c.Metrics, opt)
		if row.HasRegression {
			c.Regressions++
		} else if row.HasImprovement {
			c.Improvements++
		}
		c.Rows = append(c.Rows, row)
	}
	slices.SortStableFunc(c.Rows, func(a, b CompareRow) int { return compareSingleOrMulti(a.Ref, b.Ref) })
	return c
}

func compareSingleOrMulti(a, b Record) int {
	if a.Multinode != b.Multinode {
		if a.Multinode {
			return 1
		}
		return -1
	}
	if a.Multinode {
		return compareMulti(a, b)
	}
	return compareSingle(a, b)
}

// workloadKey is configKey without the parallel layout.
func workloadKey(r Record) string {
	spec := ""
	if r.SpecDecoding != "" && r.SpecDecoding != "none" {
		spec = " spec=" + r.SpecDecoding
	}
	return fmt.Sprintf("%s %s %s %s %s%s %d/%d conc=%d", r.HW, r.Framework, r.Precision,
		r.Prefix, r.Model, spec, r.ISL, r.OSL, r.Conc)
}

func groupByConfig(rs []Record, key func(Record) string) map[string][]Record {
	g := map[string][]Record{}
	for _, r := range rs {
		k := key(r)
		g[k] = append(g[k], r)
	}
	return g
}

func sortedKeys(m map[string][]Record) []string {
	ks := make([]string, 0, len(m))
	for k := range m {
		ks = append(ks, k)
	}
	slices.Sort(ks)
	return ks
}

func compareRow(key string, o, n []Record, metrics []MetricSpec, opt CompareOptions) CompareRow {
	row := CompareRow{Key: key, Ref: n[0], NOld: len(o), NNew: len(n)}
	for _, m := range metrics {
		d := judge(m, o, n, opt)
		row.HasRegression = row.HasRegression || d.Verdict == Regression
		row.HasImprovement = row.HasImprovement || d.Verdict == Improvement
		row.Deltas = append(row.Deltas, d)
	}
	return row
}

func judge(m MetricSpec, o, n []Record, opt CompareOptions) MetricDelta {
	om, osd, ok1 := meanStd(m, o)
	nm, nsd, ok2 := meanStd(m, n)
	if !ok1 || !ok2 {
		return MetricDelta{Verdict: Missing}
	}
	d := MetricDelta{Old: om, New: nm}
	d.Allowed = max(opt.Threshold, m.Floor) + 2*relPct(osd, om) + 2*relPct(nsd, nm)
	if om == 0 {
		return d
	}
	d.Change = 100 * (nm - om) / math.Abs(om)
	if m.Quantile > 0 && !enoughTail(m.Quantile, o, n) {
		d.Verdict = TooFew
		return d
	}
	if math.Abs(nm-om) < m.MinAbs || math.Abs(d.Change) <= d.Allowed {
		return d
	}
	worse := (d.Change < 0) == m.HigherBetter
	d.Verdict = Improvement
	if worse {
		d.Verdict = Regression
	}
	return d
}

// meanStd averages a metric over repeats (sample standard deviation; 0 for one value).
func meanStd(m MetricSpec, rs []Record) (mean, std float64, ok bool) {
	var vals []float64
	for _, r := range rs {
		if v, present := r.Metric(m.Key); present {
			vals = append(vals, v*m.Scale)
		}
	}
	if len(vals) == 0 {
		return 0, 0, false
	}
	for _, v := range vals {
		mean += v
	}
	mean /= float64(len(vals))
	if len(vals) > 1 {
		for _, v := range vals {
			std += (v - mean) * (v - mean)
		}
		std = math.Sqrt(std / float64(len(vals)-1))
	}
	return mean, std, true
}

func relPct(sd, mean float64) float64 {
	if mean == 0 {
		return 0
	}
	return 100 * sd / math.Abs(mean)
}

// enoughTail reports whether every record of both sides completed enough requests for a
// tail statistic at quantile q to be judged. Records without a request count (written by
// the reference) are not judged either.
func enoughTail(q float64, sides ...[]Record) bool {
	for _, rs := range sides {
		for _, r := range rs {
			n, ok := r.Metric("completed")
			if !ok || n*(1-q) < MinTailSamples {
				return false
			}
		}
	}
	return true
}
