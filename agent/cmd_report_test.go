package main

import (
	"bytes"
	"context"
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/inferbench/inferbench/internal/testkit"
)

// Tests for collect, compare and report as a user runs them, on the fixture sweeps of
// internal/report.

var (
	sweepOld     = filepath.Join("..", "internal", "report", "testdata", "sweep")
	sweepNew     = filepath.Join("..", "internal", "report", "testdata", "sweep-new")
	reportGolden = filepath.Join("..", "internal", "report", "testdata", "golden")
)

// goldenFile compares got with testdata/golden/<name> (rewritten with -update). The
// goldens of internal/report that collect must reproduce are read, never written, here.
func goldenFile(t *testing.T, name string, got []byte) {
	t.Helper()
	testkit.Golden(t, filepath.Join("testdata", "golden", name), got)
}

type run struct {
	code           int
	stdout, stderr string
}

func runAgent(t *testing.T, envVars map[string]string, args ...string) run {
	t.Helper()
	var out, errb bytes.Buffer
	e := env{stdin: strings.NewReader(""), stdout: &out, stderr: &errb, getenv: func(k string) string { return envVars[k] },
		environ: func() []string {
			var kv []string
			for k, v := range envVars {
				kv = append(kv, k+"="+v)
			}
			return kv
		}}
	code := dispatch(context.Background(), e, args)
	return run{code, out.String(), errb.String()}
}

func TestCollectWritesReferenceFiles(t *testing.T) {
	t.Parallel()
	out := t.TempDir()
	summary := filepath.Join(t.TempDir(), "step_summary.md")
	r := runAgent(t, map[string]string{"GITHUB_STEP_SUMMARY": summary}, "collect", sweepOld, "-o", out)
	require.Equal(t, exitOK, r.code, "exit %d\n%s", r.code, r.stderr)
	// The fixture is real runs (internal/report/testdata/README.md): 16 points, one of
	// which failed its load; its agg file is there but is not a result.
	var agg []map[string]any
	readJSON(t, filepath.Join(out, "agg_bmk.json"), &agg)
	assert.Len(t, agg, 15, "agg_bmk.json has %d records, want 15", len(agg))
	assert.Contains(t, r.stderr, "left out 1 result of failed points", "summary line does not account for the failed point")
	assert.Contains(t, r.stderr, "raw client results", "summary line does not account for the failed point")
	// Both eval rows, the one below its threshold included and marked.
	var evals []map[string]any
	readJSON(t, filepath.Join(out, "agg_eval_all.json"), &evals)
	passed := map[string]any{}
	for _, e := range evals {
		passed[e["hw"].(string)] = e["passed"]
	}
	assert.Len(t, evals, 2, "agg_eval_all.json")
	assert.Equal(t, true, passed["H200-SIM"], "agg_eval_all.json")
	assert.Equal(t, false, passed["H100-SIM"], "agg_eval_all.json")
	// The success rate counts every status record, failed ones included.
	var stats map[string]map[string]int
	readJSON(t, filepath.Join(out, "run_stats.json"), &stats)
	for sku, want := range map[string][2]int{"h100": {6, 7}, "h200": {7, 8}, "gb200": {1, 1}, "b200": {0, 0}} {
		got := stats[sku]
		assert.Equal(t, want[0], got["n_success"], "run_stats[%s]", sku)
		assert.Equal(t, want[1], got["total"], "run_stats[%s]", sku)
	}
	md, err := os.ReadFile(summary)
	require.NoError(t, err)
	for _, want := range []string{"## Single-Node Results", "## Multi-Node Results", "## Eval Summary", "## Success Rate", "bench_failed", "eval_failed"} {
		assert.Contains(t, string(md), want, "step summary or stdout")
		assert.Contains(t, r.stdout, want, "step summary or stdout")
	}

	// The files match the goldens: agg_bmk.json and run_stats.json byte for byte with
	// internal/report's, agg_eval_all.json and the printed tables with this package's.
	for _, f := range []string{"agg_bmk.json", "run_stats.json"} {
		got, _ := os.ReadFile(filepath.Join(out, f))
		want, err := os.ReadFile(filepath.Join(reportGolden, f))
		assert.NoError(t, err, "%s differs from %s", f, filepath.Join(reportGolden, f))
		assert.Equal(t, string(want), string(got), "%s differs from %s", f, filepath.Join(reportGolden, f))
	}
	evalJSON, _ := os.ReadFile(filepath.Join(out, "agg_eval_all.json"))
	abs, _ := filepath.Abs(sweepOld)
	norm := strings.NewReplacer(abs, "<sweep>", sweepOld, "<sweep>")
	goldenFile(t, "agg_eval_all.json", []byte(norm.Replace(string(evalJSON))))
	goldenFile(t, "collect_summary.md", []byte(norm.Replace(r.stdout)))
}

func TestCollectFiltersAndReportsBrokenFiles(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	copyDir(t, sweepOld, dir)
	broken := filepath.Join(dir, "bmk_broken", "agg_broken.json")
	require.NoError(t, os.MkdirAll(filepath.Dir(broken), 0o755))
	require.NoError(t, os.WriteFile(broken, []byte(`{"hw": "b200", "tput_per_gpu": 1`), 0o644))
	out := t.TempDir()
	r := runAgent(t, nil, "collect", dir, "-o", out, "-q", "--hw", "h200", "--framework", "vllm", "--isl", "1024", "--osl", "1024")
	assert.Equal(t, exitBenchFail, r.code, "exit %d, want %d for an unreadable file", r.code, exitBenchFail)
	assert.Contains(t, r.stderr, "agg_broken.json", "stderr does not name the broken file")
	var agg []map[string]any
	readJSON(t, filepath.Join(out, "agg_bmk.json"), &agg)
	assert.Len(t, agg, 3, "filtered agg_bmk.json has %d records, want 3 (h200 vllm 1k1k)", len(agg))
	var evals []map[string]any
	readJSON(t, filepath.Join(out, "agg_eval_all.json"), &evals)
	assert.Empty(t, evals, "filtered agg_eval_all.json has %d rows, want 0 (the evals are 1k8k)", len(evals))
	assert.Empty(t, r.stdout, "-q printed to stdout")
}

