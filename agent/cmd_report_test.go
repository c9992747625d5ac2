package main

import (
	"bytes"
	"context"
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/inferbench/inferbench/internal/testkit"
)

// Tests for collect, compare and report as a user runs them, on the fixture sweeps of
// internal/report.

var (
	sweepOld     = filepath.Join("..", "internal", "report", "testdata", "sweep")
	sweepNew     = filepath.Join("..", "internal", "report", "testdata", "sweep-new")
	reportGolden = filepath.Join("..", "internal", "report", "testdata", "golden")
)

// goldenFile compares got with internal/report/testdata/golden/<name> (rewritten with
// -update).
func goldenFile(t *testing.T, name string, got []byte) {
	t.Helper()
	testkit.Golden(t, filepath.Join(reportGolden, name), got)
}

type run struct {
	code           int
	stdout, stderr string
}

func runAgent(t *testing.T, envVars map[string]string, args ...string) run {
	t.Helper()
	var out, errb bytes.Buffer
	e := env{stdin: strings.NewReader(""), stdout: &out, stderr: &errb, getenv: func(k string) string { return envVars[k] }}
	code := dispatch(context.Background(), e, args)
	return run{code, out.String(), errb.String()}
}

func TestCollectWritesReferenceFiles(t *testing.T) {
	out := t.TempDir()
	summary := filepath.Join(t.TempDir(), "step_summary.md")
	r := runAgent(t, map[string]string{"GITHUB_STEP_SUMMARY": summary}, "collect", sweepOld, "-o", out)
	if r.code != exitOK {
		t.Fatalf("exit %d\n%s", r.code, r.stderr)
	}
	// The fixture is real runs (internal/report/testdata/README.md): 16 points, one of
	// which failed its load; its agg file is there but is not a result.
	var agg []map[string]any
	readJSON(t, filepath.Join(out, "agg_bmk.json"), &agg)
	if len(agg) != 15 {
		t.Errorf("agg_bmk.json has %d records, want 15", len(agg))
	}
	if !strings.Contains(r.stderr, "left out 1 result of failed points") || !strings.Contains(r.stderr, "raw client results") {
		t.Errorf("summary line does not account for the failed point and the raw results:\n%s", r.stderr)
	}
	// Both eval rows, the one below its threshold included and marked.
	var evals []map[string]any
	readJSON(t, filepath.Join(out, "agg_eval_all.json"), &evals)
	passed := map[string]any{}
	for _, e := range evals {
		passed[e["hw"].(string)] = e["passed"]
	}
	if len(evals) != 2 || passed["H200-SIM"] != true || passed["H100-SIM"] != false {
		t.Errorf("agg_eval_all.json = %v, want an H200-SIM row that passed and an H100-SIM row that failed", evals)
	}
	// The success rate counts every status record, failed ones included.
	var stats map[string]map[string]int
	readJSON(t, filepath.Join(out, "run_stats.json"), &stats)
	for sku, want := range map[string][2]int{"h100": {6, 7}, "h200": {7, 8}, "gb200": {1, 1}, "b200": {0, 0}} {
		if got := stats[sku]; got["n_success"] != want[0] || got["total"] != want[1] {
			t.Errorf("run_stats[%s] = %v, want %d of %d", sku, got, want[0], want[1])
		}
	}
	md, err := os.ReadFile(summary)
	if err != nil {
		t.Fatal(err)
	}
	for _, want := range []string{"## Single-Node Results", "## Multi-Node Results", "## Eval Summary", "## Success Rate", "bench_failed", "eval_failed"} {
		if !strings.Contains(string(md), want) || !strings.Contains(r.stdout, want) {
			t.Errorf("step summary or stdout lacks %q", want)
		}
	}

	// The files match the goldens: agg_bmk.json and run_stats.json byte for byte with
	// internal/report's, agg_eval_all.json and the printed tables with their own.
	for _, f := range []string{"agg_bmk.json", "run_stats.json"} {
		got, _ := os.ReadFile(filepath.Join(out, f))
		want, err := os.ReadFile(filepath.Join(reportGolden, f))
		if err != nil || !bytes.Equal(got, want) {
			t.Errorf("%s differs from %s (%v)", f, filepath.Join(reportGolden, f), err)
		}
	}
	evalJSON, _ := os.ReadFile(filepath.Join(out, "agg_eval_all.json"))
	abs, _ := filepath.Abs(sweepOld)
	norm := strings.NewReplacer(abs, "<sweep>", sweepOld, "<sweep>")
	goldenFile(t, "agg_eval_all.json", []byte(norm.Replace(string(evalJSON))))
	goldenFile(t, "collect_summary.md", []byte(norm.Replace(r.stdout)))
}

