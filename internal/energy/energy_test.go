package energy

import (
	"fmt"
	"math"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/inferbench/inferbench/internal/result"
	"github.com/inferbench/inferbench/internal/telemetry"
)

// The fixtures are written here, line by line, in the tools' own formats:
//
//   - nvidia-smi --query-gpu=timestamp,index,power.draw,temperature.gpu,clocks.current.sm,
//     clocks.current.memory,utilization.gpu,utilization.memory[,power.draw.instant]
//     --format=csv: local time without a zone, ", " separators, units in the cells.
//   - amd-smi metric -p -c -t -u -E -w 1 --csv: epoch seconds, bare numbers, N/A cells,
//     total_energy_consumption in joules.

const base = 1_700_000_000.0

type reading struct {
	t       float64 // seconds after base
	gpu     int
	w       float64
	instant float64 // NaN: not printed
	energyJ float64 // NaN: not printed
}

func nvTS(t float64) string {
	sec := math.Floor(t)
	return time.Unix(int64(sec), int64((t-sec)*1e9)).UTC().Format("2006/01/02 15:04:05.000")
}

// nvidiaCSV writes nvidia-smi's output; instant adds power.draw.instant.
func nvidiaCSV(rs []reading, instant bool) string {
	var b strings.Builder
	b.WriteString("timestamp, index, power.draw [W], temperature.gpu, clocks.current.sm [MHz], clocks.current.memory [MHz], utilization.gpu [%], utilization.memory [%]")
	if instant {
		b.WriteString(", power.draw.instant [W]")
	}
	b.WriteString("\n")
	for _, r := range rs {
		fmt.Fprintf(&b, "%s, %d, %.2f W, 61, 1980 MHz, 2619 MHz, 97 %%, 43 %%", nvTS(base+r.t), r.gpu, r.w)
		if instant {
			if math.IsNaN(r.instant) {
				b.WriteString(", [N/A]")
			} else {
				fmt.Fprintf(&b, ", %.2f W", r.instant)
			}
		}
		b.WriteString("\n")
	}
	return b.String()
}

const amdHeader = "timestamp,gpu,gfx_activity,umc_activity,mm_activity,vcn_activity,socket_power,gfx_voltage,soc_voltage,mem_voltage,throttle_status,power_management,gfx_0_clk,mem_0_clk,edge,hotspot,mem,total_energy_consumption"

// amdCSV writes amd-smi's watch output (whole-second stamps, as the tool prints them).
func amdCSV(rs []reading) string {
	var b strings.Builder
	b.WriteString(amdHeader + "\n")
	for _, r := range rs {
		e := "N/A"
		if !math.IsNaN(r.energyJ) {
			e = fmt.Sprintf("%.3f", r.energyJ)
		}
		fmt.Fprintf(&b, "%.0f,%d,98,41,0,0,%.0f,N/A,N/A,N/A,UNTHROTTLED,ENABLED,2100,1300,52,66,60,%s\n", base+r.t, r.gpu, r.w, e)
	}
	return b.String()
}

func parse(t *testing.T, csv string) *telemetry.Parsed {
	t.Helper()
	p, err := telemetry.Parse(strings.NewReader(csv), time.UTC)
	require.NoError(t, err)
	return p
}

// bench is a 10-second window with plenty of requests and tokens.
func bench(start, end float64) Benchmark {
	return Benchmark{StartUnix: base + start, EndUnix: base + end, Duration: end - start, Completed: 10, InputTokens: 10_000, OutputTokens: 2_000}
}

func compute(t *testing.T, csv string, b Benchmark, topo Topology) *Validation {
	t.Helper()
	return Compute(Input{Parsed: parse(t, csv), Bench: b, Topology: topo}, Options{})
}

// every samples f (watts at t) every step seconds from t0 to t1 for the given GPUs.
func every(t0, t1, step float64, gpus int, f func(gpu int, t float64) float64) []reading {
	var rs []reading
	for k := 0; ; k++ {
		tt := t0 + float64(k)*step
		if tt > t1+1e-9 {
			break
		}
		for g := range gpus {
			rs = append(rs, reading{t: tt, gpu: g, w: f(g, tt), instant: math.NaN(), energyJ: math.NaN()})
		}
	}
	return rs
}

