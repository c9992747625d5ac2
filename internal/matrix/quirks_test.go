package matrix

import (
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/inferbench/inferbench/internal/config"
)

// TestQuirks pins down each reference quirk we keep or fix (docs/generator.md#quirks) that
// the expansion code is responsible for; each row is named by its section there. Items
// handled by the loader or the CLI are tested in package config and package main.
func TestQuirks(t *testing.T) {
	t.Parallel()
	m, r := fixture(t)
	// single and multi run inside the subtests, so they fail the subtest that calls them.
	var sub *testing.T
	single := func(o SweepOptions) string {
		o.Kind = SingleNode
		rows, err := FullSweep(m, r, o)
		require.NoError(sub, err)
		return summary(rows)
	}
	multi := func(o SweepOptions) string {
		o.Kind = MultiNode
		rows, err := FullSweep(m, r, o)
		require.NoError(sub, err)
		return summary(rows)
	}
	tests := []struct {
		name string
		got  func() string
		want string
	}{
		{"quirk-model-prefix-key KEEP model-prefix filters on the config key", func() string {
			return single(SweepOptions{ModelPrefixes: []string{"mp"}}) + "|" + single(SweepOptions{ModelPrefixes: []string{"s"}, SeqLens: []string{"1k1k"}})
		}, "|h100 1k1k tp4 ep1 c4; h100 1k1k tp4 ep1 c8"},
		{"quirk-min-conc-rebase KEEP min-conc re-bases the single-node series", func() string {
			return single(SweepOptions{MinConc: p64(5), MaxTP: p64(2)})
		}, "h100 1k8k tp2 ep1 c5; h100 1k8k tp2 ep1 c10; h100 1k8k tp2 ep1 c20; h100 1k8k tp2 ep1 c40; h100 1k8k tp2 ep1 c64"},
		{"quirk-min-conc-rebase KEEP min-conc filters multi-node lists", func() string { return multi(SweepOptions{MinConc: p64(10)}) },
			"gb200 1k1k[64 16]; gb200 1k1k[16]"},
		{"quirk-max-conc-adds-value KEEP max-conc clamps the end and may add a value", func() string {
			return single(SweepOptions{MaxConc: p64(50), MaxTP: p64(2), SeqLens: []string{"1k8k"}}) + "|" + single(SweepOptions{MaxConc: p64(2), MaxTP: p64(2), SeqLens: []string{"1k8k"}})
		}, "h100 1k8k tp2 ep1 c4; h100 1k8k tp2 ep1 c8; h100 1k8k tp2 ep1 c16; h100 1k8k tp2 ep1 c32; h100 1k8k tp2 ep1 c50|h100 1k8k tp2 ep1 c2"},
		{"quirk-max-conc-adds-value KEEP max-conc below every multi-node value gives [max]", func() string { return multi(SweepOptions{MaxConc: p64(3)}) },
			"gb200 1k1k[3]; gb200 1k1k[3]"},
		{"quirk-max-below-min KEEP max-conc may emit a value below min-conc", func() string {
			return summaryInts(singleRangeConc(4, 128, 2, p64(100), p64(50)))
		}, "[50]"},
		{"quirk-nonpositive-bounds KEEP non-positive bounds give no rows", func() string {
			return single(SweepOptions{MaxConc: p64(0)}) + single(SweepOptions{MinConc: p64(-1)}) + single(SweepOptions{MaxTP: p64(0)}) +
				single(SweepOptions{MaxEP: p64(0)}) + multi(SweepOptions{MaxConc: p64(0)}) + multi(SweepOptions{MinConc: p64(0)})
		}, ""},
		{"quirk-single-conc-list FIX single-node conc-list expands in full-sweep, order kept", func() string {
			return single(SweepOptions{SeqLens: []string{"1k8k"}, MaxTP: p64(4), MinConc: p64(8)}) + "|" +
				single(SweepOptions{SeqLens: []string{"1k8k"}, MaxTP: p64(4), MinConc: p64(20), MaxConc: p64(24)})
		}, "h100 1k8k tp2 ep1 c8; h100 1k8k tp2 ep1 c16; h100 1k8k tp2 ep1 c32; h100 1k8k tp2 ep1 c64; h100 1k8k tp4 ep1 c32; h100 1k8k tp4 ep1 c8; h100 1k8k tp4 ep1 c16|h100 1k8k tp2 ep1 c20; h100 1k8k tp2 ep1 c24; h100 1k8k tp4 ep1 c24"},
		{"quirk-max-tp-ep KEEP max-tp drops, max-ep clamps, absent ep stays 1", func() string {
			return single(SweepOptions{SeqLens: []string{"1k8k"}, MaxEP: p64(2), MinConc: p64(16), MaxConc: p64(16)})
		}, "h100 1k8k tp2 ep1 c16; h100 1k8k tp8 ep2 c16; h100 1k8k tp4 ep1 c16"},
		{"quirk-max-tp-ep KEEP max-tp and max-ep do not touch multi-node", func() string { return multi(SweepOptions{MaxTP: p64(1), MaxEP: p64(1)}) },
			"gb200 1k1k[64 16]; gb200 1k1k[4 8 16]"},
		{"quirk-empty-conc-list FIX empty or null conc-list next to a range means the range, everywhere", func() string {
			tc, _ := TestConfig(m, nil, TestConfigOptions{Keys: []string{"sn", "mn"}, Conc: []int64{4, 8, 16}})
			return single(SweepOptions{SeqLens: []string{"1k1k"}}) + "|" + multi(SweepOptions{StepSize: 4}) + "|" + summary(tc[len(tc)-3:])
		}, "h100 1k1k tp4 ep1 c4; h100 1k1k tp4 ep1 c8|gb200 1k1k[64 16]; gb200 1k1k[4 16]|h100 1k1k tp4 ep1 c8; gb200 1k1k[16]; gb200 1k1k[4 8 16]"},
		{"quirk-node-filter KEEP node filter without a match drops configs in full-sweep", func() string {
			return single(SweepOptions{NodeFilter: "zz"}) + "|" + single(SweepOptions{NodeFilter: "_0", SeqLens: []string{"1k1k"}})
		}, "|h100-a_0 1k1k tp4 ep1 c4; h100-b_0 1k1k tp4 ep1 c4; h100-a_0 1k1k tp4 ep1 c8; h100-b_0 1k1k tp4 ep1 c8"},
		{"quirk-repeated-keys KEEP a repeated test-config key is expanded twice", func() string {
			rows, _ := TestConfig(m, nil, TestConfigOptions{Keys: []string{"mn", "mn"}, Conc: []int64{64}})
			return summary(rows)
		}, "gb200 1k1k[64]; gb200 1k1k[64]"},
		{"quirk-eval-groups KEEP evals: highest conc of highest and lowest tp per group, per node", func() string {
			rows, _ := FullSweep(m, r, SweepOptions{Kind: SingleNode, SeqLens: []string{"1k8k"}, NodeFilter: "a_", MinConc: p64(16), Evals: EvalsOnly})
			return summary(rows)
		}, "h100-a_0 1k8k tp2 ep1 c64*; h100-a_0 1k8k tp8 ep8 c16*"},
		{"quirk-eval-1k8k KEEP evals never select multi-node or non-1k8k rows", func() string {
			a, _ := FullSweep(m, r, SweepOptions{Kind: MultiNode, Evals: EvalsOnly})
			b, _ := TestConfig(m, nil, TestConfigOptions{Keys: []string{"sn"}, Evals: EvalsRun})
			var marked []string
			for _, row := range b {
				if row.RunEval && (row.ISL != 1024 || row.OSL != 8192) {
					marked = append(marked, summary([]Row{row}))
				}
			}
			return summary(a) + "|" + summaryStrings(marked)
		}, "|[]"},
		{"quirk-representative-point KEEP runner-model-sweep picks the smallest conc-list minimum", func() string {
			a, _ := RunnerModelSweep(m, r, RunnerModelOptions{RunnerType: "gb200", Kind: MultiNode})
			b, _ := RunnerModelSweep(m, r, RunnerModelOptions{RunnerType: "gb200", Kind: MultiNode, Conc: p64(7)})
			return summary(a) + "|" + summary(b)
		}, "gb200-a_0 1k1k[16]|gb200-a_0 1k1k[7]"},
		{"quirk-conc-filter KEEP test-config --conc is an intersection filter", func() string {
			rows, _ := TestConfig(m, nil, TestConfigOptions{Keys: []string{"sn", "mn"}, Conc: []int64{8, 999}})
			return summary(rows)
		}, "h100 1k8k tp2 ep1 c8; h100 1k8k tp8 ep8 c8; h100 1k8k tp4 ep1 c8; h100 1k1k tp4 ep1 c8; gb200 1k1k[8]"},
		{"quirk-seq-lens KEEP --seq-lens drops other pairs; without it they expand", func() string {
			rows, _ := FullSweep(m, r, SweepOptions{Kind: SingleNode, MaxTP: p64(1)})
			with, _ := FullSweep(m, r, SweepOptions{Kind: SingleNode, MaxTP: p64(1), SeqLens: SeqLenNames})
			return rows[0].ExpName + " " + summary(rows) + "|" + summary(with)
		}, "mp_2048_128 h100 2048_128 tp1 ep1 c2|"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			sub = t
			assert.Equal(t, tt.want, tt.got())
		})
	}
}

