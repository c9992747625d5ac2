package report

import (
	"bytes"
	"os"
	"path/filepath"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/inferbench/inferbench/internal/testkit"
)

// golden compares got with testdata/golden/<name> (rewritten with -update).
func golden(t *testing.T, name string, got []byte) {
	t.Helper()
	testkit.Golden(t, filepath.Join("testdata", "golden", name), got)
}

// fixtureResults is how many results testdata/sweep holds: the 16 points of oldJobs
// (fixture_regen_test.go) less the one whose load failed (its agg file is in the fixture,
// as agent run writes it, and must be left out).
const fixtureResults = 15

func scanFixture(t *testing.T, dir string) *Sweep {
	t.Helper()
	s, err := Scan(os.DirFS("testdata"), dir)
	require.NoError(t, err)
	require.Empty(t, s.Problems, "fixture %s has problems", dir)
	return s
}

func TestGoldenAggBmk(t *testing.T) {
	t.Parallel()
	s := scanFixture(t, "sweep")
	got, want := len(s.Records), fixtureResults
	require.Equal(t, want, got, "records = %d, want %d (every point but the failed one)", got, want)
	var b bytes.Buffer
	require.NoError(t, WriteAggJSON(&b, s.Records))
	golden(t, "agg_bmk.json", b.Bytes())
}

func TestGoldenSummary(t *testing.T) {
	t.Parallel()
	s := scanFixture(t, "sweep")
	var b bytes.Buffer
	require.NoError(t, WriteMarkdown(&b, s.Records))
	require.NoError(t, WriteSuccessRate(&b, RunStats(s.Statuses, DefaultSKUs), s.Statuses))
	golden(t, "summary.md", b.Bytes())
}

func TestGoldenRunStats(t *testing.T) {
	t.Parallel()
	s := scanFixture(t, "sweep")
	var b bytes.Buffer
	require.NoError(t, WriteRunStats(&b, RunStats(s.Statuses, DefaultSKUs)))
	golden(t, "run_stats.json", b.Bytes())
}

func TestGoldenCompare(t *testing.T) {
	t.Parallel()
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
				assert.Equal(t, Regression, d.Verdict, "planted h200 slowdown not flagged on %s", r.Key)
			case r.Ref.HW != "h200-sim" && steady[m.Label]:
				assert.NotEqual(t, Regression, d.Verdict, "false %s regression on %s: %+v", m.Label, r.Key, d)
			}
		}
	}
	assert.Equal(t, 6, h200, "%d h200 rows joined, want 6", h200)
	assert.Len(t, c.OnlyOld, 3, "want the dropped h100 trt conc 4 and the two 1k8k points only in old")
	assert.Empty(t, c.OnlyNew, "nothing only in new")
	var b bytes.Buffer
	require.NoError(t, c.Write(&b))
	golden(t, "compare.md", b.Bytes())
}
