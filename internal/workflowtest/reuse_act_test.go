package workflowtest

import (
	"encoding/json"
	"os"
	"path/filepath"
	"sort"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/inferbench/inferbench/internal/result"
)

// reuseRecipes serves the reuse test's rows: one simulator recipe per model.
const reuseRecipes = e2eDir + "/reuse-recipes.yaml"

// TestReuseUnderAct sweeps the same matrix three times through e2e.yml, as three workflow
// runs sharing act's artifact server (runs 101, 102, 103):
//
//  1. with launch grouping: simtiny's two concurrencies run as one job on one engine;
//  2. with reuse-run-id 101: every point has a valid result with the same fingerprint, so no
//     benchmark job runs at all, and collection still yields run 1's agg_bmk.json byte for
//     byte, each manifest saying where its result came from;
//  3. after a change to one setting of the recipe serving simeval, with reuse-run-id 102:
//     exactly the simeval row runs again; simtiny's results come through run 102 from run 101.
func TestReuseUnderAct(t *testing.T) {
	t.Parallel() // act runs are independent: own workspace, artifact server and port
	e := newActEnv(t, nil)
	command := "full-sweep --single-node --config-files " + e2eDir + "/master.yaml --runner-config " + e2eDir + "/runners.yaml"
	sweep := func(runID, grouping, reuse string) map[string]map[string][]byte {
		t.Helper()
		inputs := map[string]string{"command": command, "test-name": "act-reuse-" + runID, "launch-grouping": grouping, "reuse-run-id": reuse}
		out, err := e.run(t, 10*time.Minute, e.args(t, "e2e.yml", inputs,
			"--env", "GITHUB_RUN_ID="+runID, "--env", "INFERBENCH_RECIPES="+reuseRecipes))
		require.NoError(t, err, "act run %s failed:\n%s", runID, tail(out, 120))
		t.Log(logLine(out, "collect: "))
		return artifactsByName(t, filepath.Join(e.artifacts, runID))
	}
	tiny := func(conc int) string {
		return result.SingleNodeStem("simtiny_128_16", "fp8", "sim", 1, 1, false, false, "none", conc, e2eNode)
	}
	eval := result.SingleNodeStem("simeval_1k8k", "fp8", "sim", 1, 1, false, false, "none", 1, e2eNode)
	grouped := strings.Replace(tiny(1), "_conc1_", "_conc1x2_", 1)

	// 1. One job for simtiny's two points (one engine), one for simeval.
	first := sweep("101", "true", "")
	assert.Equal(t, []string{result.BenchArtifact(eval), result.BenchArtifact(grouped)}, benchArtifacts(first))
	checkArtifact(t, first, result.BenchArtifact(grouped), result.AggFile(tiny(1)), result.AggFile(tiny(2)),
		result.ManifestFile(tiny(1)), result.ManifestFile(tiny(2)))
	reused := map[bool]int{}
	for _, stem := range []string{tiny(1), tiny(2)} {
		var m result.Manifest
		require.NoError(t, json.Unmarshal(first[result.BenchArtifact(grouped)][result.ManifestFile(stem)], &m))
		require.NotNil(t, m.Fingerprint, stem)
		assert.True(t, strings.HasPrefix(m.Fingerprint.Agent, "src:"), "agent stamped with its source digest: %s", m.Fingerprint.Agent)
		reused[m.ServerReused]++
	}
	assert.Equal(t, map[bool]int{false: 1, true: 1}, reused, "the second point reuses the first point's server")
	checkRunStats(t, first, 3)
	firstAgg := first["results_bmk"]["agg_bmk.json"]
	require.Len(t, aggRecords(t, first), 3)

	// 2. Everything reused: no benchmark job, the same agg_bmk.json.
	second := sweep("102", "true", "101")
	assert.Empty(t, benchArtifacts(second), "no benchmark job may run when every point is reused")
	assert.Equal(t, string(firstAgg), string(second["results_bmk"]["agg_bmk.json"]))
	checkRunStats(t, second, 3)
	checkArtifact(t, second, "reused-results", "reuse.json", result.BenchArtifact(eval)+"/"+result.ManifestFile(eval))
	var m result.Manifest
	require.NoError(t, json.Unmarshal(second["reused-results"][result.BenchArtifact(grouped)+"/"+result.ManifestFile(tiny(2))], &m))
	require.NotNil(t, m.Reused)
	assert.Equal(t, "https://github.com/"+actRepo+"/actions/runs/101", m.Reused.Source)
	assert.Equal(t, "reuse/"+result.BenchArtifact(grouped)+"/"+result.ManifestFile(tiny(2)), m.Reused.Path)
	assert.Equal(t, m.Fingerprint.Key, m.Reused.Key)
	checkArtifact(t, second, "sweep-plan", "plan.json", "plan.md", "matrix.json")

	// 3. One setting of simeval's recipe changes: only simeval runs, one job per point again.
	recipes := filepath.Join(e.ws, filepath.FromSlash(reuseRecipes))
	b, err := os.ReadFile(recipes)
	require.NoError(t, err)
	changed := strings.Replace(string(b), "--itl=5us", "--itl=6us", 1)
	require.NotEqual(t, string(b), changed)
	require.NoError(t, os.WriteFile(recipes, []byte(changed), 0o644))
	third := sweep("103", "false", "102")
	assert.Equal(t, []string{result.BenchArtifact(eval)}, benchArtifacts(third), "exactly the rows the changed recipe serves run again")
	checkRunStats(t, third, 3)
	records := aggRecords(t, third)
	require.Len(t, records, 3)
	var firstRecords []map[string]any
	require.NoError(t, json.Unmarshal(firstAgg, &firstRecords))
	for i, r := range records {
		if r["infmax_model_prefix"] == "simtiny" {
			assert.Equal(t, firstRecords[i], r, "simtiny's result is run 1's")
		} else {
			assert.NotEqual(t, firstRecords[i]["result_fingerprint"], r["result_fingerprint"], "simeval ran with the changed recipe")
		}
	}
	require.NoError(t, json.Unmarshal(third["reused-results"][result.BenchArtifact(grouped)+"/"+result.ManifestFile(tiny(1))], &m))
	require.NotNil(t, m.Reused)
	assert.Equal(t, "https://github.com/"+actRepo+"/actions/runs/101", m.Reused.Source, "the run that measured it")
	assert.Equal(t, []string{"https://github.com/" + actRepo + "/actions/runs/102"}, m.Reused.Via)
}

// benchArtifacts lists the bmk_* artifacts: one per benchmark job that ran.
func benchArtifacts(arts map[string]map[string][]byte) []string {
	out := []string{}
	for name := range arts {
		if strings.HasPrefix(name, "bmk_") {
			out = append(out, name)
		}
	}
	sort.Strings(out)
	return out
}
