package report

import (
	"bytes"
	"context"
	"encoding/json"
	"flag"
	"fmt"
	"os"
	"path/filepath"
	"sort"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/inferbench/inferbench/internal/eval"
	"github.com/inferbench/inferbench/internal/execx"
)

// The fixture sweeps under testdata/sweep and testdata/sweep-new are the artifacts of real
// runs: the generator expands our configs, `agent run` serves each selected configuration
// with the simulator on the local backend, and the outputs are laid out as
// actions/download-artifact leaves them. TestRegenFixtureSweeps rebuilds both with -regen
// (a few minutes); rerun the golden tests with -update afterwards. See testdata/README.md.
var regen = flag.Bool("regen", false, "rerun the agent against the simulator and rewrite testdata/sweep and testdata/sweep-new")

// repoRoot is the module root seen from this package's directory.
var repoRoot = filepath.Join("..", "..")

// fixtureRecipes are the simulated engines of the fixture. sim-fixture is the demo's
// scaled simulator; -slow is the same engine 30 % slower per token (the planted
// regression of sweep-new); -flaky fails half its requests (a bench_failed point); -eval
// and -eval-bad answer the built-in gsm8k questions from a script, correctly or half
// wrong (an eval_failed point). Paths in %[1]s are the run's scratch directory.
const fixtureRecipes = `recipes:
  - name: sim-fixture
    match: {framework: sim-fixture}
    command: ["{{.Agent}}", serve-sim]
    args: [--host=127.0.0.1, "--port={{.Port}}", "--model={{.Model}}", "--max-model-len={{.MaxModelLen}}",
      --ttft=15ms, "--prefill-per-token={{div 24000 .TP}}ns", "--itl={{div 1600 .TP}}us",
      "--itl-per-seq={{div 40 .TP}}us", --chunk-tokens=8, --jitter=0.02, --seed=1, --max-num-seqs=256]
    health: /health
    endpoint: /v1/completions
    ready-timeout: 60s
  - name: sim-fixture-slow
    match: {framework: sim-fixture-slow}
    command: ["{{.Agent}}", serve-sim]
    args: [--host=127.0.0.1, "--port={{.Port}}", "--model={{.Model}}", "--max-model-len={{.MaxModelLen}}",
      --ttft=20ms, "--prefill-per-token={{div 31200 .TP}}ns", "--itl={{div 2080 .TP}}us",
      "--itl-per-seq={{div 52 .TP}}us", --chunk-tokens=8, --jitter=0.02, --seed=1, --max-num-seqs=256]
    health: /health
    endpoint: /v1/completions
    ready-timeout: 60s
  - name: sim-fixture-flaky
    match: {framework: sim-fixture-flaky}
    command: ["{{.Agent}}", serve-sim]
    args: [--host=127.0.0.1, "--port={{.Port}}", "--model={{.Model}}", "--max-model-len={{.MaxModelLen}}",
      --ttft=15ms, "--itl={{div 1600 .TP}}us", --chunk-tokens=8, --fail-rate=0.5, --seed=1]
    health: /health
    endpoint: /v1/completions
    ready-timeout: 60s
  - name: sim-fixture-eval
    match: {framework: sim-fixture-eval}
    command: ["{{.Agent}}", serve-sim]
    args: [--host=127.0.0.1, "--port={{.Port}}", "--model={{.Model}}", "--max-model-len={{.MaxModelLen}}",
      --ttft=15ms, "--prefill-per-token={{div 24000 .TP}}ns", "--itl={{div 1600 .TP}}us",
      "--itl-per-seq={{div 40 .TP}}us", --chunk-tokens=8, --jitter=0.02, --seed=1,
      --mode=script, --script=%[1]s/gsm8k-good.json]
    health: /health
    endpoint: /v1/completions
    ready-timeout: 60s
  - name: sim-fixture-eval-bad
    match: {framework: sim-fixture-eval-bad}
    command: ["{{.Agent}}", serve-sim]
    args: [--host=127.0.0.1, "--port={{.Port}}", "--model={{.Model}}", "--max-model-len={{.MaxModelLen}}",
      --ttft=15ms, "--prefill-per-token={{div 24000 .TP}}ns", "--itl={{div 1600 .TP}}us",
      "--itl-per-seq={{div 40 .TP}}us", --chunk-tokens=8, --jitter=0.02, --seed=1,
      --mode=script, --script=%[1]s/gsm8k-bad.json]
    health: /health
    endpoint: /v1/completions
    ready-timeout: 60s
`

