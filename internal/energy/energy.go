// Package energy turns the telemetry of one benchmark point into its energy: per GPU over
// exactly the benchmark window, from the hardware energy counter where the GPUs have one
// and by the reference's integration of sampled power otherwise (both, and their
// disagreement, when both exist), judged by the reference's validity checks plus ours. The
// result is the power_validation_<stem>.json sidecar and the agg record's power fields.
//
// The package is pure computation over parsed samples: no I/O, no clock.
package energy

import (
	"math"
	"slices"
	"sort"
	"strconv"
	"strings"

	"github.com/inferbench/inferbench/internal/result"
	"github.com/inferbench/inferbench/internal/telemetry"
)

// IntegrationMethod is the reference's name for its integration, which this package
// reproduces for the power columns.
const IntegrationMethod = "per_device_trapezoidal_with_linear_boundary_interpolation"

// Energy sources, best first.
const (
	SourceCounter    = "energy_counter"
	SourceInstant    = "integrated_power_draw_instant"
	SourceIntegrated = "integrated_power"
)

// Defaults of Options.
const (
	DefaultMaxSampleGapS = 3.0  // the reference's
	DefaultTolerance     = 0.05 // counter vs integration, the reference's accumulator check
	DefaultMaxPlausibleW = 5000 // no board draws more; a larger reading is garbage
)

// Options tune the checks; zero values take the defaults.
type Options struct {
	MaxSampleGapS float64
	Tolerance     float64
	MaxPlausibleW float64
}

// Benchmark is what the raw result says about the measured window.
type Benchmark struct {
	StartUnix, EndUnix, Duration         float64
	Completed, InputTokens, OutputTokens int
}

// Topology is what the deployment should show.
type Topology struct {
	// GPUs is the expected number of devices over all nodes; 0 skips the check.
	GPUs int
	// Role names the role of a device of a disaggregated deployment ("prefill",
	// "decode"); nil for a single-node row.
	Role func(node, gpu string) string
	// PrefillGPUs and DecodeGPUs are each role's GPU count (the denominators of the
	// per-role average power).
	PrefillGPUs, DecodeGPUs int
}

// Window is the sidecar's benchmark_window.
type Window struct {
	StartTimeUnix        float64 `json:"start_time_unix"`
	EndTimeUnix          float64 `json:"end_time_unix"`
	ReportedDurationS    float64 `json:"reported_duration_s"`
	IntegrationDurationS float64 `json:"integration_duration_s"`
	Completed            int     `json:"completed"`
	TotalInputTokens     int     `json:"total_input_tokens"`
	TotalOutputTokens    int     `json:"total_output_tokens"`
}

// AccumulatorCheck is the reference's comparison of an energy accumulator with the
// integrated power, computed here over the benchmark window itself.
type AccumulatorCheck struct {
	Available            bool               `json:"available"`
	Reason               string             `json:"reason,omitempty"`
	AccumulatorDeltaJ    float64            `json:"accumulator_delta_j"`
	IntegratedStreamJ    float64            `json:"integrated_stream_j"`
	RelativeError        *float64           `json:"relative_error"`
	WithinTolerance      bool               `json:"within_tolerance"`
	Tolerance            float64            `json:"tolerance"`
	PerGPUDeltaJ         map[string]float64 `json:"per_gpu_delta_j"`
	IntegratedGPUIDs     []string           `json:"integrated_gpu_ids"`
	UnmatchedGPUs        []string           `json:"unmatched_gpus"`
	NegativeDeltaGPUs    []string           `json:"negative_delta_gpus"`
	StreamSpanS          float64            `json:"stream_span_s"`
	Span                 string             `json:"span"`
	CounterResetsBridged map[string]int     `json:"counter_resets_bridged,omitempty"`
}

// Sources is every energy this point could be given, and which one it was.
type Sources struct {
	Selected string `json:"selected"`
	// Totals over all GPUs in joules; absent when that source was not usable.
	CounterJ           *float64 `json:"energy_counter_j"`
	IntegratedInstantJ *float64 `json:"integrated_power_draw_instant_j"`
	IntegratedJ        *float64 `json:"integrated_power_j"`
	// RelativeDifference is |integrated - counter| / counter.
	RelativeDifference *float64 `json:"relative_difference"`
	// Why a better source was not used.
	CounterUnavailable string `json:"energy_counter_unavailable,omitempty"`
	InstantUnavailable string `json:"power_draw_instant_unavailable,omitempty"`
}