func TestCompareExitCodes(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name string
		args []string
		want int
	}{
		{"regression reported, no gate", []string{"compare", sweepOld, sweepNew}, exitOK},
		{"regression gates", []string{"compare", "--fail-on-regression", sweepOld, sweepNew}, exitBenchFail},
		{"filtered to unchanged hardware", []string{"compare", "--fail-on-regression", "--hw", "h100", sweepOld, sweepNew}, exitOK},
		{"huge threshold", []string{"compare", "--fail-on-regression", "--threshold", "200", sweepOld, sweepNew}, exitOK},
		{"one directory", []string{"compare", sweepOld}, exitUsage},
		{"missing directory", []string{"compare", sweepOld, "/nonexistent/sweep"}, exitUsage},
		{"negative threshold", []string{"compare", "--threshold", "-1", sweepOld, sweepNew}, exitUsage},
		{"nothing in common", []string{"compare", "--hw", "nosuchgpu", sweepOld, sweepNew}, exitUsage},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			r := runAgent(t, nil, tt.args...)
			assert.Equal(t, tt.want, r.code, "exit %d, want %d\nstderr: %s", r.code, tt.want, r.stderr)
		})
	}
}

func TestReportWritesSelfContainedHTML(t *testing.T) {
	t.Parallel()
	out := filepath.Join(t.TempDir(), "r.html")
	r := runAgent(t, nil, "report", sweepOld, "-o", out, "--model-prefix", "gptoss")
	require.Equal(t, exitOK, r.code, "exit %d\n%s", r.code, r.stderr)
	b, err := os.ReadFile(out)
	require.NoError(t, err)
	html := string(b)
	for _, bad := range []string{"http://", "https://", "<link ", " src="} {
		// The SVG namespace URI is an identifier, not a fetch.
		assert.NotContains(t, strings.ReplaceAll(html, "http://www.w3.org/2000/svg", ""), bad, "report references %q: it must not need the network", bad)
	}
	assert.Contains(t, r.stdout, out, "stdout does not name the report")
	assert.NotContains(t, html, "DeepSeek", "--model-prefix gptoss kept the dsr1 results or lost the gptoss ones")
	assert.Contains(t, html, "gpt-oss", "--model-prefix gptoss kept the dsr1 results or lost the gptoss ones")
}

func readJSON(t *testing.T, path string, v any) {
	t.Helper()
	b, err := os.ReadFile(path)
	require.NoError(t, err)
	require.NoError(t, json.Unmarshal(b, v), "%s", path)
}

func copyDir(t *testing.T, src, dst string) {
	t.Helper()
	err := filepath.WalkDir(src, func(p string, d os.DirEntry, err error) error {
		if err != nil {
			return err
		}
		rel, _ := filepath.Rel(src, p)
		target := filepath.Join(dst, rel)
		if d.IsDir() {
			return os.MkdirAll(target, 0o755)
		}
		b, err := os.ReadFile(p)
		if err != nil {
			return err
		}
		return os.WriteFile(target, b, 0o644)
	})
	require.NoError(t, err)
}

// --eval-thresholds re-judges the eval rows against another thresholds file instead of the
// verdicts the runs recorded.
func TestCollectEvalThresholds(t *testing.T) {
	t.Parallel()
	strict := filepath.Join(t.TempDir(), "strict.yaml")
	require.NoError(t, os.WriteFile(strict, []byte("default: 0.99\ntasks:\n  gsm8k: 0.99\n"), 0o644))
	bad := filepath.Join(t.TempDir(), "bad.yaml")
	require.NoError(t, os.WriteFile(bad, []byte("default: [\n"), 0o644))
	tests := []struct {
		name       string
		args       []string
		code       int
		passed     map[string]any
		thresholds float64
	}{
		{"verdicts from the status records", nil, exitOK, map[string]any{"H100-SIM": false, "H200-SIM": true}, 0.85},
		{"stricter file", []string{"--eval-thresholds", strict}, exitOK, map[string]any{"H100-SIM": false, "H200-SIM": false}, 0.99},
		{"missing file", []string{"--eval-thresholds", "/nonexistent/t.yaml"}, exitUsage, nil, 0},
		{"broken file", []string{"--eval-thresholds", bad}, exitUsage, nil, 0},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			out := t.TempDir()
			r := runAgent(t, nil, append([]string{"collect", "-q", "-o", out, sweepOld}, tt.args...)...)
			require.Equal(t, tt.code, r.code, "exit %d, want %d\n%s", r.code, tt.code, r.stderr)
			if tt.code != exitOK {
				return
			}
			var evals []map[string]any
			readJSON(t, filepath.Join(out, "agg_eval_all.json"), &evals)
			require.Len(t, evals, len(tt.passed), "%d eval rows, want %d", len(evals), len(tt.passed))
			for _, e := range evals {
				assert.Equal(t, tt.passed[e["hw"].(string)], e["passed"])
				assert.Equal(t, tt.thresholds, e["threshold"])
			}
		})
	}
}
