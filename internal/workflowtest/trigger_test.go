package workflowtest

import (
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// TestRunSweepTriggersUnderAct evaluates run-sweep.yml's gate on real event payloads with
// act (dry run): a sweep starts only for a non-draft PR from this repository that carries
// the sweep-enabled label, or for a push whose head commit does not say [skip-sweep];
// a PR from a fork never gets there, label or not.
func TestRunSweepTriggersUnderAct(t *testing.T) {
	t.Parallel() // act runs are independent: own workspace, artifact server and port
	e := newActEnv(t, nil)
	pr := func(headRepo string, draft bool, labels ...string) map[string]any {
		var ls []map[string]string
		for _, l := range labels {
			ls = append(ls, map[string]string{"name": l})
		}
		return map[string]any{
			"action": "labeled", "label": map[string]string{"name": "sweep-enabled"},
			"pull_request": map[string]any{
				"number": 7, "draft": draft, "labels": ls,
				"head": map[string]any{"sha": strings.Repeat("a", 40), "repo": map[string]string{"full_name": headRepo}},
				"base": map[string]any{"sha": strings.Repeat("b", 40), "ref": "main"},
			},
		}
	}
	push := func(msg string) map[string]any {
		return map[string]any{"before": strings.Repeat("b", 40), "after": strings.Repeat("a", 40),
			"head_commit": map[string]string{"message": msg}}
	}
	for _, tc := range []struct {
		what  string
		event string
		body  map[string]any
		sweep bool
	}{
		{"labelled PR from this repository", "pull_request", pr(actRepo, false, "sweep-enabled"), true},
		{"labelled draft PR", "pull_request", pr(actRepo, true, "sweep-enabled"), false},
		{"PR without the label", "pull_request", pr(actRepo, false, "perf"), false},
		{"labelled PR from a fork", "pull_request", pr("mallory/inferbench", false, "sweep-enabled"), false},
		{"push to main", "push", push("Add dsr1 b200 points"), true},
		{"push with [skip-sweep]", "push", push("Fix typo [skip-sweep]"), false},
	} {
		t.Run(tc.what, func(t *testing.T) {
			ev := filepath.Join(t.TempDir(), "event.json")
			b, _ := json.Marshal(tc.body)
			require.NoError(t, os.WriteFile(ev, b, 0o644))
			args := []string{tc.event, "-n", "-v", "-j", "setup", "-e", ev, "-W", ".github/workflows/run-sweep.yml",
				"-P", "ubuntu-latest=-self-hosted", "--action-cache-path", e.cache}
			out, _ := e.run(t, 2*time.Minute, args)
			ran := strings.Contains(out, "[run-sweep/setup] ⭐ Run Set up job")
			skipped := strings.Contains(out, "Skipping job 'setup'")
			require.NotEqual(t, skipped, ran, "cannot tell whether setup ran (ran=%v skipped=%v):\n%s", ran, skipped, tail(out, 40))
			assert.Equal(t, tc.sweep, ran, "setup ran")
		})
	}
}

// TestNightlyMatrixUnderAct runs nightly.yml's setup job for real: the generator expands
// every master config of the repository, single- and multi-node, into shards that each fit
// GitHub's 256-jobs-per-matrix limit.
func TestNightlyMatrixUnderAct(t *testing.T) {
	t.Parallel() // act runs are independent: own workspace, artifact server and port
	e := newActEnv(t, nil)
	out, err := e.run(t, 5*time.Minute, e.args(t, "nightly.yml", nil, "-j", "setup"))
	require.NoError(t, err, "nightly setup failed: %v\n%s", err, tail(out, 60))
	sweeps := stepOutputs(out, "matrix")
	require.Len(t, sweeps, 2, "want the matrix output of 2 generator steps, got %d:\n%s", len(sweeps), tail(out, 40))
	for i, raw := range sweeps {
		var sw struct {
			ShardCount int                `json:"shard_count"`
			ShardIndex []int              `json:"shard_index"`
			Shards     [][]map[string]any `json:"shards"`
		}
		require.NoError(t, json.Unmarshal([]byte(raw), &sw), "matrix output %d is not the sharded shape", i)
		rows := 0
		for j, s := range sw.Shards {
			rows += len(s)
			require.NotEmpty(t, s, "matrix %d shard %d", i, j)
			assert.LessOrEqual(t, len(s), 256, "matrix %d shard %d", i, j)
		}
		assert.Equal(t, len(sw.Shards), sw.ShardCount, "matrix %d", i)
		assert.Len(t, sw.ShardIndex, len(sw.Shards), "matrix %d", i)
		assert.NotEqual(t, 0, rows, "matrix %d", i)
		t.Logf("nightly matrix %d: %d rows in %d shards", i, rows, len(sw.Shards))
	}
	// The plan of both sweeps is informational (continue-on-error): it must still work.
	assert.Contains(t, out, "Success - Main Plan the sweep", "the plan step did not succeed:\n%s", tail(out, 60))
}

// stepOutputs returns the distinct values act logged for "::set-output:: name=value" lines
// (act logs a composite action's output once per level it passes through).
func stepOutputs(log, name string) []string {
	var out []string
	seen := map[string]bool{}
	for _, line := range strings.Split(log, "\n") {
		if _, v, ok := strings.Cut(line, "::set-output:: "+name+"="); ok && v != "" && !seen[v] {
			seen[v] = true
			out = append(out, v)
		}
	}
	return out
}

// TestRunSweepPushUnderAct pushes a changelog entry to main in a scratch repository and runs
// run-sweep.yml's setup job for real: the generator diffs the two commits of the push event
// and turns the added entry into sharded rows plus the changelog metadata.
func TestRunSweepPushUnderAct(t *testing.T) {
	t.Parallel() // act runs are independent: own workspace, artifact server and port
	e := newActEnv(t, nil)
	before := e.git(t, "rev-parse", "HEAD")
	entry := "\n- config-keys:\n    - gptoss-fp4-h100-trt\n  description:\n    - \"act test: re-run gpt-oss on H100\"\n  pr-link: https://github.com/inferbench/inferbench/pull/999\n"
	f, err := os.OpenFile(filepath.Join(e.ws, "perf-changelog.yaml"), os.O_APPEND|os.O_WRONLY, 0)
	require.NoError(t, err)
	_, err = f.WriteString(entry)
	require.NoError(t, err)
	f.Close()
	e.git(t, "commit", "-q", "-a", "-m", "Re-run gpt-oss on H100")
	after := e.git(t, "rev-parse", "HEAD")

	ev := filepath.Join(t.TempDir(), "push.json")
	b, _ := json.Marshal(map[string]any{"ref": "refs/heads/main", "before": before, "after": after,
		"head_commit": map[string]string{"id": after, "message": "Re-run gpt-oss on H100"}})
	require.NoError(t, os.WriteFile(ev, b, 0o644))
	args := e.args(t, "run-sweep.yml", nil, "-j", "setup", "-e", ev)
	args[0] = "push"
	out, err := e.run(t, 5*time.Minute, args)
	require.NoError(t, err, "run-sweep setup failed: %v\n%s", err, tail(out, 60))
	sweeps := stepOutputs(out, "matrix")
	require.Len(t, sweeps, 1, "want one matrix output, got %d:\n%s", len(sweeps), tail(out, 40))
	var sw struct {
		Shards [][]map[string]any `json:"shards"`
	}
	require.NoError(t, json.Unmarshal([]byte(sweeps[0]), &sw), "matrix is not a non-empty sharded sweep")
	require.NotEmpty(t, sw.Shards, "matrix is not a non-empty sharded sweep")
	for _, row := range sw.Shards[0] {
		assert.Equal(t, "h100", row["runner"], "row of another config")
		assert.Equal(t, "gptoss", row["model-prefix"], "row of another config")
	}
	// The plan passes the generator's rows through (nothing to reuse without gh and a network).
	plans := stepOutputs(out, "sweep")
	require.Len(t, plans, 1, "the plan's matrix differs from the generator's")
	assert.Equal(t, sweeps[0], plans[0], "the plan's matrix differs from the generator's")
	meta := stepOutputs(out, "changelog-metadata")
	require.Len(t, meta, 1, "changelog-metadata")
	assert.Contains(t, meta[0], "pull/999", "changelog-metadata")
	assert.Contains(t, meta[0], after, "changelog-metadata")
}
