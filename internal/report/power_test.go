package report

import (
	"bytes"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

const aggHead = `{"hw": "h100", "conc": 8, "model": "m", "infmax_model_prefix": "gptoss", "framework": "vllm", "precision": "fp4",
 "isl": 1024, "osl": 1024, "tp": 2, "ep": 1, "dp_attention": "false", "tput_per_gpu": 100.0, "output_tput_per_gpu": 50.0,
 "input_tput_per_gpu": 50.0, "median_ttft": 0.1, "median_tpot": 0.01, "median_intvty": 100.0, "median_e2el": 10.0`

func TestDecodeRecordPowerFields(t *testing.T) {
	t.Parallel()
	for _, tt := range []struct {
		name   string
		tail   string
		want   map[string]float64
		absent []string
	}{
		{"valid power", `, "power_metric_schema_version": 2, "power_valid": 1, "avg_power_w": 612.5, "total_gpu_energy_j": 12250.0, "joules_per_output_token": 0.15}`,
			map[string]float64{"power_valid": 1, "avg_power_w": 612.5, "total_gpu_energy_j": 12250, "joules_per_output_token": 0.15}, nil},
		{"invalid power publishes nothing, even a stale field", `, "power_metric_schema_version": 2, "power_valid": 0, "avg_power_w": 612.5}`,
			map[string]float64{"power_valid": 0}, []string{"avg_power_w"}},
		{"a record from before power was measured", `}`, map[string]float64{}, []string{"power_valid", "avg_power_w"}},
	} {
		t.Run(tt.name, func(t *testing.T) {
			r, err := DecodeRecord([]byte(aggHead+tt.tail), "x.json")
			require.NoError(t, err)
			for k, v := range tt.want {
				got, ok := r.Metric(k)
				assert.True(t, ok, k)
				assert.Equal(t, v, got, k)
			}
			for _, k := range tt.absent {
				_, ok := r.Metric(k)
				assert.False(t, ok, k)
			}
		})
	}
	_, err := DecodeRecord([]byte(aggHead+`, "power_valid": 1, "joules_per_output_token": "a lot"}`), "x.json")
	assert.ErrorContains(t, err, "joules_per_output_token: want a number")
}

// withPower gives fixture records a power measurement: watts per GPU and joules per output
// token, as agent run writes them.
func withPower(rs []Record, watts func(Record) float64) []Record {
	out := make([]Record, len(rs))
	for i, r := range rs {
		r.Metrics = cloneMetrics(r.Metrics)
		w := watts(r)
		r.Metrics["power_valid"] = 1
		r.Metrics["avg_power_w"] = w
		r.Metrics["joules_per_output_token"] = w * float64(r.GPUs()) / (r.OutputTputPerGPU * float64(r.GPUs()))
		out[i] = r
	}
	return out
}

func cloneMetrics(m map[string]float64) map[string]float64 {
	c := make(map[string]float64, len(m)+3)
	for k, v := range m {
		c[k] = v
	}
	return c
}

func flat(w float64) func(Record) float64 { return func(Record) float64 { return w } }

func TestSummaryShowsPowerWhenMeasured(t *testing.T) {
	t.Parallel()
	s := scanFixture(t, "sweep")
	var plain, powered bytes.Buffer
	require.NoError(t, WriteMarkdown(&plain, s.Records))
	require.NoError(t, WriteMarkdown(&powered, withPower(s.Records, flat(500))))
	assert.NotContains(t, plain.String(), "Power per GPU", "a sweep without power keeps its columns")
	assert.Contains(t, powered.String(), "| Power per GPU (W) | Energy (J/output tok) |")
	assert.Contains(t, powered.String(), " 500.0000 | ")
}

func TestCompareFlagsEnergyRegressions(t *testing.T) {
	t.Parallel()
	s := scanFixture(t, "sweep")
	old := withPower(s.Records, flat(500))
	for _, tt := range []struct {
		name  string
		watts float64
		want  Verdict
	}{
		{"the same draw", 500, Same},
		{"3 % more: board power noise", 515, Same},
		{"20 % more energy per token", 600, Regression},
		{"20 % less", 400, Improvement},
	} {
		t.Run(tt.name, func(t *testing.T) {
			c := Compare(old, withPower(s.Records, flat(tt.watts)), CompareOptions{Threshold: 5})
			require.Len(t, c.Metrics, len(CompareMetrics)+len(EnergyMetrics))
			j := len(CompareMetrics) // J/output tok
			for _, r := range c.Rows {
				assert.Equal(t, tt.want, r.Deltas[j].Verdict, "%s: %+v", r.Key, r.Deltas[j])
			}
			var b bytes.Buffer
			require.NoError(t, c.Write(&b))
			assert.Contains(t, b.String(), "J/output tok")
			if tt.want == Regression {
				assert.Equal(t, len(c.Rows), c.Regressions)
				assert.Contains(t, b.String(), "J/output tok 0.227 → 0.273 J (+20.0%, ±5.0%)")
			}
		})
	}
	// One side without power: the energy column says n/a and flags nothing.
	c := Compare(s.Records, withPower(s.Records, flat(900)), CompareOptions{Threshold: 5})
	assert.Zero(t, c.Regressions)
	assert.Equal(t, Missing, c.Rows[0].Deltas[len(CompareMetrics)].Verdict)
	// Neither side: the comparison is what it always was.
	assert.Len(t, Compare(s.Records, s.Records, CompareOptions{}).Metrics, len(CompareMetrics))
}

func TestBrowserEnergyCharts(t *testing.T) {
	t.Parallel()
	bin := findChromium(t)
	s := scanFixture(t, "sweep")
	// h200 draws more per GPU than h100 here, so the two hardware series differ.
	recs := withPower(s.Records, func(r Record) float64 {
		if strings.HasPrefix(r.HW, "h200") {
			return 650
		}
		return 480
	})
	dir := t.TempDir()
	d := loadDOM(t, bin, "file://"+writeReport(t, dir, HTMLInput{Records: recs, Statuses: s.Statuses})+"#model=gptoss&seq=1k1k")
	for _, id := range []string{"chart-energy", "chart-tpj"} {
		assert.Equal(t, 12, d.chartPts[id], "%s shows every point of the view", id)
		assert.NotContains(t, d.html, `id="`+id+`" hidden`)
	}
	assert.Contains(t, d.html, "<th>Energy (J/output tok)</th>")

	plain := loadDOM(t, bin, "file://"+writeReport(t, t.TempDir(), HTMLInput{Records: s.Records})+"#model=gptoss&seq=1k1k")
	assert.Contains(t, plain.html, `id="chart-energy" hidden=""`, "a report without power has no energy charts")
	assert.NotContains(t, plain.html, "Energy (J/output tok)</th>")
	shot := artifactDir(t) + "/report-energy.png"
	chromium(t, bin, "--hide-scrollbars", "--window-size=1400,2300", "--screenshot="+shot, "file://"+dir+"/report.html#model=gptoss&seq=1k1k")
}