func summaryInts(v []int64) string { return "[" + joinInts(v) + "]" }
func summaryStrings(s []string) string {
	return "[" + joinStrings(s) + "]"
}

func joinInts(v []int64) string {
	out := ""
	for i, x := range v {
		if i > 0 {
			out += " "
		}
		out += itoa(x)
	}
	return out
}

func joinStrings(s []string) string {
	out := ""
	for i, x := range s {
		if i > 0 {
			out += "; "
		}
		out += x
	}
	return out
}

// Runner types are checked against runners.yaml only when given on the command line
// (docs/generator.md#quirk-unknown-runner, kept), and the invalid ones are listed sorted
// (docs/generator.md#quirk-invalid-runner-types, fixed).
func TestRunnerTypeErrors(t *testing.T) {
	t.Parallel()
	m, r := fixture(t)
	_, err := FullSweep(m, r, SweepOptions{Kind: SingleNode, RunnerTypes: []string{"zz", "aa", "h100", "zz"}})
	var bad *InvalidRunnerTypesError
	require.ErrorAs(t, err, &bad)
	assert.Equal(t, []string{"aa", "zz"}, bad.Invalid)
	assert.EqualError(t, err, "Invalid runner type(s): aa, zz. Valid runner types are: gb200, h100")
	// A config on a runner type that runners.yaml lacks is still expanded.
	entries, _ := config.ParseMaster("x.yaml", []byte(`
x:
  {image: i, model: m, model-prefix: p, precision: fp8, framework: vllm, runner: nowhere, multinode: false,
   seq-len-configs: [{isl: 1, osl: 1, search-space: [{tp: 1, conc-list: [1]}]}]}
`))
	rows, err := FullSweep(config.NewMaster(entries), r, SweepOptions{Kind: SingleNode})
	require.NoError(t, err)
	assert.Equal(t, "nowhere 1_1 tp1 ep1 c1", summary(rows), "unknown runner type")
	rows, _ = FullSweep(config.NewMaster(entries), r, SweepOptions{Kind: SingleNode, NodeFilter: "n"})
	assert.Empty(t, rows, "node filter on an unknown runner type kept %s", summary(rows))
}

func TestSelectionErrors(t *testing.T) {
	t.Parallel()
	m, r := fixture(t)
	tests := []struct {
		name string
		run  func() error
		want string
	}{
		{"missing keys in given order", func() error {
			_, err := TestConfig(m, nil, TestConfigOptions{Keys: []string{"zz", "sn", "aa"}})
			return err
		}, "Config key(s) not found: zz, aa.\nAvailable keys: mn, sn"},
		{"unknown runner type", func() error {
			_, err := RunnerModelSweep(m, r, RunnerModelOptions{RunnerType: "b200"})
			return err
		}, "Runner 'b200' does not exist in runner config 'runners.yaml'. Must choose from existing runner types: 'h100, gb200'."},
		{"quirk-node-filter KEEP node filter without a match is an error in runner-model-sweep", func() error {
			_, err := RunnerModelSweep(m, r, RunnerModelOptions{RunnerType: "h100", NodeFilter: "zz"})
			return err
		}, "No runner nodes found matching filter 'zz' for runner type 'h100'."},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			assert.EqualError(t, tt.run(), tt.want)
		})
	}
}
