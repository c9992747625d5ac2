package report

import (
	"bytes"
	"flag"
	"os"
	"path/filepath"
	"testing"
)

var update = flag.Bool("update", false, "rewrite the golden files under testdata/golden")

// golden compares got with testdata/golden/<name>, or rewrites it with -update.
func golden(t *testing.T, name string, got []byte) {
	t.Helper()
	path := filepath.Join("testdata", "golden", name)
	if *update {
		if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(path, got, 0o644); err != nil {
			t.Fatal(err)
		}
		return
	}
	want, err := os.ReadFile(path)
	if err != nil {
		t.Fatalf("%v (run with -update to create it)", err)
	}
	if !bytes.Equal(got, want) {
		t.Errorf("%s differs from the golden file (run with -update after checking the diff)\n--- got ---\n%s", name, clip(got, 4000))
	}
}

func clip(b []byte, n int) string {
	if len(b) > n {
		return string(b[:n]) + "\n..."
	}
	return string(b)
}

// fixtureResults is how many results testdata/sweep holds: the 16 points of oldJobs
// (fixture_regen_test.go) less the one whose load failed (its agg file is in the fixture,
// as agent run writes it, and must be left out).
const fixtureResults = 15

func scanFixture(t *testing.T, dir string) *Sweep {
	t.Helper()
	s, err := Scan(os.DirFS("testdata"), dir)
	if err != nil {
		t.Fatal(err)
	}
	if len(s.Problems) > 0 {
		t.Fatalf("fixture %s has problems: %v", dir, s.Problems)
	}
	return s
}

func TestGoldenAggBmk(t *testing.T) {
	s := scanFixture(t, "sweep")
	if got, want := len(s.Records), fixtureResults; got != want {
		t.Fatalf("records = %d, want %d (every point but the failed one)", got, want)
	}
	var b bytes.Buffer
	if err := WriteAggJSON(&b, s.Records); err != nil {
		t.Fatal(err)
	}
	golden(t, "agg_bmk.json", b.Bytes())
}

func TestGoldenSummary(t *testing.T) {
	s := scanFixture(t, "sweep")
	var b bytes.Buffer
	if err := WriteMarkdown(&b, s.Records); err != nil {
		t.Fatal(err)
	}
	if err := WriteSuccessRate(&b, RunStats(s.Statuses, DefaultSKUs), s.Statuses); err != nil {
		t.Fatal(err)
	}
	golden(t, "summary.md", b.Bytes())
}

func TestGoldenRunStats(t *testing.T) {
	s := scanFixture(t, "sweep")
	var b bytes.Buffer
	if err := WriteRunStats(&b, RunStats(s.Statuses, DefaultSKUs)); err != nil {
		t.Fatal(err)
	}
	golden(t, "run_stats.json", b.Bytes())
}

func TestGoldenCompare(t *testing.T) {
	oldS, newS := scanFixture(t, "sweep"), scanFixture(t, "sweep-new")
	c := Compare(oldS.Records, newS.Records, CompareOptions{Threshold: 5})
	// sweep-new served h200 with an engine 30 % slower per token: every h200 row must show
	// the throughput regression, and no other row may regress on a median or on
	// throughput. (A tail latency of 32 requests may move on its own: one stalled request
	// on a loaded machine is the p99; compare's TTFT p99 floor is wider for that reason.)
	steady := map[string]bool{"TPUT/GPU": true, "Interactivity": true, "TPOT p50": true, "E2EL p50": true}
	h200 := 0
	for _, r := range c.Rows {
		for i, d := range r.Deltas {
			m := CompareMetrics[i]
			switch {
			case r.Ref.HW == "h200-sim" && m.Label == "TPUT/GPU":
				h200++
				if d.Verdict != Regression {
					t.Errorf("planted h200 slowdown not flagged on %s: %+v", r.Key, d)
				}
			case r.Ref.HW != "h200-sim" && steady[m.Label] && d.Verdict == Regression:
				t.Errorf("false %s regression on %s: %+v", m.Label, r.Key, d)
			}
		}
	}
	if h200 != 6 {
		t.Errorf("%d h200 rows joined, want 6", h200)
	}
	if len(c.OnlyOld) != 3 || len(c.OnlyNew) != 0 {
		t.Errorf("only in old %v, only in new %v: want the dropped h100 trt conc 4 and the two 1k8k points", c.OnlyOld, c.OnlyNew)
	}
	var b bytes.Buffer
	if err := c.Write(&b); err != nil {
		t.Fatal(err)
	}
	golden(t, "compare.md", b.Bytes())
}
