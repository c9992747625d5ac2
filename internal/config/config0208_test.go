package config

import (
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/inferbench/inferbench/internal/diag"
	"github.com/inferbench/inferbench/internal/testkit"
)

// good0208 is a valid 2026-08 master config with one entry of each kind.
const good0208 = `sn:
  image: i
  model: m
  model-prefix: p
  precision: fp8
  framework: sglang
  runner: cluster:h100
  multinode: false
  router: { name: r, version: "1" }
  scenarios:
    fixed-seq-len:
    - isl: 8192
      osl: 1024
      search-space:
      - { tp: 8, pp: 1, dcp-size: 2, conc-start: 4, conc-end: 64 }
    agentic-coding:
    - dram-utilization: 0.9
      search-space:
      - { tp: 4, kv-offloading: dram, kv-offload-backend: { name: hicache }, conc-list: [1, 2] }
mn:
  image: i
  model: m
  model-prefix: p
  precision: fp4
  framework: dynamo-trt
  runner: gb200
  multinode: true
  disagg: true
  kv-p2p-transfer: nixl
  scenarios:
    fixed-seq-len:
    - isl: 8192
      osl: 1024
      search-space:
      - conc-list: [16]
        prefill: { num-worker: 1, tp: 4, pp: 2, ep: 4, dp-attn: true, hardware: gb200 }
        decode: { num-worker: 0, tp: 8, ep: 8, dp-attn: false, hardware: gb300 }
`

func TestParseMaster0208(t *testing.T) {
	t.Parallel()
	es, diags := ParseMaster("m.yaml", []byte(good0208))
	require.False(t, diags.HasErrors(), "%v", diags)
	require.Len(t, es, 2)
	sn, mn := es[0], es[1]
	assert.Equal(t, Gen2026_08, sn.Gen)
	assert.Equal(t, "r", sn.Router.Name)
	assert.Equal(t, int64(2), sn.SeqLens[0].Search[0].DCPSize)
	require.Len(t, sn.Agentic, 1)
	assert.Equal(t, "0.9", sn.Agentic[0].DRAMUtilization.FloatString(1))
	assert.Equal(t, "hicache", sn.Agentic[0].Search[0].KVOffloadBackend.Name)
	assert.Equal(t, "nixl", mn.KVP2PTransfer)
	w := mn.SeqLens[0].Search[0].Prefill
	assert.Equal(t, []string{"num-worker", "tp", "pp", "ep", "dp-attn", "hardware"}, w.Keys)
	assert.Equal(t, int64(2), w.PP)
	assert.Equal(t, "gb200", w.Hardware)
}

// Every problem of a 2026-08 config is reported at once, positioned, with the reference's
// phrase where it has one.
func TestParseMaster0208Problems(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name, old, new string
		where, phrase  string
	}{
		{"tp not divisible by dcp-size", "dcp-size: 2", "dcp-size: 3", "m.yaml:15", "'tp' (8) must be divisible by 'dcp-size' (3)"},
		{"pp of 0", "pp: 1,", "pp: 0,", "m.yaml:15", "must be at least 1, got 0"},
		{"router version from the image", `version: "1"`, `version: "image:x"`, "m.yaml:9", "not an image reference"},
		{"agentic without a cluster runner", "runner: cluster:h100", "runner: h100", "m.yaml:7", "Agentic master configs must use a 'cluster:<name>' runner"},
		{"dram without utilization", "    - dram-utilization: 0.9\n", "    -\n", "m.yaml:", "kv-offloading='dram' requires dram-utilization"},
		{"backend without offloading", "kv-offloading: dram, ", "", "m.yaml:19", "kv-offload-backend requires kv-offloading"},
		{"single-node agentic without kv-offloading", "kv-offloading: dram, kv-offload-backend: { name: hicache }, ", "", "m.yaml:19", "Single-node agentic search-space entries must specify kv-offloading"},
		{"agentic tp and workers", "{ tp: 4, kv-offloading", "{ tp: 4, prefill: {num-worker: 1, tp: 1, ep: 1, dp-attn: false}, kv-offloading", "m.yaml:19", "either tp or both prefill and decode"},
		{"disagg without a transfer engine", "  kv-p2p-transfer: nixl\n", "", "m.yaml:", "disagg=true requires kv-p2p-transfer"},
		{"hardware on one side only", "hardware: gb300 ", "", "m.yaml:", "'hardware' must be specified for both 'prefill' and 'decode'"},
		{"router in two places", "      - { tp: 8, pp: 1,", "      - { router: {name: x, version: '2'}, tp: 8, pp: 1,", "m.yaml:", "router must be declared either at the top level or in search-space entries"},
		{"an unknown scenario", "    fixed-seq-len:\n", "    fixed-seq-len: []\n    bogus:\n", "m.yaml:", "unknown field 'bogus' in scenarios"},
		{"a 2026-02 entry among 2026-08 ones", "  scenarios:\n    fixed-seq-len:\n    - isl: 8192\n      osl: 1024\n      search-space:\n      - conc-list: [16]",
			"  seq-len-configs:\n    - isl: 8192\n      osl: 1024\n      search-space:\n      - conc-list: [16]", "m.yaml:", "move its seq-len-configs under 'scenarios: fixed-seq-len:'"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			text := good0208
			if tt.name == "hardware on one side only" || tt.name == "an unknown scenario" || tt.name == "a 2026-02 entry among 2026-08 ones" {
				i := strings.Index(text, "mn:")
				text = text[:i] + strings.Replace(text[i:], tt.old, tt.new, 1)
			} else {
				require.Contains(t, text, tt.old)
				text = strings.Replace(text, tt.old, tt.new, 1)
			}
			_, diags := ParseMaster("m.yaml", []byte(text))
			require.True(t, diags.HasErrors(), "no error for:\n%s", text)
			var all []string
			found := false
			for _, d := range diags {
				s := d.String()
				all = append(all, s+" (hint: "+d.Hint+")")
				found = found || (strings.HasPrefix(s, tt.where) && strings.Contains(s+d.Hint, tt.phrase) && d.Hint != "")
			}
			assert.True(t, found, "want %s...%q with a hint among:\n%s", tt.where, tt.phrase, strings.Join(all, "\n"))
		})
	}
}

