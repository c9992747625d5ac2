package report

import (
	"strings"
	"testing"
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
	if len(c.Rows) != 1 {
		t.Fatalf("rows = %d, want 1", len(c.Rows))
	}
	for i, m := range CompareMetrics {
		if m.Key == metric {
			return c.Rows[0].Deltas[i].Verdict
		}
	}
	t.Fatalf("no metric %s", metric)
	return Same
}

func TestCompareVerdicts(t *testing.T) {
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
			if got := verdictOf(t, c, tt.metric); got != tt.want {
				t.Errorf("verdict %v, want %v (deltas %+v)", got, tt.want, c.Rows[0].Deltas)
			}
		})
	}
}

func TestCompareJoinsOnConfiguration(t *testing.T) {
	oldRs := []Record{pt("b200", 4, 100, 0.1, 0.02), pt("b200", 16, 200, 0.1, 0.02), pt("h200", 4, 50, 0.1, 0.02)}
	other := pt("b200", 4, 100, 0.1, 0.02)
	other.TP = 4 // another layout is another configuration
	newRs := []Record{pt("b200", 4, 80, 0.1, 0.02), pt("b200", 16, 200, 0.1, 0.02), other}
	c := Compare(oldRs, newRs, CompareOptions{Threshold: 5})
	if len(c.Rows) != 2 || c.Regressions != 1 || len(c.OnlyOld) != 1 || len(c.OnlyNew) != 1 {
		t.Fatalf("rows %d regressions %d only-old %v only-new %v", len(c.Rows), c.Regressions, c.OnlyOld, c.OnlyNew)
	}
	if !strings.Contains(c.OnlyOld[0], "h200") || !strings.Contains(c.OnlyNew[0], "tp4") {
		t.Errorf("only-old %v only-new %v", c.OnlyOld, c.OnlyNew)
	}
	var b strings.Builder
	if err := c.Write(&b); err != nil {
		t.Fatal(err)
	}
	for _, want := range []string{"1 with a regression", "### Regressions", "TPUT/GPU 100.0 → 80.00 tok/s (-20.0%", "### Only in old", "### Only in new"} {
		if !strings.Contains(b.String(), want) {
			t.Errorf("output lacks %q:\n%s", want, b.String())
		}
	}
}

func TestCompareMissingMetric(t *testing.T) {
	o := pt("b200", 4, 100, 0.1, 0.02)
	n := pt("b200", 4, 100, 0.1, 0.02)
	delete(n.Metrics, "p99_ttft")
	c := Compare([]Record{o}, []Record{n}, CompareOptions{Threshold: 5})
	if got := verdictOf(t, c, "p99_ttft"); got != Missing {
		t.Errorf("verdict %v, want Missing", got)
	}
}

func TestCompareAnyLayoutJoinsBestConfigs(t *testing.T) {
	o := pt("b200", 4, 100, 0.1, 0.02)
	n := pt("b200", 4, 120, 0.1, 0.02)
	n.TP = 4 // the new best layout differs
	if c := Compare([]Record{o}, []Record{n}, CompareOptions{Threshold: 5}); len(c.Rows) != 0 {
		t.Errorf("layouts joined without AnyLayout")
	}
	c := Compare([]Record{o}, []Record{n}, CompareOptions{Threshold: 5, AnyLayout: true})
	if got := verdictOf(t, c, "tput_per_gpu"); got != Improvement {
		t.Errorf("verdict %v, want Improvement", got)
	}
}
