package main

import (
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// planRows are two points of one configuration whose recipe (vllm on h200, --max-num-seqs
// from the concurrency) renders another launch for each, and two of one whose recipe does not.
func planRows(t *testing.T) string {
	t.Helper()
	var rows []string
	for _, c := range []string{"4", "8"} {
		rows = append(rows, strings.Replace(strings.Replace(dryRunRow, `"conc": [4, 8]`, `"conc": `+c, 1), "\n", " ", -1))
	}
	sglang := `{"image": "lmsysorg/sglang:v0.5.5.post3-cu129", "model": "deepseek-ai/DeepSeek-R1-0528", "model-prefix": "dsr1", "precision": "fp8",
 "framework": "sglang", "runner": "h200", "isl": 1024, "osl": 1024, "tp": 8, "conc": CONC, "max-model-len": 2248, "ep": 1,
 "dp-attn": false, "spec-decoding": "none", "exp-name": "dsr1_1k1k", "disagg": false, "run-eval": false}`
	for _, c := range []string{"4", "8"} {
		rows = append(rows, strings.Replace(sglang, "CONC", c, 1))
	}
	f := filepath.Join(t.TempDir(), "matrix.json")
	require.NoError(t, os.WriteFile(f, []byte("["+strings.Join(rows, ",")+"]"), 0o644))
	return f
}

func planArgs(extra ...string) []string {
	cfg := filepath.Join("..", "configs")
	return append([]string{"plan", "--recipes", filepath.Join(cfg, "recipes.yaml"), "--inventory", filepath.Join(cfg, "inventory.yaml"),
		"--runner-config", filepath.Join(cfg, "runners.yaml"), "--agent-build", "test"}, extra...)
}

func TestPlanPrintsTheBill(t *testing.T) {
	t.Parallel()
	m := planRows(t)
	r := runAgent(t, nil, planArgs(m)...)
	require.Equal(t, exitOK, r.code, r.stderr)
	assert.Contains(t, r.stdout, "## Sweep plan")
	assert.Contains(t, r.stdout, "4 rows, 4 points in 2 configurations")
	assert.Contains(t, r.stdout, "| `--max-num-seqs` | 1 |")

	r = runAgent(t, nil, planArgs("--format", "json", m)...)
	require.Equal(t, exitOK, r.code, r.stderr)
	var p struct {
		Mode   string `json:"mode"`
		Totals struct {
			ReferenceLaunches int `json:"reference_launches"`
			GroupedLaunches   int `json:"grouped_launches"`
		} `json:"totals"`
	}
	require.NoError(t, json.Unmarshal([]byte(r.stdout), &p), r.stdout)
	assert.Equal(t, "reference", p.Mode)
	assert.Equal(t, 4, p.Totals.ReferenceLaunches)
	assert.Equal(t, 3, p.Totals.GroupedLaunches, "sglang's two points share one engine")
}

// In Actions, --emit-matrix prints the matrix and sets the step outputs; the plan goes to
// the step summary and the files asked for.
func TestPlanEmitsTheMatrixInActions(t *testing.T) {
	t.Parallel()
	m := planRows(t)
	dir := t.TempDir()
	outputs, summary, md := filepath.Join(dir, "out"), filepath.Join(dir, "summary.md"), filepath.Join(dir, "plan.md")
	envVars := map[string]string{"GITHUB_ACTIONS": "true", "GITHUB_OUTPUT": outputs, "GITHUB_STEP_SUMMARY": summary}
	r := runAgent(t, envVars, planArgs("--emit-matrix", "grouped", "--max-jobs", "2", "--plan-md", md, m)...)
	require.Equal(t, exitOK, r.code, r.stderr)
	var rows []map[string]any
	require.NoError(t, json.Unmarshal([]byte(r.stdout), &rows), "an array in, an array out: %s", r.stdout)
	var concs []any
	for _, row := range rows {
		concs = append(concs, row["conc"])
	}
	assert.Equal(t, []any{4.0, 8.0, []any{4.0, 8.0}}, concs)
	for _, f := range []string{summary, md} {
		b, err := os.ReadFile(f)
		require.NoError(t, err)
		assert.Contains(t, string(b), "This sweep runs **3 jobs** (grouped matrix)")
	}
	b, err := os.ReadFile(outputs)
	require.NoError(t, err)
	assert.Contains(t, string(b), "jobs<<")
	assert.Contains(t, string(b), `"conc":[4,8]`)
	assert.NotContains(t, r.stderr, "## Sweep plan", "in Actions the plan is in the step summary")
}

func TestPlanUsageErrors(t *testing.T) {
	t.Parallel()
	m := planRows(t)
	for _, tc := range []struct {
		name string
		args []string
		want []string
	}{
		{"no matrix and a bad format, both reported", planArgs("--format", "yaml"), []string{"no matrix", `--format "yaml"`}},
		{"unknown matrix mode", planArgs("--emit-matrix", "all", m), []string{`--emit-matrix "all": want reference or grouped`}},
		{"reuse-out without reuse", planArgs("--reuse-out", "x", m), []string{"--reuse-out needs --reuse"}},
		{"a digest without an image", planArgs("--image-digest", "sha256:x", m), []string{"want IMAGE=DIGEST"}},
		{"an unreadable matrix and recipes", append(planArgs("--recipes", "nowhere.yaml"), "missing.json"), []string{"missing.json", "recipes:"}},
		{"not a matrix", planArgs(filepath.Join("..", "go.mod")), []string{"not JSON"}},
		{"the generator command does not split", []string{"plan", "--generator-command", `full-sweep 'open`, m}, []string{"--generator-command"}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			r := runAgent(t, nil, tc.args...)
			assert.Equal(t, exitUsage, r.code, r.stderr)
			for _, w := range tc.want {
				assert.Contains(t, r.stderr, w)
			}
		})
	}
}

func TestRunnerConfigOfTheGeneratorCommand(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct{ command, want string }{
		{"full-sweep --single-node --config-files a.yaml", ""},
		{"full-sweep --runner-config r.yaml --config-files a.yaml", "r.yaml"},
		{"full-sweep --runner-config=r.yaml", "r.yaml"},
		{"full-sweep --runner-config r1.yaml --runner-config 'my runners.yaml'", "my runners.yaml"},
	} {
		got, err := runnerConfigOf(tc.command)
		require.NoError(t, err)
		assert.Equal(t, tc.want, got, tc.command)
	}
}

// collect names the results a sweep reused instead of running, by the run that measured them.
func TestCollectNamesReusedResults(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	write := func(name, body string) {
		p := filepath.Join(dir, "results", name)
		require.NoError(t, os.MkdirAll(filepath.Dir(p), 0o755))
		require.NoError(t, os.WriteFile(p, []byte(body), 0o644))
	}
	write("bmk_a/manifest_a.json", `{"schema_version": "inferbench.manifest/1", "result_filename": "a", "status": "success", "hw": "b200",
 "reused": {"source": "https://github.com/o/r/actions/runs/7", "path": "reuse/bmk_a/manifest_a.json", "key": "k"}}`)
	write("bmk_b/manifest_b.json", `{"schema_version": "inferbench.manifest/1", "result_filename": "b", "status": "success", "hw": "b200"}`)
	r := runAgent(t, nil, "collect", "-o", filepath.Join(dir, "out"), filepath.Join(dir, "results"))
	require.Equal(t, exitOK, r.code, r.stderr)
	assert.Contains(t, r.stdout, "## Reused results")
	assert.Contains(t, r.stdout, "- 1 from https://github.com/o/r/actions/runs/7\n")
}