// fixtureSweepCmd selects the matrix the fixture draws from: gpt-oss fp4 on h100 and h200,
// trt and vllm, conc 4-16, with the eval marks.
var fixtureSweepCmd = []string{"full-sweep", "--single-node", "--model-prefix", "gptoss", "--precision", "fp4",
	"--runner-type", "h100", "h200", "--seq-lens", "1k1k", "1k8k", "--min-conc", "4", "--max-conc", "16", "--run-evals"}

// fixtureMultiNodeCmd adds the disaggregated gb200 rows.
var fixtureMultiNodeCmd = []string{"full-sweep", "--multi-node", "--runner-type", "gb200", "--seq-lens", "1k1k", "--max-conc", "64"}

// fixtureJob is one `agent run` of the fixture: the matrix rows of one configuration
// (runner, framework, exp-name, tp, ep; a multi-node row has tp 0 and is picked by its
// precision) with the listed concurrencies, served by engine.
type fixtureJob struct {
	runner, framework, exp string
	tp, ep                 int
	concs                  []int
	engine                 string
	prec                   string // multi-node rows only
}

// multiNodeJob is the disaggregated gb200 row of the fixture, served by the recipes'
// sim-disagg launcher on one node.
var multiNodeJob = fixtureJob{runner: "gb200", framework: "dynamo-sglang", exp: "dsr1_1k1k", concs: []int{64},
	engine: "sim-disagg", prec: "fp4"}

func (j fixtureJob) String() string {
	return fmt.Sprintf("%s %s %s tp%d ep%d conc %v (%s)", j.runner, j.framework, j.exp, j.tp, j.ep, j.concs, j.engine)
}

// oldJobs is testdata/sweep: two GPUs, two frameworks, three concurrencies, a point whose
// load fails, and two eval rows (one accurate, one below its threshold).
var oldJobs = []fixtureJob{
	{"h100", "trt", "gptoss_1k1k", 2, 1, []int{4, 8, 16}, "sim-fixture", ""},
	{"h100", "vllm", "gptoss_1k1k", 2, 1, []int{4, 8, 16}, "sim-fixture", ""},
	{"h200", "vllm", "gptoss_1k1k", 1, 1, []int{4, 8, 16}, "sim-fixture", ""},
	{"h200", "trt", "gptoss_1k1k", 1, 1, []int{4, 8, 16}, "sim-fixture", ""},
	{"h200", "trt", "gptoss_1k1k", 4, 4, []int{8}, "sim-fixture-flaky", ""},
	{"h200", "vllm", "gptoss_1k8k", 8, 1, []int{16}, "sim-fixture-eval", ""},
	{"h100", "vllm", "gptoss_1k8k", 8, 1, []int{16}, "sim-fixture-eval-bad", ""},
	multiNodeJob,
}

// newJobs is testdata/sweep-new: the same 1k1k configurations, h200 on the slower engine
// (a regression compare must flag), h100 trt without conc 4 (a point only in the old set).
var newJobs = []fixtureJob{
	{"h100", "trt", "gptoss_1k1k", 2, 1, []int{8, 16}, "sim-fixture", ""},
	{"h100", "vllm", "gptoss_1k1k", 2, 1, []int{4, 8, 16}, "sim-fixture", ""},
	{"h200", "vllm", "gptoss_1k1k", 1, 1, []int{4, 8, 16}, "sim-fixture-slow", ""},
	{"h200", "trt", "gptoss_1k1k", 1, 1, []int{4, 8, 16}, "sim-fixture-slow", ""},
	multiNodeJob,
}

// keepFile says which files of an eval artifact go into the fixture: meta_env.json and the
// results file. The samples (about 100 KB each) and, in the bmk artifacts, the per-request
// logs (*.requests.jsonl) and server.log are left out to keep the fixture small; collect
// never reads them. The raw client results (<stem>.json) stay, to show they are ignored.
func keepFile(name string) bool {
	return strings.HasSuffix(name, ".json")
}