// GPUStats are one GPU's readings averaged over the window.
type GPUStats struct {
	Samples        int      `json:"samples"`
	MeanPowerW     *float64 `json:"mean_power_w,omitempty"`
	MeanTempC      *float64 `json:"mean_temperature_c,omitempty"`
	MaxTempC       *float64 `json:"max_temperature_c,omitempty"`
	MeanSMClockMHz *float64 `json:"mean_sm_clock_mhz,omitempty"`
	MeanMemClock   *float64 `json:"mean_memory_clock_mhz,omitempty"`
	MeanUtilGPU    *float64 `json:"mean_utilization_gpu_pct,omitempty"`
	MeanUtilMem    *float64 `json:"mean_utilization_memory_pct,omitempty"`
}

// Validation is the power_validation_<stem>.json sidecar: the reference's keys first, in
// its order and meaning, then ours.
type Validation struct {
	SchemaVersion       int                 `json:"schema_version"`
	PowerValid          bool                `json:"power_valid"`
	Reasons             []string            `json:"reasons"`
	TelemetrySource     string              `json:"telemetry_source"`
	BenchmarkResult     string              `json:"benchmark_result"`
	BenchmarkWindow     *Window             `json:"benchmark_window"`
	IntegrationMethod   string              `json:"integration_method"`
	ExpectedGPUCount    *int                `json:"expected_gpu_count"`
	ObservedGPUCount    int                 `json:"observed_gpu_count"`
	ObservedGPUIDs      []string            `json:"observed_gpu_ids"`
	PerGPUSampleCounts  map[string]int      `json:"per_gpu_sample_counts"`
	PerGPUMaxSampleGapS map[string]float64  `json:"per_gpu_max_sample_gap_s"`
	PerGPUEnergyJ       map[string]float64  `json:"per_gpu_energy_j"`
	DeviceIssues        map[string][]string `json:"device_issues"`
	AccumulatorCheck    *AccumulatorCheck   `json:"accumulator_check"`
	Metrics             map[string]float64  `json:"metrics"`
	EnergySources       Sources             `json:"energy_sources"`
	PerGPURole          map[string]string   `json:"per_gpu_role,omitempty"`
	PerGPUWindow        map[string]GPUStats `json:"per_gpu_window_means,omitempty"`
	UnusableLines       []telemetry.Issue   `json:"unusable_lines,omitempty"`
	Warnings            []string            `json:"warnings,omitempty"`
	Telemetry           *telemetry.Summary  `json:"telemetry,omitempty"`

	power *result.AggPower
}

// Agg is the agg record's power fields for this point.
func (v *Validation) Agg() *result.AggPower { return v.power }

// reasons keeps validation reasons unique, in the order found.
type reasons []string

func (r *reasons) add(codes ...string) {
	for _, c := range codes {
		if !slices.Contains(*r, c) {
			*r = append(*r, c)
		}
	}
}

// BenchmarkFromRaw reads the window and the counts energy is normalised by, with the
// reference's checks: a finite, positive window whose length agrees with the reported
// duration (within 1 % or 0.5 s), and positive request and token counts.
func BenchmarkFromRaw(raw *result.Raw) (Benchmark, []string) {
	var b Benchmark
	if raw == nil || raw.Ext == nil {
		return b, []string{"invalid_benchmark_window"}
	}
	b = Benchmark{StartUnix: raw.Ext.StartUnix, EndUnix: raw.Ext.EndUnix, Duration: raw.Duration,
		Completed: raw.Completed, InputTokens: raw.TotalInputTokens, OutputTokens: raw.TotalOutputTokens}
	if !finite(b.StartUnix, b.EndUnix, b.Duration) || b.StartUnix <= 0 || b.EndUnix <= b.StartUnix || b.Duration <= 0 {
		return b, []string{"invalid_benchmark_window"}
	}
	var r reasons
	if d := b.EndUnix - b.StartUnix; math.Abs(b.Duration-d) > math.Max(0.5, d*0.01) {
		r.add("benchmark_duration_mismatch")
	}
	if b.Completed <= 0 {
		r.add("invalid_successful_query_count")
	}
	if b.InputTokens <= 0 {
		r.add("invalid_input_token_count")
	}
	if b.OutputTokens <= 0 {
		r.add("invalid_output_token_count")
	}
	return b, r
}

