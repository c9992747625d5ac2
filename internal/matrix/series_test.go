package matrix

import (
	"math"
	"testing"

	"github.com/stretchr/testify/assert"
)

func TestSeries(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name             string
		start, end, step int64
		want             []int64
	}{
		{name: "doubling hits the end", start: 4, end: 64, step: 2, want: []int64{4, 8, 16, 32, 64}},
		{name: "end appended after the last step", start: 4, end: 12, step: 2, want: []int64{4, 8, 12}},
		{name: "step 4", start: 3, end: 20, step: 4, want: []int64{3, 12, 20}},
		{name: "step 3", start: 4, end: 64, step: 3, want: []int64{4, 12, 36, 64}},
		{name: "odd start", start: 5, end: 64, step: 2, want: []int64{5, 10, 20, 40, 64}},
		{name: "start equals end", start: 8, end: 8, step: 2, want: []int64{8}},
		{name: "start above end", start: 9, end: 8, step: 2},
		// The reference hangs or alternates signs on these (docs/generator.md#quirk-step-size,
		// docs/generator.md#quirk-conc-positive).
		{name: "step 1", start: 4, end: 64, step: 1},
		{name: "step 0", start: 4, end: 64, step: 0},
		{name: "negative step", start: 4, end: 64, step: -2},
		{name: "start 0", start: 0, end: 64, step: 2},
		{name: "no overflow near the top of int64", start: math.MaxInt64 / 2, end: math.MaxInt64, step: 3, want: []int64{math.MaxInt64 / 2, math.MaxInt64}},
	}
	for _, tt := range tests {
		assert.Equal(t, tt.want, Series(tt.start, tt.end, tt.step), "%s: Series(%d, %d, %d)", tt.name, tt.start, tt.end, tt.step)
	}
}

func TestSeqLenName(t *testing.T) {
	t.Parallel()
	tests := []struct {
		isl, osl int64
		want     string
	}{
		{isl: 1024, osl: 1024, want: "1k1k"},
		{isl: 1024, osl: 8192, want: "1k8k"},
		{isl: 8192, osl: 1024, want: "8k1k"},
		{isl: 2048, osl: 128, want: "2048_128"},   // no short name: plain numbers
		{isl: 8192, osl: 8192, want: "8192_8192"}, // likewise
	}
	for _, tt := range tests {
		assert.Equal(t, tt.want, SeqLenName(tt.isl, tt.osl), "SeqLenName(%d, %d)", tt.isl, tt.osl)
	}
}