// TestRegenFixtureSweeps is not parallel: it rewrites the fixture the other tests read.
func TestRegenFixtureSweeps(t *testing.T) {
	if !*regen {
		t.Skip("run with -regen to rerun the agent against the simulator and rewrite the fixture sweeps")
	}
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Minute)
	defer cancel()
	scratch := t.TempDir()
	agent, rows := buildAndExpand(ctx, t, scratch)
	recipes := writeFixtureRecipes(t, scratch)
	for dir, jobs := range map[string][]fixtureJob{"testdata/sweep": oldJobs, "testdata/sweep-new": newJobs} {
		require.NoError(t, os.RemoveAll(dir))
		for i, j := range jobs {
			row, err := j.row(rows)
			require.NoError(t, err)
			out := filepath.Join(scratch, strings.ReplaceAll(dir, "/", "_"), fmt.Sprintf("job%02d", i))
			runFixtureJob(ctx, t, agent, recipes, j, row, out)
			require.NoError(t, layOut(out, dir, j.exp))
		}
	}
}

// buildAndExpand builds the agent and generator binaries and returns the agent's path and
// the generator's matrix rows.
func buildAndExpand(ctx context.Context, t *testing.T, scratch string) (string, []map[string]json.RawMessage) {
	t.Helper()
	agent, gen := filepath.Join(scratch, "agent"), filepath.Join(scratch, "generator")
	for bin, pkg := range map[string]string{agent: "./agent", gen: "./generator"} {
		res, err := execx.OS{}.Run(ctx, execx.Cmd{Name: "go", Args: []string{"build", "-o", bin, pkg}, Dir: repoRoot})
		require.NoError(t, err, "go build %s", pkg)
		require.Equal(t, 0, res.ExitCode, "go build %s", pkg)
	}
	cfg := filepath.Join(repoRoot, "configs")
	var rows []map[string]json.RawMessage
	for _, sweep := range [][]string{fixtureSweepCmd, fixtureMultiNodeCmd} {
		args := append(append([]string{}, sweep...), "--config-files", filepath.Join(cfg, "nvidia-master.yaml"),
			filepath.Join(cfg, "amd-master.yaml"), "--runner-config", filepath.Join(cfg, "runners.yaml"))
		res, err := execx.OS{}.Run(ctx, execx.Cmd{Name: gen, Args: args})
		require.NoError(t, err, "generator")
		require.Equal(t, 0, res.ExitCode, "generator")
		var part []map[string]json.RawMessage
		require.NoError(t, json.Unmarshal(res.Stdout, &part), "generator output")
		rows = append(rows, part...)
	}
	return agent, rows
}

func writeFixtureRecipes(t *testing.T, scratch string) string {
	t.Helper()
	for name, wrong := range map[string]func(int) bool{
		"gsm8k-good.json": func(i int) bool { return i == 3 },
		"gsm8k-bad.json":  func(i int) bool { return i%2 == 1 },
	} {
		script, err := eval.SimScript(wrong)
		require.NoError(t, err)
		require.NoError(t, os.WriteFile(filepath.Join(scratch, name), script, 0o644))
	}
	path := filepath.Join(scratch, "recipes.yaml")
	require.NoError(t, os.WriteFile(path, []byte(fmt.Sprintf(fixtureRecipes, scratch)), 0o644))
	return path
}

// row finds the job's configuration among the matrix rows and returns it with the job's
// concurrency list; every selected concurrency must be in the matrix.
func (j fixtureJob) row(rows []map[string]json.RawMessage) ([]byte, error) {
	var base map[string]json.RawMessage
	found := map[int]bool{}
	for _, r := range rows {
		var g struct {
			Runner    string          `json:"runner"`
			Framework string          `json:"framework"`
			Exp       string          `json:"exp-name"`
			Precision string          `json:"precision"`
			TP        int             `json:"tp"`
			EP        int             `json:"ep"`
			Conc      json.RawMessage `json:"conc"`
			RunEval   bool            `json:"run-eval"`
		}
		b, _ := json.Marshal(r)
		if json.Unmarshal(b, &g) != nil || g.Runner != j.runner || g.Framework != j.framework || g.Exp != j.exp || g.TP != j.tp || g.EP != j.ep ||
			j.prec != "" && g.Precision != j.prec {
			continue
		}
		// single-node rows carry one conc, multi-node rows their list
		var concs []int
		if err := json.Unmarshal(g.Conc, &concs); err != nil {
			var c int
			if json.Unmarshal(g.Conc, &c) != nil {
				continue
			}
			concs = []int{c}
		}
		for _, c := range concs {
			found[c] = true
		}
		// the eval mark sits on one concurrency of a configuration: keep the row that has it
		if base == nil || g.RunEval {
			base = r
		}
	}
	for _, c := range j.concs {
		if !found[c] {
			return nil, fmt.Errorf("%s: conc %d is not in the matrix (%v)", j, c, fixtureSweepCmd)
		}
	}
	row := map[string]json.RawMessage{}
	for k, v := range base {
		row[k] = v
	}
	row["conc"], _ = json.Marshal(j.concs)
	return json.Marshal(row)
}