func TestKnownEnergyWithinATenthOfAPercent(t *testing.T) {
	t.Parallel()
	// A load that swings by ±150 W every 4 s, sampled every 100 ms; the window starts and
	// ends between samples. Exact energy: ∫(450 + 150 sin(2πt/4)) dt over [0.03, 60.07].
	watts := func(g int, tt float64) float64 { return 450 + 150*math.Sin(2*math.Pi*tt/4) + float64(g)*10 }
	exact := func(g int, a, b float64) float64 {
		F := func(x float64) float64 { return (450+float64(g)*10)*x - 150*4/(2*math.Pi)*math.Cos(2*math.Pi*x/4) }
		return F(b) - F(a)
	}
	v := compute(t, nvidiaCSV(every(-1, 62, 0.1, 2, watts), false), bench(0.03, 60.07), Topology{GPUs: 2})
	require.True(t, v.PowerValid, "reasons %v", v.Reasons)
	for g, id := range []string{"0", "1"} {
		assert.InEpsilon(t, exact(g, 0.03, 60.07), v.PerGPUEnergyJ[id], 1e-3, "GPU %s", id)
	}
	want := exact(0, 0.03, 60.07) + exact(1, 0.03, 60.07)
	assert.InEpsilon(t, want, v.Agg().TotalGPUEnergyJ, 1e-3)
	assert.Equal(t, SourceIntegrated, v.EnergySources.Selected, "no counter, no instant column: the reference's integration")
}

func TestWindowEdgesAreInterpolated(t *testing.T) {
	t.Parallel()
	// Linear ramps sampled irregularly, none at the window's edges: the integration must
	// interpolate 120 W at t=0 and 320 W at t=10 from the samples around them.
	var rs []reading
	for _, s := range []struct{ t, w0, w1 float64 }{{-1, 100, 200}, {1, 140, 240}, {3.5, 190, 290}, {6, 240, 340}, {8.5, 290, 390}, {11, 340, 440}} {
		rs = append(rs, reading{t: s.t, gpu: 0, w: s.w0, instant: math.NaN(), energyJ: math.NaN()},
			reading{t: s.t, gpu: 1, w: s.w1, instant: math.NaN(), energyJ: math.NaN()})
	}
	v := compute(t, nvidiaCSV(rs, false), bench(0, 10), Topology{GPUs: 2})
	require.True(t, v.PowerValid, "reasons %v", v.Reasons)
	assert.InDelta(t, 2200, v.PerGPUEnergyJ["0"], 1e-6)
	assert.InDelta(t, 3200, v.PerGPUEnergyJ["1"], 1e-6)
	p := v.Agg()
	assert.InDelta(t, 5400, p.TotalGPUEnergyJ, 1e-6)
	assert.InDelta(t, 540, p.AvgTotalGPUPowerW, 1e-6)
	assert.InDelta(t, 270, p.AvgPowerW, 1e-6)
	assert.InDelta(t, 540, p.JoulesPerSuccessfulQuery, 1e-6)
	assert.InDelta(t, 0.54, p.JoulesPerInputToken, 1e-9)
	assert.InDelta(t, 2.7, p.JoulesPerOutputToken, 1e-9)
	assert.InDelta(t, 5400.0/12000, p.JoulesPerTotalToken, 1e-9)
	assert.Equal(t, 2.5, v.PerGPUMaxSampleGapS["0"])
}