func finite(vs ...float64) bool {
	for _, v := range vs {
		if math.IsNaN(v) || math.IsInf(v, 0) {
			return false
		}
	}
	return true
}

// Input is everything Compute needs about one point.
type Input struct {
	Parsed *telemetry.Parsed // nil when the telemetry file is missing
	// Sampler is how the stream went (nil when the file was written by someone else).
	Sampler *telemetry.Summary
	Bench   Benchmark
	// BenchReasons are BenchmarkFromRaw's findings.
	BenchReasons []string
	Topology     Topology
	// TelemetrySource and BenchmarkResult name the files, for the sidecar.
	TelemetrySource, BenchmarkResult string
}

// Compute validates the telemetry of one point and computes its energy.
func Compute(in Input, opt Options) *Validation {
	if opt.MaxSampleGapS <= 0 {
		opt.MaxSampleGapS = DefaultMaxSampleGapS
	}
	if opt.Tolerance <= 0 {
		opt.Tolerance = DefaultTolerance
	}
	if opt.MaxPlausibleW <= 0 {
		opt.MaxPlausibleW = DefaultMaxPlausibleW
	}
	v := &Validation{SchemaVersion: 1, TelemetrySource: in.TelemetrySource, BenchmarkResult: in.BenchmarkResult,
		IntegrationMethod: IntegrationMethod, PerGPUSampleCounts: map[string]int{}, PerGPUMaxSampleGapS: map[string]float64{},
		PerGPUEnergyJ: map[string]float64{}, DeviceIssues: map[string][]string{}, Metrics: map[string]float64{},
		ObservedGPUIDs: []string{}, PerGPUWindow: map[string]GPUStats{}, Telemetry: in.Sampler}
	if in.Topology.GPUs > 0 {
		n := in.Topology.GPUs
		v.ExpectedGPUCount = &n
	}
	b := in.Bench
	var rs reasons
	rs.add(in.BenchReasons...)
	windowOK := !slices.Contains(in.BenchReasons, "invalid_benchmark_window")
	if windowOK {
		v.BenchmarkWindow = &Window{StartTimeUnix: b.StartUnix, EndTimeUnix: b.EndUnix, ReportedDurationS: b.Duration,
			IntegrationDurationS: b.EndUnix - b.StartUnix, Completed: b.Completed, TotalInputTokens: b.InputTokens,
			TotalOutputTokens: b.OutputTokens}
	}
	if s := in.Sampler; s != nil && s.Problem != "" {
		rs.add(s.Problem)
		v.Warnings = append(v.Warnings, s.Message)
	}
	v.finish(&rs, in, opt, windowOK)
	return v
}

