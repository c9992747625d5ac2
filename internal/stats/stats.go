// Package stats holds the pure numerics behind benchmark results: mean, population standard
// deviation and percentiles with NumPy's default (linear interpolation) semantics, so our
// numbers match the reference client's. Every function returns 0 for an empty sample, as the
// reference does (docs/measurement.md#statistics).
package stats

import (
	"math"
	"slices"
)

// Mean is the arithmetic mean of xs, or 0 when xs is empty.
func Mean(xs []float64) float64 {
	if len(xs) == 0 {
		return 0
	}
	var s float64
	for _, x := range xs {
		s += x
	}
	return s / float64(len(xs))
}

// Std is the population standard deviation (NumPy ddof=0), or 0 when xs is empty.
func Std(xs []float64) float64 {
	if len(xs) == 0 {
		return 0
	}
	m := Mean(xs)
	var s float64
	for _, x := range xs {
		d := x - m
		s += d * d
	}
	return math.Sqrt(s / float64(len(xs)))
}

// Median is the 50th percentile.
func Median(xs []float64) float64 { return Percentile(xs, 50) }

// Percentile returns the p-th percentile (0..100) of xs using linear interpolation between
// the closest ranks, numpy.percentile's default. xs need not be sorted and is not modified.
func Percentile(xs []float64, p float64) float64 {
	if len(xs) == 0 {
		return 0
	}
	s := slices.Clone(xs)
	slices.Sort(s)
	return SortedPercentile(s, p)
}

// SortedPercentile is Percentile for an already ascending-sorted sample; use it to take many
// percentiles of one large sample without sorting it each time.
func SortedPercentile(sorted []float64, p float64) float64 {
	n := len(sorted)
	if n == 0 {
		return 0
	}
	p = min(max(p, 0), 100)
	rank := p / 100 * float64(n-1)
	lo := int(math.Floor(rank))
	hi := int(math.Ceil(rank))
	if lo == hi {
		return sorted[lo]
	}
	frac := rank - float64(lo)
	// NumPy's _lerp form, which keeps results inside [a, b] and exact at the ends.
	a, b := sorted[lo], sorted[hi]
	d := b - a
	if frac >= 0.5 {
		return b - d*(1-frac)
	}
	return a + d*frac
}

// Summary is the statistics the result JSON reports for one metric.
type Summary struct {
	Mean, Median, Std float64
	// Percentiles holds one value per requested percentile, in the order requested.
	Percentiles []float64
}

// Summarize computes mean, median, std and the given percentiles of xs in one sort.
func Summarize(xs []float64, percentiles []float64) Summary {
	s := Summary{Percentiles: make([]float64, len(percentiles))}
	if len(xs) == 0 {
		return s
	}
	sorted := slices.Clone(xs)
	slices.Sort(sorted)
	s.Mean = Mean(sorted)
	s.Std = Std(sorted)
	s.Median = SortedPercentile(sorted, 50)
	for i, p := range percentiles {
		s.Percentiles[i] = SortedPercentile(sorted, p)
	}
	return s
}

// Scale multiplies every statistic by f (e.g. seconds → milliseconds).
func (s Summary) Scale(f float64) Summary {
	out := Summary{Mean: s.Mean * f, Median: s.Median * f, Std: s.Std * f, Percentiles: make([]float64, len(s.Percentiles))}
	for i, v := range s.Percentiles {
		out.Percentiles[i] = v * f
	}
	return out
}