func TestValidityChecks(t *testing.T) {
	t.Parallel()
	flat := func(int, float64) float64 { return 500 }
	with := func(rs []reading, extra ...reading) []reading { return append(rs, extra...) }
	drop := func(rs []reading, keep func(reading) bool) []reading {
		var out []reading
		for _, r := range rs {
			if keep(r) {
				out = append(out, r)
			}
		}
		return out
	}
	for _, tt := range []struct {
		name    string
		csv     string
		topo    Topology
		reasons []string
		issues  map[string][]string
	}{
		{"a clean stream", nvidiaCSV(every(-1, 11, 1, 2, flat), false), Topology{GPUs: 2}, nil, nil},
		{"fewer GPUs than the row uses", nvidiaCSV(every(-1, 11, 1, 2, flat), false), Topology{GPUs: 4},
			[]string{"expected_gpu_count_mismatch"}, nil},
		{"a GPU that joins after the window opened",
			nvidiaCSV(drop(every(-1, 11, 1, 2, flat), func(r reading) bool { return r.gpu == 0 || r.t > 0.5 }), false), Topology{GPUs: 2},
			[]string{"benchmark_window_not_bracketed"}, map[string][]string{"1": {"benchmark_window_not_bracketed"}}},
		{"an 8-second gap in the samples",
			nvidiaCSV(drop(every(-1, 11, 1, 1, flat), func(r reading) bool { return r.t < 2 || r.t > 9 }), false), Topology{GPUs: 1},
			[]string{"sampling_gap_exceeded"}, map[string][]string{"0": {"sampling_gap_exceeded"}}},
		{"one sample only", nvidiaCSV(every(5, 5, 1, 1, flat), false), Topology{GPUs: 1},
			[]string{"insufficient_power_samples"}, map[string][]string{"0": {"insufficient_power_samples"}}},
		{"garbage inside the window", nvidiaCSV(every(-1, 11, 1, 1, flat), false) + "@@@ garbage @@@\n", Topology{GPUs: 1},
			[]string{"invalid_timestamp_sample"}, nil},
		{"[N/A] power inside the window", nvidiaCSV(every(-1, 11, 1, 1, flat), false) + nvTS(base+5.5) + ", 0, [N/A], 61, 1980 MHz, 2619 MHz, 97 %, 43 %\n",
			Topology{GPUs: 1}, []string{"invalid_power_sample"}, nil},
		{"bad lines long before the window do not matter",
			nvidiaCSV(with(every(-1, 11, 1, 1, flat), reading{t: -100, w: -1}), false) + nvTS(base+100) + ", 0, [N/A], 61, 1980 MHz, 2619 MHz, 97 %, 43 %\n",
			Topology{GPUs: 1}, nil, nil},
		{"a reading no board can draw", nvidiaCSV(with(every(-1, 11, 1, 1, flat), reading{t: 5.5, w: 90000}), false), Topology{GPUs: 1},
			[]string{"implausible_power_sample"}, nil},
		{"no header at all", "0, 500 W\n1, 500 W\n", Topology{GPUs: 1},
			[]string{"timestamp_column_missing", "power_column_missing", "gpu_identity_column_missing"}, nil},
		{"empty file", "", Topology{GPUs: 1}, []string{"telemetry_file_empty"}, nil},
		{"no samples near the window", nvidiaCSV(every(-500, -400, 1, 1, flat), false), Topology{GPUs: 1}, []string{"no_usable_power_samples"}, nil},
	} {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			v := compute(t, tt.csv, bench(0, 10), tt.topo)
			assert.Equal(t, append([]string{}, tt.reasons...), v.Reasons)
			assert.Equal(t, len(tt.reasons) == 0, v.PowerValid)
			if tt.issues != nil {
				assert.Equal(t, tt.issues, v.DeviceIssues)
			}
			p := v.Agg()
			assert.Equal(t, result.PowerMetricSchema, p.SchemaVersion)
			assert.Equal(t, v.PowerValid, p.Valid)
			if !v.PowerValid {
				assert.Zero(t, p.TotalGPUEnergyJ, "an invalid point publishes no energy")
				assert.Empty(t, v.Metrics)
			}
		})
	}
}

func TestMissingFileAndBrokenTool(t *testing.T) {
	t.Parallel()
	v := Compute(Input{Bench: bench(0, 10), Sampler: &telemetry.Summary{Problem: telemetry.ProblemMissing, Message: "nvidia-smi could not be run"}}, Options{})
	assert.Equal(t, []string{telemetry.ProblemMissing, "telemetry_file_missing"}, v.Reasons)
	assert.Contains(t, v.Warnings, "nvidia-smi could not be run")
}

// amdCounter is a GPU drawing watts(t) with an energy accumulator that integrates it
// exactly (at 1 ms steps), starting from e0.
func amdCounter(t0, t1 float64, gpus int, e0 float64, watts func(g int, t float64) float64) []reading {
	var rs []reading
	for g := range gpus {
		e := e0 * float64(g+1)
		for s := t0; s <= t1+1e-9; s++ {
			rs = append(rs, reading{t: s, gpu: g, w: math.Round(watts(g, s)), instant: math.NaN(), energyJ: e})
			for k := range 1000 {
				e += watts(g, s+(float64(k)+0.5)/1000) / 1000
			}
		}
	}
	return rs
}

