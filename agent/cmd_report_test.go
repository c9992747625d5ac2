package main

import (
	"bytes"
	"context"
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// Tests for collect, compare and report as a user runs them, on the fixture sweeps of
// internal/report.

var (
	sweepOld = filepath.Join("..", "internal", "report", "testdata", "sweep")
	sweepNew = filepath.Join("..", "internal", "report", "testdata", "sweep-new")
)

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
	var agg []map[string]any
	readJSON(t, filepath.Join(out, "agg_bmk.json"), &agg)
	if len(agg) != 30 {
		t.Errorf("agg_bmk.json has %d records, want 30", len(agg))
	}
	var evals []map[string]any
	readJSON(t, filepath.Join(out, "agg_eval_all.json"), &evals)
	if len(evals) != 2 {
		t.Errorf("agg_eval_all.json has %d rows, want 2", len(evals))
	}
	var stats map[string]map[string]int
	readJSON(t, filepath.Join(out, "run_stats.json"), &stats)
	if stats["mi355x"]["total"] != 6 || stats["mi355x"]["n_success"] != 5 || stats["h100"]["total"] != 0 {
		t.Errorf("run_stats = %v", stats)
	}
	md, err := os.ReadFile(summary)
	if err != nil {
		t.Fatal(err)
	}
	for _, want := range []string{"## Single-Node Results", "## Multi-Node Results", "## Eval Summary", "## Success Rate"} {
		if !strings.Contains(string(md), want) || !strings.Contains(r.stdout, want) {
			t.Errorf("step summary or stdout lacks %q", want)
		}
	}
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
	r := runAgent(t, nil, "collect", dir, "-o", out, "-q", "--hw", "h200", "--isl", "1024", "--osl", "1024")
	if r.code != exitBenchFail {
		t.Errorf("exit %d, want %d for an unreadable file", r.code, exitBenchFail)
	}
	if !strings.Contains(r.stderr, "agg_broken.json") {
		t.Errorf("stderr does not name the broken file:\n%s", r.stderr)
	}
	var agg []map[string]any
	readJSON(t, filepath.Join(out, "agg_bmk.json"), &agg)
	if len(agg) != 3 {
		t.Errorf("filtered agg_bmk.json has %d records, want 3 (h200 1k1k)", len(agg))
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
		{"filtered to unchanged hardware", []string{"compare", "--fail-on-regression", "--hw", "b200", sweepOld, sweepNew}, exitOK},
		{"huge threshold", []string{"compare", "--fail-on-regression", "--threshold", "50", sweepOld, sweepNew}, exitOK},
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
	r := runAgent(t, nil, "report", sweepOld, "-o", out, "--model-prefix", "dsr1")
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
	if strings.Contains(html, "gpt-oss") {
		t.Error("--model-prefix dsr1 kept gptoss results")
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
