package energy

import (
	"context"
	"encoding/json"
	"math"
	"os"
	"path/filepath"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/inferbench/inferbench/internal/execx"
	"github.com/inferbench/inferbench/internal/result"
	"github.com/inferbench/inferbench/internal/testkit"
)

// TestMatchesReferenceAggregatePower runs the reference's aggregate_power.py on the same
// nvidia-smi file and benchmark result and compares every power field of the agg record
// and the sidecar's verdict: same names, same values, same validity.
func TestMatchesReferenceAggregatePower(t *testing.T) {
	t.Parallel()
	script := testkit.Shared(t, "anchor/inferencex-2026-08-21/utils/aggregate_power.py")
	py, err := execx.LookPath("python3")
	if err != nil {
		t.Skip("python3 is not installed: the reference script cannot run")
	}
	wobble := func(g int, tt float64) float64 { return 420 + 80*math.Sin(tt) + 15*float64(g) }
	for _, tt := range []struct {
		name  string
		csv   string
		gpus  int
		valid bool
	}{
		{"a valid 8-GPU point", nvidiaCSV(every(-1.3, 31.7, 0.7, 8, wobble), false), 8, true},
		{"a gap the reference rejects too", nvidiaCSV(every(-1, 31, 4, 2, wobble), false), 2, false},
		{"a GPU missing", nvidiaCSV(every(-1, 31, 1, 2, wobble), false), 4, false},
	} {
		t.Run(tt.name, func(t *testing.T) {
			dir := t.TempDir()
			csvPath, benchPath, aggPath := filepath.Join(dir, "gpu_metrics.csv"), filepath.Join(dir, "bench.json"), filepath.Join(dir, "agg.json")
			require.NoError(t, os.WriteFile(csvPath, []byte(tt.csv), 0o644))
			b := bench(0.25, 30.25)
			raw, _ := json.Marshal(map[string]any{"benchmark_start_time_unix": b.StartUnix, "benchmark_end_time_unix": b.EndUnix,
				"duration": b.Duration, "completed": b.Completed, "total_input_tokens": b.InputTokens, "total_output_tokens": b.OutputTokens})
			require.NoError(t, os.WriteFile(benchPath, raw, 0o644))
			require.NoError(t, os.WriteFile(aggPath, []byte(`{"hw": "h200"}`), 0o644))
			res, err := execx.OS{}.Run(context.Background(), execx.Cmd{Name: py, Args: []string{script, "--csv", csvPath,
				"--bench-result", benchPath, "--agg-result", aggPath, "--expected-num-gpus", itoa(tt.gpus)},
				Env: append(os.Environ(), "TZ=UTC")})
			require.NoError(t, err, "%s", res.Stderr)

			var ref map[string]any
			b2, _ := os.ReadFile(aggPath)
			require.NoError(t, json.Unmarshal(b2, &ref))
			v := compute(t, tt.csv, b, Topology{GPUs: tt.gpus})
			assert.Equal(t, tt.valid, v.PowerValid, "reasons %v", v.Reasons)
			ours := agg(t, v.Agg())
			for _, k := range result.PowerKeys {
				rv, inRef := ref[k]
				ov, inOurs := ours[k]
				require.Equal(t, inRef, inOurs, "key %s present in the reference's record: %v, in ours: %v", k, inRef, inOurs)
				if inRef {
					assert.InDelta(t, rv.(float64), ov.(float64), 2e-3, k)
				}
			}
			var refSide map[string]any
			side, _ := os.ReadFile(filepath.Join(dir, "power_validation_bench.json"))
			require.NoError(t, json.Unmarshal(side, &refSide))
			refReasons := []string{}
			for _, r := range refSide["reasons"].([]any) {
				refReasons = append(refReasons, r.(string))
			}
			assert.Equal(t, refReasons, v.Reasons)
		})
	}
}

func agg(t *testing.T, p *result.AggPower) map[string]any {
	t.Helper()
	b, err := json.Marshal(result.Agg{Power: p})
	require.NoError(t, err)
	var m map[string]any
	require.NoError(t, json.Unmarshal(b, &m))
	return m
}

func itoa(n int) string { b, _ := json.Marshal(n); return string(b) }