func TestEnergyCounterIsPreferredAndComparedWithIntegration(t *testing.T) {
	t.Parallel()
	// A load that ramps up over the window: 1 Hz power samples miss the curvature, the
	// accumulator does not. Exact energy per GPU over [0.4, 20.6]: ∫(300 + t²) dt.
	watts := func(g int, tt float64) float64 { return 300 + tt*tt }
	exact := (300*20.6 + math.Pow(20.6, 3)/3) - (300*0.4 + math.Pow(0.4, 3)/3)
	v := compute(t, amdCSV(amdCounter(-2, 23, 2, 178319501.682, watts)), bench(0.4, 20.6), Topology{GPUs: 2})
	require.True(t, v.PowerValid, "reasons %v", v.Reasons)
	src := v.EnergySources
	assert.Equal(t, SourceCounter, src.Selected)
	require.NotNil(t, src.CounterJ)
	require.NotNil(t, src.IntegratedJ)
	assert.InEpsilon(t, 2*exact, *src.CounterJ, 1e-3, "the counter gives the exact energy")
	assert.InEpsilon(t, 2*exact, v.Agg().TotalGPUEnergyJ, 1e-3)
	require.NotNil(t, src.RelativeDifference)
	assert.InDelta(t, math.Abs(*src.IntegratedJ-*src.CounterJ) / *src.CounterJ, *src.RelativeDifference, 1e-12)
	ac := v.AccumulatorCheck
	require.NotNil(t, ac)
	assert.True(t, ac.Available)
	assert.True(t, ac.WithinTolerance)
	assert.Equal(t, []string{"0", "1"}, ac.IntegratedGPUIDs)
	assert.Empty(t, ac.NegativeDeltaGPUs)
	assert.Equal(t, "benchmark_window", ac.Span)
}

func TestCounterResetOrWrapIsBridged(t *testing.T) {
	t.Parallel()
	for _, tt := range []struct {
		name  string
		after func(e float64) float64 // the counter after the event
	}{
		{"reset to zero (driver reload)", func(e float64) float64 { return e - 178319501.682 }},
		{"wrap of a 32-bit accumulator in 15.3 µJ units", func(e float64) float64 { return math.Mod(e, 65708.0) }},
	} {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			flat := func(int, float64) float64 { return 700 }
			rs := amdCounter(-2, 13, 1, 178319501.682, flat)
			for i := range rs {
				if rs[i].t >= 6 { // the counter jumps down between t=5 and t=6
					rs[i].energyJ = tt.after(rs[i].energyJ)
				}
			}
			v := compute(t, amdCSV(rs), bench(0.5, 10.5), Topology{GPUs: 1})
			require.True(t, v.PowerValid, "reasons %v", v.Reasons)
			assert.Equal(t, SourceCounter, v.EnergySources.Selected)
			assert.InEpsilon(t, 7000, v.Agg().TotalGPUEnergyJ, 1e-3, "the one second across the jump comes from the power samples")
			assert.Equal(t, map[string]int{"0": 1}, v.AccumulatorCheck.CounterResetsBridged)
			assert.Equal(t, []string{"0"}, v.AccumulatorCheck.NegativeDeltaGPUs)
			assert.False(t, v.AccumulatorCheck.WithinTolerance, "a bridged counter is not a clean cross-check")
		})
	}
}

func TestCounterThatMissesAnEdgeFallsBackToIntegration(t *testing.T) {
	t.Parallel()
	rs := amdCounter(-2, 13, 1, 1000, func(int, float64) float64 { return 600 })
	for i := range rs {
		if rs[i].t > 8 {
			rs[i].energyJ = math.NaN() // the accumulator went N/A
		}
	}
	v := compute(t, amdCSV(rs), bench(0.5, 10.5), Topology{GPUs: 1})
	require.True(t, v.PowerValid, "reasons %v", v.Reasons)
	assert.Equal(t, SourceIntegrated, v.EnergySources.Selected)
	assert.Nil(t, v.EnergySources.CounterJ)
	assert.NotEmpty(t, v.EnergySources.CounterUnavailable)
	assert.InDelta(t, 6000, v.Agg().TotalGPUEnergyJ, 1e-6)
}

func TestInstantPowerIsPreferredOverAveragedPower(t *testing.T) {
	t.Parallel()
	rs := every(-1, 11, 0.1, 1, func(int, float64) float64 { return 500 })
	for i := range rs {
		rs[i].instant = 520
	}
	v := compute(t, nvidiaCSV(rs, true), bench(0, 10), Topology{GPUs: 1})
	require.True(t, v.PowerValid, "reasons %v", v.Reasons)
	assert.Equal(t, SourceInstant, v.EnergySources.Selected)
	assert.InDelta(t, 5200, v.Agg().TotalGPUEnergyJ, 1e-6)
	assert.InDelta(t, 5000, *v.EnergySources.IntegratedJ, 1e-6)
}