// finish runs the telemetry checks and, when everything holds, the metrics.
func (v *Validation) finish(rs *reasons, in Input, opt Options, windowOK bool) {
	defer func() {
		v.Reasons = append([]string{}, (*rs)...)
		v.PowerValid = len(v.Reasons) == 0
		v.power = &result.AggPower{SchemaVersion: result.PowerMetricSchema, Valid: v.PowerValid}
		if v.PowerValid {
			v.fillAgg(in)
		} else {
			v.Metrics = map[string]float64{}
		}
	}()
	if !windowOK {
		return
	}
	p := in.Parsed
	switch {
	case p == nil:
		rs.add("telemetry_file_missing")
		return
	case p.Lines == 0:
		rs.add("telemetry_file_empty")
		return
	}
	if miss := p.MissingColumns(); len(miss) > 0 {
		rs.add(miss...)
		return
	}
	b := in.Bench
	lo, hi := b.StartUnix-opt.MaxSampleGapS, b.EndUnix+opt.MaxSampleGapS
	relevant := func(t float64) bool { return math.IsNaN(t) || (t >= lo && t <= hi) }
	for _, is := range p.Issues {
		if !relevant(is.Time) {
			continue
		}
		code := is.Reason
		if code == telemetry.IssueMalformed && math.IsNaN(is.Time) {
			code = telemetry.IssueBadTimestamp
		}
		rs.add(code)
		if len(v.UnusableLines) < 20 {
			v.UnusableLines = append(v.UnusableLines, is)
		}
	}
	devs := map[string]*device{}
	for _, s := range p.Samples {
		if s.Time < lo || s.Time > hi {
			continue
		}
		if s.PowerW > opt.MaxPlausibleW {
			rs.add("implausible_power_sample")
			continue
		}
		d := devs[s.Key()]
		if d == nil {
			d = &device{node: s.Node, gpu: s.GPU}
			devs[s.Key()] = d
		}
		d.raw = append(d.raw, s)
	}
	if len(devs) == 0 {
		rs.add("no_usable_power_samples")
		return
	}
	ids := make([]string, 0, len(devs))
	for k := range devs {
		ids = append(ids, k)
	}
	sort.Slice(ids, func(i, j int) bool { return gpuLess(ids[i], ids[j]) })
	v.ObservedGPUIDs = ids
	v.ObservedGPUCount = len(ids)
	if t := in.Topology; t.GPUs > 0 && len(ids) != t.GPUs {
		rs.add("expected_gpu_count_mismatch")
	}
	if t := in.Topology; t.Role != nil {
		v.PerGPURole = map[string]string{}
		count := map[string]int{}
		for _, k := range ids {
			role := t.Role(devs[k].node, devs[k].gpu)
			devs[k].role = role
			v.PerGPURole[k] = role
			count[role]++
		}
		if count["prefill"] != t.PrefillGPUs || count["decode"] != t.DecodeGPUs {
			rs.add("role_gpu_count_mismatch")
			v.Warnings = append(v.Warnings, "devices per role: prefill "+strconv.Itoa(count["prefill"])+" (want "+
				strconv.Itoa(t.PrefillGPUs)+"), decode "+strconv.Itoa(count["decode"])+" (want "+strconv.Itoa(t.DecodeGPUs)+")")
		}
	}
	for _, k := range ids {
		d := devs[k]
		d.prepare()
		v.PerGPUSampleCounts[k] = len(d.power)
		var issues []string
		switch {
		case len(d.power) < 2:
			issues = append(issues, "insufficient_power_samples")
		case d.power[0].t > b.StartUnix || d.power[len(d.power)-1].t < b.EndUnix:
			issues = append(issues, "benchmark_window_not_bracketed")
		default:
			gap := maxGap(d.power, b.StartUnix, b.EndUnix)
			v.PerGPUMaxSampleGapS[k] = gap
			if gap > opt.MaxSampleGapS {
				issues = append(issues, "sampling_gap_exceeded")
			}
			d.integrated = integrate(d.power, b.StartUnix, b.EndUnix)
			d.hasIntegrated = true
		}
		if len(issues) > 0 {
			v.DeviceIssues[k] = issues
			rs.add(issues...)
		}
		v.PerGPUWindow[k] = d.stats(b.StartUnix, b.EndUnix)
	}
	v.sources(devs, ids, in.Bench, opt)
}

// device is one GPU's samples.
type device struct {
	node, gpu, role string
	raw             []telemetry.Sample
	power, instant  []point // per distinct time, duplicates averaged
	counter         []point
	integrated      float64
	hasIntegrated   bool
	instantJ        float64
	hasInstant      bool
	counterJ        float64
	hasCounter      bool
	bridged         int
}

type point struct{ t, v float64 }

// prepare sorts the samples into series, averaging readings that share a timestamp (some
// tool versions stamp coarser than they sample).
func (d *device) prepare() {
	series := func(get func(telemetry.Sample) float64) []point {
		byT := map[float64][]float64{}
		for _, s := range d.raw {
			if x := get(s); !math.IsNaN(x) {
				byT[s.Time] = append(byT[s.Time], x)
			}
		}
		out := make([]point, 0, len(byT))
		for t, xs := range byT {
			sum := 0.0
			for _, x := range xs {
				sum += x
			}
			out = append(out, point{t, sum / float64(len(xs))})
		}
		sort.Slice(out, func(i, j int) bool { return out[i].t < out[j].t })
		return out
	}
	d.power = series(func(s telemetry.Sample) float64 { return s.PowerW })
	d.instant = series(func(s telemetry.Sample) float64 { return s.InstantW })
	d.counter = series(func(s telemetry.Sample) float64 { return s.EnergyJ })
}

