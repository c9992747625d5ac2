package matrix

import (
	"encoding/json"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/inferbench/inferbench/internal/config"
)

// FuzzExpand checks that any config the loader accepts expands in every subcommand
// without a crash and serializes to valid JSON.
func FuzzExpand(f *testing.F) {
	f.Add([]byte(fixtureYAML), int64(2), int64(0), int64(0))
	f.Add([]byte(fixtureYAML), int64(3), int64(5), int64(100))
	f.Add([]byte(fixtureYAML), int64(9), int64(-1), int64(1))
	_, r := fixture(f)
	f.Fuzz(func(t *testing.T, data []byte, step, minC, maxC int64) {
		entries, diags := config.ParseMaster("f.yaml", data)
		if diags.HasErrors() {
			return
		}
		m := config.NewMaster(entries)
		if step < 2 {
			step = 2
		}
		var all []Row
		for _, kind := range []Kind{SingleNode, MultiNode} {
			o := SweepOptions{Kind: kind, StepSize: step, Evals: EvalsRun, NodeFilter: "_0"}
			if minC != 0 {
				o.MinConc = &minC
			}
			if maxC != 0 {
				o.MaxConc = &maxC
			}
			rows, err := FullSweep(m, r, o)
			require.NoError(t, err)
			all = append(all, rows...)
			rows, _ = RunnerModelSweep(m, r, RunnerModelOptions{RunnerType: "h100", Kind: kind})
			all = append(all, rows...)
		}
		rows, err := TestConfig(m, nil, TestConfigOptions{Keys: m.Keys(), Evals: EvalsOnly})
		require.NoError(t, err)
		all = append(all, rows...)
		var back []map[string]any
		require.NoError(t, json.Unmarshal(AppendJSON(nil, all), &back), "invalid JSON for %d rows", len(all))
		require.Len(t, back, len(all))
	})
}