func TestDisaggregatedRoles(t *testing.T) {
	t.Parallel()
	// Two nodes through srun --label: node 0 prefill (2 GPUs at 300 W), node 1 decode
	// (2 GPUs at 600 W); the file carries the node column.
	var b strings.Builder
	b.WriteString("timestamp, index, power.draw [W], host_time_unix, node\n")
	for s := -1.0; s <= 11; s += 0.5 {
		for node, w := range []float64{300, 600} {
			for g := range 2 {
				fmt.Fprintf(&b, "%s, %d, %.1f W, %.6f, %d\n", nvTS(base+s), g, w, base+s, node)
			}
		}
	}
	topo := Topology{GPUs: 4, PrefillGPUs: 2, DecodeGPUs: 2, Role: func(node, _ string) string {
		if node == "0" {
			return "prefill"
		}
		return "decode"
	}}
	v := compute(t, b.String(), bench(0, 10), topo)
	require.True(t, v.PowerValid, "reasons %v", v.Reasons)
	assert.Equal(t, []string{"0/0", "0/1", "1/0", "1/1"}, v.ObservedGPUIDs)
	assert.Equal(t, "decode", v.PerGPURole["1/0"])
	r := v.Agg().Roles
	require.NotNil(t, r)
	assert.InDelta(t, 6000, *r.PrefillGPUEnergyJ, 1e-6)
	assert.InDelta(t, 12000, *r.DecodeGPUEnergyJ, 1e-6)
	assert.InDelta(t, 300, *r.PrefillAvgPowerW, 1e-6)
	assert.InDelta(t, 600, *r.DecodeAvgPowerW, 1e-6)
	assert.InDelta(t, 0.6, *r.PrefillJoulesPerInputToken, 1e-9)
	assert.InDelta(t, 6, *r.DecodeJoulesPerOutputToken, 1e-9)
	assert.InDelta(t, 18000, v.Agg().TotalGPUEnergyJ, 1e-6, "unprefixed fields are the whole deployment")

	wrong := topo
	wrong.PrefillGPUs, wrong.DecodeGPUs = 1, 3
	assert.Contains(t, compute(t, b.String(), bench(0, 10), wrong).Reasons, "role_gpu_count_mismatch")
}

func TestBenchmarkFromRaw(t *testing.T) {
	t.Parallel()
	ok := func() *result.Raw {
		return &result.Raw{Duration: 10, Completed: 10, TotalInputTokens: 100, TotalOutputTokens: 50,
			Ext: &result.RawExt{StartUnix: base, EndUnix: base + 10}}
	}
	for _, tt := range []struct {
		name string
		mod  func(r *result.Raw)
		want []string
	}{
		{"valid", func(*result.Raw) {}, nil},
		{"written by the reference client (no window)", func(r *result.Raw) { r.Ext = nil }, []string{"invalid_benchmark_window"}},
		{"end before start", func(r *result.Raw) { r.Ext.EndUnix = base - 1 }, []string{"invalid_benchmark_window"}},
		{"duration disagrees with the window", func(r *result.Raw) { r.Duration = 12 }, []string{"benchmark_duration_mismatch"}},
		{"nothing completed", func(r *result.Raw) { r.Completed = 0 }, []string{"invalid_successful_query_count"}},
		{"no tokens", func(r *result.Raw) { r.TotalInputTokens, r.TotalOutputTokens = 0, 0 },
			[]string{"invalid_input_token_count", "invalid_output_token_count"}},
	} {
		r := ok()
		tt.mod(r)
		_, got := BenchmarkFromRaw(r)
		assert.Equal(t, tt.want, got, tt.name)
	}
}

func TestNoDuplicateTimestampsInflateEnergy(t *testing.T) {
	t.Parallel()
	// Some tool versions stamp coarser than they sample: readings sharing a stamp are
	// averaged, not counted twice.
	rs := every(-1, 11, 1, 1, func(int, float64) float64 { return 400 })
	for _, r := range every(-1, 11, 1, 1, func(int, float64) float64 { return 600 }) {
		rs = append(rs, r)
	}
	v := compute(t, nvidiaCSV(rs, false), bench(0, 10), Topology{GPUs: 1})
	require.True(t, v.PowerValid)
	assert.InDelta(t, 5000, v.Agg().TotalGPUEnergyJ, 1e-6)
}