// at interpolates a series linearly at t, which its points bracket.
func at(ps []point, t float64) float64 {
	i := sort.Search(len(ps), func(i int) bool { return ps[i].t >= t })
	if i < len(ps) && math.Abs(ps[i].t-t) <= 1e-9 {
		return ps[i].v
	}
	l, r := ps[i-1], ps[i]
	return l.v + (t-l.t)/(r.t-l.t)*(r.v-l.v)
}

func bracketed(ps []point, start, end float64) bool {
	return len(ps) >= 2 && ps[0].t <= start && ps[len(ps)-1].t >= end
}

// integrate is the reference's trapezoidal integration over [start, end] with the edge
// values interpolated from the samples around them.
func integrate(ps []point, start, end float64) float64 {
	clipped := []point{{start, at(ps, start)}}
	for _, p := range ps {
		if p.t > start && p.t < end {
			clipped = append(clipped, p)
		}
	}
	clipped = append(clipped, point{end, at(ps, end)})
	e := 0.0
	for i := 1; i < len(clipped); i++ {
		l, r := clipped[i-1], clipped[i]
		e += (r.t - l.t) * (l.v + r.v) / 2
	}
	return e
}

// maxGap is the largest spacing of the samples that matter to [start, end]: from the last
// one at or before start to the first at or after end.
func maxGap(ps []point, start, end float64) float64 {
	i := sort.Search(len(ps), func(i int) bool { return ps[i].t > start }) - 1
	j := sort.Search(len(ps), func(i int) bool { return ps[i].t >= end })
	g := 0.0
	for k := max(i, 0) + 1; k <= j && k < len(ps); k++ {
		g = math.Max(g, ps[k].t-ps[k-1].t)
	}
	return g
}

// counterEnergy is the energy-counter delta over [start, end], the counter interpolated
// linearly inside the intervals the window cuts. An interval over which the counter went
// down (a reset, or a wrap of a narrow accumulator) cannot be read from the counter; its
// share is taken from the integrated power instead, and counted.
func (d *device) counterEnergy(start, end float64) (joules float64, bridged int, ok bool) {
	c := d.counter
	if !bracketed(c, start, end) {
		return 0, 0, false
	}
	for i := 1; i < len(c); i++ {
		l, r := c[i-1], c[i]
		lo, hi := math.Max(l.t, start), math.Min(r.t, end)
		if hi <= lo || r.t <= l.t {
			continue
		}
		if r.v >= l.v {
			joules += (r.v - l.v) * (hi - lo) / (r.t - l.t)
			continue
		}
		if !bracketed(d.power, lo, hi) {
			return 0, bridged, false
		}
		joules += integrate(d.power, lo, hi)
		bridged++
	}
	return joules, bridged, true
}

// sources computes the counter and instant energies where every GPU has them, picks the
// best source, and fills the per-GPU energy and the accumulator check.
func (v *Validation) sources(devs map[string]*device, ids []string, b Benchmark, opt Options) {
	src := &v.EnergySources
	allIntegrated, allInstant, allCounter := true, true, true
	var noCounter, noInstant []string
	var totI, totInst, totC float64
	for _, k := range ids {
		d := devs[k]
		if !d.hasIntegrated {
			allIntegrated = false
		}
		totI += d.integrated
		if bracketed(d.instant, b.StartUnix, b.EndUnix) && maxGap(d.instant, b.StartUnix, b.EndUnix) <= opt.MaxSampleGapS {
			d.instantJ, d.hasInstant = integrate(d.instant, b.StartUnix, b.EndUnix), true
			totInst += d.instantJ
		} else {
			allInstant = false
			noInstant = append(noInstant, k)
		}
		if j, n, ok := d.counterEnergy(b.StartUnix, b.EndUnix); ok {
			d.counterJ, d.bridged, d.hasCounter = j, n, true
			totC += j
		} else {
			allCounter = false
			noCounter = append(noCounter, k)
		}
	}
	if allIntegrated {
		src.IntegratedJ = ptr(totI)
	}
	if allInstant {
		src.IntegratedInstantJ = ptr(totInst)
	} else {
		src.InstantUnavailable = unavailable(noInstant, len(ids), "power.draw.instant not sampled or not covering the window")
	}
	if allCounter {
		src.CounterJ = ptr(totC)
	} else {
		src.CounterUnavailable = unavailable(noCounter, len(ids), "no energy counter readings around both ends of the window")
	}
	pick := func(d *device) float64 { return d.integrated }
	switch {
	case allCounter:
		src.Selected, pick = SourceCounter, func(d *device) float64 { return d.counterJ }
	case allInstant:
		src.Selected, pick = SourceInstant, func(d *device) float64 { return d.instantJ }
	default:
		src.Selected = SourceIntegrated
	}
	for _, k := range ids {
		d := devs[k]
		if src.Selected != SourceIntegrated || d.hasIntegrated {
			v.PerGPUEnergyJ[k] = pick(d)
		}
	}
	if allCounter && allIntegrated && totC > 0 {
		rel := math.Abs(totI-totC) / totC
		src.RelativeDifference = ptr(rel)
		if rel > opt.Tolerance {
			v.Warnings = append(v.Warnings, "energy_sources_disagree: the energy counter and the integrated power differ by "+
				strconv.FormatFloat(100*rel, 'f', 1, 64)+"%")
		}
	}
	v.AccumulatorCheck = accumulatorCheck(devs, ids, allCounter, totC, b, opt.Tolerance)
}

