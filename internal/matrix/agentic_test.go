package matrix

import (
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/inferbench/inferbench/internal/config"
)

func agenticFixture(t *testing.T, search, runners string) (*config.Master, *config.Runners) {
	t.Helper()
	es, diags := config.ParseMaster("m.yaml", []byte(`ag:
  image: i
  model: m
  model-prefix: ag
  precision: fp8
  framework: sglang
  runner: cluster:h100
  multinode: false
  scenarios:
    agentic-coding:
    - dram-utilization: 0.8
      search-space:
      - `+search+`
`))
	require.False(t, diags.HasErrors(), "%v", diags)
	r, diags := config.ParseRunners("r.yaml", []byte(runners))
	require.False(t, diags.HasErrors(), "%v", diags)
	return config.NewMaster(es), r
}

// The KV offload budget is exact: 2,000,000 MiB × 0.8 × 4/8 GPUs = 838.86 GB, truncated.
func TestAgenticDRAMBudget(t *testing.T) {
	t.Parallel()
	const hw = "labels: {cluster:h100: [n_0, n_1]}\nhardware:\n  cluster:h100: {available-cpu-dram-mib: 2_000_000, gpus-per-node: 8}\n"
	tests := []struct {
		name, search, runners string
		want                  int64
		err                   string
	}{
		{"half a node", "{ tp: 4, kv-offloading: dram, kv-offload-backend: { name: hicache }, conc-list: [1] }", hw, 838, ""},
		{"no offload needs no hardware", "{ tp: 4, kv-offloading: none, conc-list: [1] }", "labels: {cluster:h100: [n_0]}\n", 0, ""},
		{"capped at 3 TB", "{ tp: 8, kv-offloading: dram, kv-offload-backend: { name: hicache }, conc-list: [1] }",
			"labels: {cluster:h100: [n_0]}\nhardware:\n  cluster:h100: {available-cpu-dram-mib: 9_000_000, gpus-per-node: 8}\n", 2399, ""},
		{"no hardware for the runner", "{ tp: 4, kv-offloading: dram, kv-offload-backend: { name: hicache }, conc-list: [1] }",
			"labels: {cluster:h100: [n_0]}\nhardware:\n  cluster:b200: {available-cpu-dram-mib: 1, gpus-per-node: 8}\n", 0,
			"Runner 'cluster:h100' requires 'available-cpu-dram-mib' in runner hardware metadata. Available hardware keys: cluster:b200"},
		{"more GPUs than a node", "{ tp: 8, pp: 2, kv-offloading: dram, kv-offload-backend: { name: hicache }, conc-list: [1] }", hw, 0,
			"tp=8 with pp=2 and pcp-size=1 requires 16 GPUs and exceeds gpus-per-node=8 for runner 'cluster:h100'"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			m, r := agenticFixture(t, tt.search, tt.runners)
			rows, err := FullSweep(m, r, SweepOptions{BothKinds: true, Evals: EvalsNone})
			if tt.err != "" {
				require.Error(t, err)
				assert.Contains(t, err.Error(), tt.err)
				assert.Contains(t, err.Error(), "m.yaml:13:9", "the error names the search-space entry")
				return
			}
			require.NoError(t, err)
			require.NotEmpty(t, rows)
			assert.Equal(t, tt.want, rows[0].TotalCPUDRAMGB)
			assert.True(t, strings.HasPrefix(rows[0].ExpName, "ag_tp"), rows[0].ExpName)
		})
	}
}

func TestWorkerGPUsPerNode(t *testing.T) {
	t.Parallel()
	for _, tt := range []struct {
		tp, pp, pcp, perNode, want int64
		err                        string
	}{
		{4, 1, 1, 8, 4, ""}, {16, 1, 1, 8, 8, ""}, {12, 1, 1, 8, 0, "spans multiple nodes but is not a multiple"},
		{3, 1, 1, 8, 0, "does not divide gpus-per-node=8 evenly"}, {2, 2, 2, 4, 4, ""},
	} {
		got, err := workerGPUsPerNode(&config.Worker{TP: tt.tp, PP: tt.pp, PCPSize: tt.pcp}, tt.perNode)
		if tt.err != "" {
			assert.ErrorContains(t, err, tt.err)
			continue
		}
		assert.NoError(t, err)
		assert.Equal(t, tt.want, got)
	}
}

// Multi-node topology keys compare worker blocks by content, whatever their key order.
func TestParallelismKeyIgnoresKeyOrder(t *testing.T) {
	t.Parallel()
	a := Row{Kind: MultiNode, Prefill: &config.Worker{Keys: []string{"tp", "ep"}, TP: 4, EP: 4, PP: 1, DCPSize: 1, PCPSize: 1},
		Decode: &config.Worker{Keys: []string{"tp"}, TP: 8, PP: 1, DCPSize: 1, PCPSize: 1}, ConcList: []int64{16}}
	b := a
	b.Prefill = &config.Worker{Keys: []string{"ep", "tp"}, TP: 4, EP: 4, PP: 1, DCPSize: 1, PCPSize: 1}
	b.ConcList = []int64{32}
	assert.Equal(t, parallelismKey(&a, newCanonical()), parallelismKey(&b, newCanonical()))
	b.Prefill.TP = 2
	assert.NotEqual(t, parallelismKey(&a, newCanonical()), parallelismKey(&b, newCanonical()))
}
