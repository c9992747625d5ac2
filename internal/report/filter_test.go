package report

import (
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

func rec(hw, fw, prec, prefix string, isl, osl, tp, conc int, tput float64) Record {
	return Record{HW: hw, Framework: fw, Precision: prec, Prefix: prefix, Model: prefix + "-model",
		ISL: isl, OSL: osl, TP: tp, EP: 1, DPAttention: "false", Conc: conc, TputPerGPU: tput,
		Metrics: map[string]float64{}}
}

func TestFilter(t *testing.T) {
	t.Parallel()
	rs := []Record{
		rec("b200", "sglang", "fp8", "dsr1", 1024, 1024, 8, 4, 10),
		rec("b200-trt", "trt", "fp8", "dsr1", 1024, 1024, 8, 4, 12),
		rec("gb200", "dynamo-sglang", "fp4", "dsr1", 1024, 8192, 4, 4, 20),
		rec("h200", "sglang", "fp8", "gptoss", 8192, 1024, 1, 4, 5),
	}
	tests := []struct {
		name string
		f    Filter
		want string // hardware of the kept records, in order
	}{
		{"no filter", Filter{}, "b200 b200-trt gb200 h200"},
		{"sku matches runner types but not gb200", Filter{HW: []string{"b200"}}, "b200 b200-trt"},
		{"exact runner type", Filter{HW: []string{"B200-TRT"}}, "b200-trt"},
		{"several", Filter{HW: []string{"gb200", "h200"}}, "gb200 h200"},
		{"framework", Filter{Framework: []string{"sglang"}}, "b200 h200"},
		{"precision", Filter{Precision: []string{"fp4"}}, "gb200"},
		{"model prefix", Filter{ModelPrefix: []string{"gptoss"}}, "h200"},
		{"isl", Filter{ISL: 8192}, "h200"},
		{"osl", Filter{OSL: 8192}, "gb200"},
		{"nothing", Filter{HW: []string{"mi355x"}}, ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var got []string
			for _, r := range tt.f.Apply(rs) {
				got = append(got, r.HW)
			}
			assert.Equal(t, tt.want, strings.Join(got, " "))
		})
	}
}

func TestBestPerGroupKeepsHighestThroughput(t *testing.T) {
	t.Parallel()
	rs := []Record{
		rec("b200", "sglang", "fp8", "dsr1", 1024, 1024, 8, 4, 10),
		rec("b200", "sglang", "fp8", "dsr1", 1024, 1024, 4, 4, 15),  // better layout, same group
		rec("b200", "sglang", "fp8", "dsr1", 1024, 1024, 2, 4, 15),  // tie: first one wins
		rec("b200", "sglang", "fp8", "dsr1", 1024, 1024, 8, 16, 30), // other conc: own group
		rec("h200", "sglang", "fp8", "dsr1", 1024, 1024, 8, 4, 1),   // other hw: own group
	}
	got := BestPerGroup(rs)
	require.Len(t, got, 3, "got %d records, want 3", len(got))
	assert.Equal(t, 4, got[0].TP)
	assert.Equal(t, 16, got[1].Conc)
	assert.Equal(t, "h200", got[2].HW)
}

func TestSeqLenAndSKU(t *testing.T) {
	t.Parallel()
	for _, tt := range []struct {
		isl, osl int
		want     string
	}{{1024, 1024, "1k1k"}, {1024, 8192, "1k8k"}, {8192, 1024, "8k1k"}, {1000, 2000, "1k2k"}, {100, 300, "100_300"}, {1024, 300, "1024_300"}} {
		assert.Equal(t, tt.want, SeqLen(tt.isl, tt.osl), "SeqLen(%d,%d)", tt.isl, tt.osl)
	}
	assert.Equal(t, "b200", SKU("B200-trt"))
	assert.Equal(t, "gb200", SKU("gb200"))
	assert.Equal(t, "mi355x", SKU("mi355x-disagg"))
}

func TestFilterMatchEval(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name string
		f    Filter
		want bool
	}{
		{"no filter", Filter{}, true},
		{"hw sku", Filter{HW: []string{"h200"}}, true},
		{"other hw", Filter{HW: []string{"h100"}}, false},
		{"framework", Filter{Framework: []string{"VLLM"}}, true},
		{"other precision", Filter{Precision: []string{"fp8"}}, false},
		{"model prefix", Filter{ModelPrefix: []string{"gptoss"}}, true},
		{"other model prefix", Filter{ModelPrefix: []string{"dsr1"}}, false},
		{"seq-len", Filter{ISL: 1024, OSL: 8192}, true},
		{"other seq-len", Filter{ISL: 1024, OSL: 1024}, false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			assert.Equal(t, tt.want, tt.f.MatchEval("H200-SIM", "vllm", "fp4", "gptoss", 1024, 8192), "MatchEval")
		})
	}
	// an eval set whose workload is unknown is not selected by a filter that names one
	assert.False(t, (Filter{ISL: 1024}).MatchEval("h200", "vllm", "fp4", "", 0, 0), "unknown isl matched --isl 1024")
}
