package stats

import (
	"math"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	_ "github.com/inferbench/inferbench/internal/testkit" // defines -update, so `go test ./... -update` runs here too
)

func TestStats(t *testing.T) {
	t.Parallel()
	// Expected values computed with numpy 1.26: np.mean, np.std (ddof=0), np.percentile.
	tests := []struct {
		name                     string
		xs                       []float64
		mean, std, med           float64
		p90, p99, p999, p0, p100 float64
	}{
		{"empty", nil, 0, 0, 0, 0, 0, 0, 0, 0},
		{"one", []float64{3}, 3, 0, 3, 3, 3, 3, 3, 3},
		{"two", []float64{1, 2}, 1.5, 0.5, 1.5, 1.9, 1.99, 1.999, 1, 2},
		{"unsorted", []float64{4, 1, 3, 2}, 2.5, math.Sqrt(1.25), 2.5, 3.7, 3.97, 3.997, 1, 4},
		{"ten", []float64{10, 9, 8, 7, 6, 5, 4, 3, 2, 1}, 5.5, math.Sqrt(8.25), 5.5, 9.1, 9.91, 9.991, 1, 10},
	}
	near := func(a, b float64) bool { return math.Abs(a-b) < 1e-9 }
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			checks := []struct {
				what      string
				got, want float64
			}{
				{"mean", Mean(tc.xs), tc.mean},
				{"std", Std(tc.xs), tc.std},
				{"median", Median(tc.xs), tc.med},
				{"p90", Percentile(tc.xs, 90), tc.p90},
				{"p99", Percentile(tc.xs, 99), tc.p99},
				{"p99.9", Percentile(tc.xs, 99.9), tc.p999},
				{"p0", Percentile(tc.xs, 0), tc.p0},
				{"p100", Percentile(tc.xs, 100), tc.p100},
			}
			for _, c := range checks {
				assert.True(t, near(c.got, c.want), "%s = %v, want %v", c.what, c.got, c.want)
			}
			s := Summarize(tc.xs, []float64{90, 99, 99.9})
			assert.True(t, near(s.Mean, tc.mean), "Summarize = %+v", s)
			assert.True(t, near(s.Std, tc.std), "Summarize = %+v", s)
			assert.True(t, near(s.Median, tc.med), "Summarize = %+v", s)
			assert.True(t, near(s.Percentiles[0], tc.p90), "Summarize = %+v", s)
			assert.True(t, near(s.Percentiles[1], tc.p99), "Summarize = %+v", s)
			assert.True(t, near(s.Percentiles[2], tc.p999), "Summarize = %+v", s)
		})
	}
}

func TestPercentileDoesNotModifyInput(t *testing.T) {
	t.Parallel()
	xs := []float64{3, 1, 2}
	Percentile(xs, 50)
	require.Equal(t, float64(3), xs[0], "input modified")
	require.Equal(t, float64(1), xs[1], "input modified")
	require.Equal(t, float64(2), xs[2], "input modified")
}

func TestScale(t *testing.T) {
	t.Parallel()
	s := Summary{Mean: 1, Median: 2, Std: 3, Percentiles: []float64{4}}.Scale(1000)
	require.Equal(t, float64(1000), s.Mean, "Scale")
	require.Equal(t, float64(2000), s.Median, "Scale")
	require.Equal(t, float64(3000), s.Std, "Scale")
	require.Equal(t, float64(4000), s.Percentiles[0], "Scale")
}
