package report

import (
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// pt is a record with the metrics compare reads, all scaled from one "speed".
func pt(hw string, conc int, tput, ttftS, tpotS float64) Record {
	r := rec(hw, "sglang", "fp8", "dsr1", 1024, 1024, 8, conc, tput)
	r.Metrics = map[string]float64{"median_intvty": 1 / tpotS, "median_ttft": ttftS, "p99_ttft": 2 * ttftS,
		"median_tpot": tpotS, "median_e2el": ttftS + 1024*tpotS, "completed": 5000}
	return r
}

// fewRequests is pt measured over only 32 requests: its p99 is the maximum.
func fewRequests(r Record) Record {
	r.Metrics["completed"] = 32
	return r
}

func verdictOf(t *testing.T, c Comparison, metric string) Verdict {
	t.Helper()
	require.Len(t, c.Rows, 1)
	for i, m := range CompareMetrics {
		if m.Key == metric {
			return c.Rows[0].Deltas[i].Verdict
		}
	}
	require.FailNowf(t, "no such metric", "metric %s", metric)
	return Same
}

func TestCompareVerdicts(t *testing.T) {
	t.Parallel()
	base := pt("b200", 4, 100, 0.1, 0.02)
	tests := []struct {
		name   string
		old    []Record
		new    []Record
		metric string
		want   Verdict
	}{
		{"throughput down 10% is a regression", []Record{base}, []Record{pt("b200", 4, 90, 0.1, 0.02)}, "tput_per_gpu", Regression},
		{"throughput down 4% is noise", []Record{base}, []Record{pt("b200", 4, 96, 0.1, 0.02)}, "tput_per_gpu", Same},
		{"throughput up 10% is an improvement", []Record{base}, []Record{pt("b200", 4, 110, 0.1, 0.02)}, "tput_per_gpu", Improvement},
		{"tpot up 10% is a regression", []Record{base}, []Record{pt("b200", 4, 100, 0.1, 0.022)}, "median_tpot", Regression},
		{"interactivity falls with tpot", []Record{base}, []Record{pt("b200", 4, 100, 0.1, 0.022)}, "median_intvty", Regression},
		{"ttft up 8% is under its 10% floor", []Record{base}, []Record{pt("b200", 4, 100, 0.108, 0.02)}, "median_ttft", Same},
		{"ttft up 15% is over its floor", []Record{base}, []Record{pt("b200", 4, 100, 0.115, 0.02)}, "median_ttft", Regression},
		{"p99 ttft up 15% is under its 20% floor", []Record{base}, []Record{pt("b200", 4, 100, 0.115, 0.02)}, "p99_ttft", Same},
		{"p99 ttft up 50% over 5000 requests is a regression", []Record{base}, []Record{pt("b200", 4, 100, 0.15, 0.02)}, "p99_ttft", Regression},
		{"p99 ttft up 50% over 32 requests is too few to judge", []Record{fewRequests(pt("b200", 4, 100, 0.1, 0.02))},
			[]Record{fewRequests(pt("b200", 4, 100, 0.15, 0.02))}, "p99_ttft", TooFew},
		{"tiny absolute ttft change ignored", []Record{pt("b200", 4, 100, 0.001, 0.02)}, []Record{pt("b200", 4, 100, 0.0018, 0.02)}, "median_ttft", Same},
		{
			// Repeats that spread ±8 % widen the allowed change, so -10 % on the mean is noise.
			"noisy repeats widen the threshold",
			[]Record{pt("b200", 4, 92, 0.1, 0.02), pt("b200", 4, 108, 0.1, 0.02)},
			[]Record{pt("b200", 4, 90, 0.1, 0.02)}, "tput_per_gpu", Same,
		},
		{
			"quiet repeats keep it tight",
			[]Record{pt("b200", 4, 99.5, 0.1, 0.02), pt("b200", 4, 100.5, 0.1, 0.02)},
			[]Record{pt("b200", 4, 90, 0.1, 0.02)}, "tput_per_gpu", Regression,
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			c := Compare(tt.old, tt.new, CompareOptions{Threshold: 5})
			got := verdictOf(t, c, tt.metric)
			assert.Equal(t, tt.want, got, "verdict %v, want %v (deltas", got, tt.want)
		})
	}
}

func TestCompareJoinsOnConfiguration(t *testing.T) {
	t.Parallel()
	oldRs := []Record{pt("b200", 4, 100, 0.1, 0.02), pt("b200", 16, 200, 0.1, 0.02), pt("h200", 4, 50, 0.1, 0.02)}
	other := pt("b200", 4, 100, 0.1, 0.02)
	other.TP = 4 // another layout is another configuration
	newRs := []Record{pt("b200", 4, 80, 0.1, 0.02), pt("b200", 16, 200, 0.1, 0.02), other}
	c := Compare(oldRs, newRs, CompareOptions{Threshold: 5})
	require.Len(t, c.Rows, 2)
	require.Equal(t, 1, c.Regressions)
	require.Len(t, c.OnlyOld, 1)
	require.Len(t, c.OnlyNew, 1)
	assert.Contains(t, c.OnlyOld[0], "h200")
	assert.Contains(t, c.OnlyNew[0], "tp4")
	var b strings.Builder
	require.NoError(t, c.Write(&b))
	for _, want := range []string{"1 with a regression", "### Regressions", "TPUT/GPU 100.0 → 80.00 tok/s (-20.0%", "### Only in old", "### Only in new"} {
		assert.Contains(t, b.String(), want, "output")
	}
}

func TestCompareMissingMetric(t *testing.T) {
	t.Parallel()
	o := pt("b200", 4, 100, 0.1, 0.02)
	n := pt("b200", 4, 100, 0.1, 0.02)
	delete(n.Metrics, "p99_ttft")
	c := Compare([]Record{o}, []Record{n}, CompareOptions{Threshold: 5})
	assert.Equal(t, Missing, verdictOf(t, c, "p99_ttft"), "verdict")
}

func TestCompareAnyLayoutJoinsBestConfigs(t *testing.T) {
	t.Parallel()
	o := pt("b200", 4, 100, 0.1, 0.02)
	n := pt("b200", 4, 120, 0.1, 0.02)
	n.TP = 4 // the new best layout differs
	assert.Empty(t, Compare([]Record{o}, []Record{n}, CompareOptions{Threshold: 5}).Rows, "layouts joined without AnyLayout")
	c := Compare([]Record{o}, []Record{n}, CompareOptions{Threshold: 5, AnyLayout: true})
	assert.Equal(t, Improvement, verdictOf(t, c, "tput_per_gpu"), "verdict")
}