func TestCollectFiltersAndReportsBrokenFiles(t *testing.T) {
	dir := t.TempDir()
	copyDir(t, sweepOld, dir)
	broken := filepath.Join(dir, "bmk_broken", "agg_broken.json")
	if err := os.MkdirAll(filepath.Dir(broken), 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(broken, []byte(`{"hw": "b200", "tput_per_gpu": 1`), 0o644); err != nil {
		t.Fatal(err)
	}
	out := t.TempDir()
	r := runAgent(t, nil, "collect", dir, "-o", out, "-q", "--hw", "h200", "--framework", "vllm", "--isl", "1024", "--osl", "1024")
	if r.code != exitBenchFail {
		t.Errorf("exit %d, want %d for an unreadable file", r.code, exitBenchFail)
	}
	if !strings.Contains(r.stderr, "agg_broken.json") {
		t.Errorf("stderr does not name the broken file:\n%s", r.stderr)
	}
	var agg []map[string]any
	readJSON(t, filepath.Join(out, "agg_bmk.json"), &agg)
	if len(agg) != 3 {
		t.Errorf("filtered agg_bmk.json has %d records, want 3 (h200 vllm 1k1k)", len(agg))
	}
	var evals []map[string]any
	readJSON(t, filepath.Join(out, "agg_eval_all.json"), &evals)
	if len(evals) != 0 {
		t.Errorf("filtered agg_eval_all.json has %d rows, want 0 (the evals are 1k8k)", len(evals))
	}
	if r.stdout != "" {
		t.Errorf("-q printed to stdout:\n%s", r.stdout)
	}
}

func TestCompareExitCodes(t *testing.T) {
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
			if r.code != tt.want {
				t.Errorf("exit %d, want %d\nstderr: %s", r.code, tt.want, r.stderr)
			}
		})
	}
}

func TestReportWritesSelfContainedHTML(t *testing.T) {
	out := filepath.Join(t.TempDir(), "r.html")
	r := runAgent(t, nil, "report", sweepOld, "-o", out, "--model-prefix", "gptoss")
	if r.code != exitOK {
		t.Fatalf("exit %d\n%s", r.code, r.stderr)
	}
	b, err := os.ReadFile(out)
	if err != nil {
		t.Fatal(err)
	}
	html := string(b)
	for _, bad := range []string{"http://", "https://", "<link ", " src="} {
		// The SVG namespace URI is an identifier, not a fetch.
		if strings.Contains(strings.ReplaceAll(html, "http://www.w3.org/2000/svg", ""), bad) {
			t.Errorf("report references %q: it must not need the network", bad)
		}
	}
	if !strings.Contains(r.stdout, out) {
		t.Errorf("stdout does not name the report: %q", r.stdout)
	}
	if strings.Contains(html, "DeepSeek") || !strings.Contains(html, "gpt-oss") {
		t.Error("--model-prefix gptoss kept the dsr1 results or lost the gptoss ones")
	}
}

func readJSON(t *testing.T, path string, v any) {
	t.Helper()
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	if err := json.Unmarshal(b, v); err != nil {
		t.Fatalf("%s: %v", path, err)
	}
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
	if err != nil {
		t.Fatal(err)
	}
}

// --eval-thresholds re-judges the eval rows against another thresholds file instead of the
// verdicts the runs recorded.
func TestCollectEvalThresholds(t *testing.T) {
	strict := filepath.Join(t.TempDir(), "strict.yaml")
	if err := os.WriteFile(strict, []byte("default: 0.99\ntasks:\n  gsm8k: 0.99\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	bad := filepath.Join(t.TempDir(), "bad.yaml")
	if err := os.WriteFile(bad, []byte("default: [\n"), 0o644); err != nil {
		t.Fatal(err)
	}
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
			if r.code != tt.code {
				t.Fatalf("exit %d, want %d\n%s", r.code, tt.code, r.stderr)
			}
			if tt.code != exitOK {
				return
			}
			var evals []map[string]any
			readJSON(t, filepath.Join(out, "agg_eval_all.json"), &evals)
			if len(evals) != len(tt.passed) {
				t.Fatalf("%d eval rows, want %d", len(evals), len(tt.passed))
			}
			for _, e := range evals {
				if e["passed"] != tt.passed[e["hw"].(string)] || e["threshold"] != tt.thresholds {
					t.Errorf("%s: passed %v threshold %v, want %v %v", e["hw"], e["passed"], e["threshold"], tt.passed[e["hw"].(string)], tt.thresholds)
				}
			}
		})
	}
}