func unavailable(keys []string, n int, why string) string {
	if len(keys) == n {
		return why
	}
	return why + " on " + strings.Join(keys, ", ")
}

func accumulatorCheck(devs map[string]*device, ids []string, allCounter bool, totC float64, b Benchmark, tol float64) *AccumulatorCheck {
	seen := false
	for _, k := range ids {
		seen = seen || len(devs[k].counter) > 0
	}
	if !seen {
		return nil
	}
	ac := &AccumulatorCheck{Tolerance: tol, PerGPUDeltaJ: map[string]float64{}, IntegratedGPUIDs: []string{},
		UnmatchedGPUs: []string{}, NegativeDeltaGPUs: []string{}, Span: "benchmark_window", StreamSpanS: b.EndUnix - b.StartUnix}
	if !allCounter {
		ac.Reason = "energy counter not usable on every GPU"
	}
	ac.Available = allCounter
	var integ float64
	for _, k := range ids {
		d := devs[k]
		if !d.hasCounter {
			ac.UnmatchedGPUs = append(ac.UnmatchedGPUs, k)
			continue
		}
		ac.PerGPUDeltaJ[k] = d.counterJ
		if d.bridged > 0 {
			if ac.CounterResetsBridged == nil {
				ac.CounterResetsBridged = map[string]int{}
			}
			ac.CounterResetsBridged[k] = d.bridged
			ac.NegativeDeltaGPUs = append(ac.NegativeDeltaGPUs, k)
		}
		if d.hasIntegrated {
			ac.IntegratedGPUIDs = append(ac.IntegratedGPUIDs, k)
			integ += d.integrated
		}
	}
	ac.AccumulatorDeltaJ, ac.IntegratedStreamJ = totC, integ
	if !allCounter {
		ac.AccumulatorDeltaJ = 0
		for _, j := range ac.PerGPUDeltaJ {
			ac.AccumulatorDeltaJ += j
		}
	}
	if ac.AccumulatorDeltaJ > 0 {
		rel := math.Abs(ac.AccumulatorDeltaJ-integ) / ac.AccumulatorDeltaJ
		ac.RelativeError = &rel
		ac.WithinTolerance = allCounter && len(ac.NegativeDeltaGPUs) == 0 && rel <= tol
	}
	return ac
}

// stats averages one GPU's readings inside the window.
func (d *device) stats(start, end float64) GPUStats {
	var st GPUStats
	type acc struct {
		sum float64
		n   int
		max float64
	}
	var pw, tc, sm, mc, ug, um acc
	add := func(a *acc, x float64) {
		if math.IsNaN(x) {
			return
		}
		if a.n == 0 || x > a.max {
			a.max = x
		}
		a.sum += x
		a.n++
	}
	for _, s := range d.raw {
		if s.Time < start || s.Time > end {
			continue
		}
		st.Samples++
		add(&pw, s.PowerW)
		add(&tc, s.TempC)
		add(&sm, s.SMClockMHz)
		add(&mc, s.MemClockMHz)
		add(&ug, s.UtilGPU)
		add(&um, s.UtilMem)
	}
	mean := func(a acc) *float64 {
		if a.n == 0 {
			return nil
		}
		return ptr(math.Round(a.sum/float64(a.n)*1000) / 1000)
	}
	st.MeanPowerW, st.MeanTempC, st.MeanSMClockMHz, st.MeanMemClock = mean(pw), mean(tc), mean(sm), mean(mc)
	st.MeanUtilGPU, st.MeanUtilMem = mean(ug), mean(um)
	if tc.n > 0 {
		st.MaxTempC = ptr(tc.max)
	}
	return st
}

