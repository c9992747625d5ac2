package matrix

import (
	"math"
	"slices"
	"testing"
)

func TestSeries(t *testing.T) {
	tests := []struct {
		start, end, step int64
		want             []int64
	}{
		{4, 64, 2, []int64{4, 8, 16, 32, 64}},
		{4, 12, 2, []int64{4, 8, 12}},
		{3, 20, 4, []int64{3, 12, 20}},
		{4, 64, 3, []int64{4, 12, 36, 64}},
		{5, 64, 2, []int64{5, 10, 20, 40, 64}},
		{8, 8, 2, []int64{8}},
		{9, 8, 2, nil},
		// Spec Q-8/Q-9 (FIX): the reference hangs or alternates signs here.
		{4, 64, 1, nil},
		{4, 64, 0, nil},
		{4, 64, -2, nil},
		{0, 64, 2, nil},
		// No overflow near the top of int64.
		{math.MaxInt64 / 2, math.MaxInt64, 3, []int64{math.MaxInt64 / 2, math.MaxInt64}},
	}
	for _, tt := range tests {
		if got := Series(tt.start, tt.end, tt.step); !slices.Equal(got, tt.want) {
			t.Errorf("Series(%d, %d, %d) = %v, want %v", tt.start, tt.end, tt.step, got, tt.want)
		}
	}
}

func TestSeqLenName(t *testing.T) {
	tests := []struct {
		isl, osl int64
		want     string
	}{{1024, 1024, "1k1k"}, {1024, 8192, "1k8k"}, {8192, 1024, "8k1k"}, {2048, 128, "2048_128"}, {8192, 8192, "8192_8192"}}
	for _, tt := range tests {
		if got := SeqLenName(tt.isl, tt.osl); got != tt.want {
			t.Errorf("SeqLenName(%d, %d) = %q, want %q", tt.isl, tt.osl, got, tt.want)
		}
	}
}