func runFixtureJob(ctx context.Context, t *testing.T, agent, recipes string, j fixtureJob, row []byte, out string) {
	t.Helper()
	cfg := filepath.Join(repoRoot, "configs")
	if j.engine == "sim-disagg" {
		recipes = filepath.Join(cfg, "recipes.yaml") // the product's disaggregated launcher
	}
	args := []string{"run", "--entry", string(row), "--engine", j.engine, "--recipes", recipes,
		"--inventory", filepath.Join(cfg, "inventory.yaml"),
		// one node name per GPU so the stems of the two GPUs differ, as on real runners;
		// the inventory resolves both to the family "local".
		"--runner-name", "local_" + j.runner, "--runner-type", j.runner + "-sim",
		"--num-prompts", "32", "--num-warmups", "4", "--stop-grace", "2s",
		"--eval-mode", "builtin", "--eval-config", filepath.Join(cfg, "eval-harness.yaml"),
		"--eval-thresholds", filepath.Join(cfg, "eval-thresholds.yaml"), "--out", out}
	start := time.Now()
	res, err := execx.OS{}.Run(ctx, execx.Cmd{Name: agent, Args: args})
	// exit 1 (a failed point or eval) is part of the fixture; anything else is not
	require.False(t, res.ExitCode != 0 && res.ExitCode != 1, "%s: agent run exit %d: %v\n%s", j, res.ExitCode, err, res.Stderr)
	t.Logf("%s: exit %d in %v\n%s", j, res.ExitCode, time.Since(start).Round(time.Second), bytes.TrimSpace(res.Stdout))
}

// layOut moves one run's outputs into the sweep as downloaded artifacts: bmk_<stem>/ per
// point (agg, manifest, raw result) and the eval_<exp>_<stem>/ directories as they are.
func layOut(out, sweep, exp string) error {
	entries, err := os.ReadDir(out)
	if err != nil {
		return err
	}
	var names []string
	for _, e := range entries {
		names = append(names, e.Name())
	}
	sort.Strings(names)
	for _, name := range names {
		src := filepath.Join(out, name)
		if strings.HasPrefix(name, "eval_") {
			if err := copyFiltered(src, filepath.Join(sweep, name)); err != nil {
				return err
			}
			continue
		}
		if !strings.HasPrefix(name, "manifest_") {
			continue
		}
		stem := strings.TrimSuffix(strings.TrimPrefix(name, "manifest_"), ".json")
		dst := filepath.Join(sweep, "bmk_"+stem)
		for _, f := range []string{name, "agg_" + stem + ".json", stem + ".json"} {
			if err := copyFile(filepath.Join(out, f), filepath.Join(dst, f)); err != nil && !os.IsNotExist(err) {
				return err
			}
		}
	}
	return nil
}

func copyFiltered(src, dst string) error {
	entries, err := os.ReadDir(src)
	if err != nil {
		return err
	}
	for _, e := range entries {
		if !e.IsDir() && keepFile(e.Name()) {
			if err := copyFile(filepath.Join(src, e.Name()), filepath.Join(dst, e.Name())); err != nil {
				return err
			}
		}
	}
	return nil
}

func copyFile(src, dst string) error {
	b, err := os.ReadFile(src)
	if err != nil {
		return err
	}
	if err := os.MkdirAll(filepath.Dir(dst), 0o755); err != nil {
		return err
	}
	return os.WriteFile(dst, b, 0o644)
}