// fillAgg derives the metrics of a valid point: whole-deployment energy per request and
// per token, and per role for disaggregated rows.
func (v *Validation) fillAgg(in Input) {
	b := in.Bench
	dur := b.EndUnix - b.StartUnix
	total := 0.0
	role := map[string]float64{}
	for k, j := range v.PerGPUEnergyJ {
		total += j
		if v.PerGPURole != nil {
			role[v.PerGPURole[k]] += j
		}
	}
	n := float64(len(v.ObservedGPUIDs))
	p := v.power
	p.TotalGPUEnergyJ = total
	p.AvgTotalGPUPowerW = total / dur
	p.AvgPowerW = p.AvgTotalGPUPowerW / n
	p.JoulesPerSuccessfulQuery = total / float64(b.Completed)
	p.JoulesPerInputToken = total / float64(b.InputTokens)
	p.JoulesPerOutputToken = total / float64(b.OutputTokens)
	p.JoulesPerTotalToken = total / float64(b.InputTokens+b.OutputTokens)
	m := map[string]float64{"avg_power_w": p.AvgPowerW, "avg_total_gpu_power_w": p.AvgTotalGPUPowerW,
		"total_gpu_energy_j": total, "joules_per_successful_query": p.JoulesPerSuccessfulQuery,
		"joules_per_input_token": p.JoulesPerInputToken, "joules_per_output_token": p.JoulesPerOutputToken,
		"joules_per_total_token": p.JoulesPerTotalToken}
	if t := in.Topology; t.Role != nil {
		r := &result.AggPowerRoles{}
		if t.PrefillGPUs > 0 {
			e := role["prefill"]
			r.PrefillGPUEnergyJ, r.PrefillAvgPowerW = ptr(e), ptr(e/dur/float64(t.PrefillGPUs))
			r.PrefillJoulesPerInputToken = ptr(e / float64(b.InputTokens))
			m["prefill_gpu_energy_j"], m["prefill_avg_power_w"], m["prefill_joules_per_input_token"] =
				*r.PrefillGPUEnergyJ, *r.PrefillAvgPowerW, *r.PrefillJoulesPerInputToken
		}
		if t.DecodeGPUs > 0 {
			e := role["decode"]
			r.DecodeGPUEnergyJ, r.DecodeAvgPowerW = ptr(e), ptr(e/dur/float64(t.DecodeGPUs))
			r.DecodeJoulesPerOutputToken = ptr(e / float64(b.OutputTokens))
			m["decode_gpu_energy_j"], m["decode_avg_power_w"], m["decode_joules_per_output_token"] =
				*r.DecodeGPUEnergyJ, *r.DecodeAvgPowerW, *r.DecodeJoulesPerOutputToken
		}
		p.Roles = r
	}
	for k, x := range m {
		if !finite(x) {
			v.PowerValid = false
			v.Reasons = append(v.Reasons, "non_finite_power_metric")
			v.power = &result.AggPower{SchemaVersion: result.PowerMetricSchema}
			v.Metrics = map[string]float64{}
			return
		}
		m[k] = math.Round(x*1e6) / 1e6
	}
	v.Metrics = m
}

func ptr(f float64) *float64 { return &f }

// gpuLess orders numeric GPU ids numerically, before others; "node/gpu" keys by node, then
// GPU, both numerically.
func gpuLess(a, b string) bool {
	an, ag, _ := strings.Cut(a, "/")
	bn, bg, _ := strings.Cut(b, "/")
	if !strings.Contains(a, "/") {
		an, ag = "", a
	}
	if !strings.Contains(b, "/") {
		bn, bg = "", b
	}
	if an != bn {
		return numLess(an, bn)
	}
	return numLess(ag, bg)
}

func numLess(a, b string) bool {
	ai, aerr := strconv.Atoi(a)
	bi, berr := strconv.Atoi(b)
	switch {
	case aerr == nil && berr == nil:
		return ai < bi
	case aerr == nil:
		return true
	case berr == nil:
		return false
	}
	return a < b
}