// All problems of both entries come at once.
func TestParseMaster0208AllProblems(t *testing.T) {
	t.Parallel()
	text := strings.Replace(strings.Replace(good0208, "dcp-size: 2", "dcp-size: 3", 1), "kv-p2p-transfer: nixl", "kv-p2p-transfer: ''", 1)
	_, diags := ParseMaster("m.yaml", []byte(text))
	assert.Len(t, diags.Errors(), 2, "%v", diags)
}

func TestRunners0208(t *testing.T) {
	t.Parallel()
	r, diags := ParseRunners("r.yaml", []byte("labels:\n  h100: [a, b]\n  cluster:h100: [a]\nhardware:\n  cluster:h100:\n    available-cpu-dram-mib: 2_063_837\n    gpus-per-node: 8\n"))
	require.False(t, diags.HasErrors(), "%v", diags)
	assert.Equal(t, Gen2026_08, r.Gen)
	assert.Equal(t, []string{"h100", "cluster:h100"}, r.Names())
	assert.Equal(t, int64(2063837), r.HardwareOf("cluster:h100").AvailableCPUDRAMMiB)

	for _, tt := range []struct{ text, phrase string }{
		{"labels:\n  h100: []\n", "Runner config entry 'h100' cannot be an empty list"},
		{"hardware:\n  x: {gpus-per-node: 8, available-cpu-dram-mib: 1}\n", "Runner config must define a labels mapping"},
		{"labels: {h: [a]}\nhardware:\n  h: {gpus-per-node: 0, available-cpu-dram-mib: 1}\n", "must be at least 1, got 0"},
		{"labels: {h: [a]}\nhardware:\n  h: {gpus-per-node: 8}\n", "missing required field 'available-cpu-dram-mib'"},
		{"labels: {h: [a]}\nnodes: {}\n", "unknown field 'nodes'"},
	} {
		_, diags := ParseRunners("r.yaml", []byte(tt.text))
		assert.True(t, diags.HasErrors(), tt.text)
		assert.Contains(t, text(diags), tt.phrase)
	}
}

// Files of two generations in one command are refused, each differing file once, instead
// of being validated in the wrong schema.
func TestLoadRefusesMixedGenerations(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	m08 := filepath.Join(dir, "m08.yaml")
	m02 := filepath.Join(dir, "m02.yaml")
	r02 := filepath.Join(dir, "r02.yaml")
	require.NoError(t, os.WriteFile(m08, []byte(good0208), 0o644))
	require.NoError(t, os.WriteFile(m02, []byte("k:\n  image: i\n  model: m\n  model-prefix: p\n  precision: fp8\n  framework: f\n  runner: h100\n  multinode: false\n  seq-len-configs:\n  - {isl: 1, osl: 1, search-space: [{tp: 1, conc-list: [1]}]}\n"), 0o644))
	require.NoError(t, os.WriteFile(r02, []byte("h100: [a]\n"), 0o644))

	m, r, g, diags := Load([]string{m08, m02}, r02)
	assert.Nil(t, m)
	assert.Nil(t, r)
	assert.Equal(t, Gen2026_08, g, "the first file decides")
	require.Len(t, diags.Errors(), 2, "%v", diags)
	assert.Contains(t, text(diags), "m02.yaml:9:3: '"+m02+"' is a 2026-02 master config (its entries have 'seq-len-configs:')")
	assert.Contains(t, text(diags), "the files of one command must be of one generation")
	assert.Contains(t, diags[0].Hint, "generator migrate")

	_, _, g, diags = Load([]string{m02}, r02)
	assert.False(t, diags.HasErrors(), "%v", diags)
	assert.Equal(t, Gen2026_02, g)
}

// The reference's own 2026-08 files load without a problem.
func TestAnchor0208Loads(t *testing.T) {
	t.Parallel()
	dir := testkit.Shared(t, "anchor/inferencex-2026-08-21")
	m, r, g, diags := Load([]string{filepath.Join(dir, "nvidia-master.yaml"), filepath.Join(dir, "amd-master.yaml")}, filepath.Join(dir, "runners.yaml"))
	require.False(t, diags.HasErrors(), "%v", diags)
	assert.Equal(t, Gen2026_08, g)
	assert.Len(t, m.Entries, 208)
	assert.Len(t, r.Hardware, 16)
}

func text(l diag.List) string {
	var b strings.Builder
	for _, d := range l {
		b.WriteString(d.String() + "\n")
	}
	return b.String()
}
