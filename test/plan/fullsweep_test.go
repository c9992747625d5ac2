// Package plan_test plans our own configs' full sweep with the real binaries: the generator
// expands configs/ (both master files, single- and multi-node) and `agent plan` works out its
// launches, cost and grouped matrix. The plan's JSON is a golden file, so a change to the
// configs, recipes, runners or the planner shows up as a reviewable diff of the bill.
package plan_test

import (
	"context"
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/inferbench/inferbench/internal/execx"
	"github.com/inferbench/inferbench/internal/testkit"
)

func run(t *testing.T, dir, name string, args ...string) []byte {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Minute)
	defer cancel()
	res, err := execx.OS{}.Run(ctx, execx.Cmd{Name: name, Args: args, Dir: dir})
	require.NoError(t, err, "%s %s\n%s", name, strings.Join(args, " "), res.Stderr)
	require.Equal(t, 0, res.ExitCode, "%s %s\n%s", name, strings.Join(args, " "), res.Stderr)
	return res.Stdout
}

func TestFullSweepPlan(t *testing.T) {
	root := testkit.RepoRoot(t)
	bin := t.TempDir()
	gen, agent := filepath.Join(bin, "generator"), filepath.Join(bin, "agent")
	run(t, root, "go", "build", "-o", gen, "./generator")
	run(t, root, "go", "build", "-o", agent, "./agent")

	configs := []string{"--config-files", "configs/nvidia-master.yaml", "configs/amd-master.yaml", "--runner-config", "configs/runners.yaml"}
	var files []string
	for _, kind := range []string{"--single-node", "--multi-node"} {
		out := run(t, root, gen, append([]string{"full-sweep", kind}, configs...)...)
		f := filepath.Join(bin, strings.TrimPrefix(kind, "--")+".json")
		require.NoError(t, os.WriteFile(f, out, 0o644))
		files = append(files, f)
	}
	planJSON := filepath.Join(bin, "plan.json")
	// A fixed agent identity: the golden file must not change with every commit.
	args := append([]string{"plan", "--emit-matrix", "grouped", "--plan-json", planJSON, "--agent-build", "golden", "--agent-version", "golden"}, files...)
	grouped := run(t, root, agent, args...)
	got, err := os.ReadFile(planJSON)
	require.NoError(t, err)
	testkit.Golden(t, filepath.Join("testdata", "full-sweep.plan.json"), got)

	var p struct {
		Totals struct {
			Rows            int     `json:"rows"`
			Points          int     `json:"points"`
			RefLaunches     int     `json:"reference_launches"`
			GroupedLaunches int     `json:"grouped_launches"`
			LaunchRatio     float64 `json:"launch_ratio"`
		} `json:"totals"`
		Relaunches []struct {
			Settings string `json:"settings"`
			Count    int    `json:"count"`
		} `json:"relaunches"`
		Problems []string `json:"problems"`
	}
	require.NoError(t, json.Unmarshal(got, &p))
	assert.Empty(t, p.Problems, "every row of our configs can be planned")
	var rows []json.RawMessage
	require.NoError(t, json.Unmarshal(grouped, &rows))
	assert.Equal(t, p.Totals.GroupedLaunches, len(rows), "the grouped matrix has one job per launch group")
	assert.Greater(t, p.Totals.LaunchRatio, 1.0)
	settings := map[string]int{}
	for _, r := range p.Relaunches {
		for _, s := range strings.Split(r.Settings, ", ") {
			settings[s] += r.Count
		}
	}
	// The recipes tie these settings to the concurrency, so they force relaunches.
	for _, s := range []string{"--scheduler-recv-interval", "--max-num-seqs", "extra-llm-api-config.yml: max_batch_size"} {
		assert.Positive(t, settings[s], "no relaunch forced by %s: %v", s, settings)
	}
	t.Logf("full sweep: %d rows, %d points; launches as the reference %d, grouped %d (%.2fx fewer)",
		p.Totals.Rows, p.Totals.Points, p.Totals.RefLaunches, p.Totals.GroupedLaunches, p.Totals.LaunchRatio)
}
