package workflowtest

import (
	"archive/zip"
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"io/fs"
	"net"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	evalpkg "github.com/inferbench/inferbench/internal/eval"
	"github.com/inferbench/inferbench/internal/execx"
	"github.com/inferbench/inferbench/internal/result"
	"github.com/inferbench/inferbench/internal/testkit"
)

// Pinned actions the workflows use, mapped to the stand-ins in testdata/actions under act.
var actStandIns = map[string]string{
	"actions/checkout@11bd71901bbe5b1630ceea73d27597364c9af683":          "checkout",
	"actions/setup-go@d35c59abb061a4a6fb18e82ac0862c26744d6ab5":          "setup-go",
	"actions/upload-artifact@ea165f8d65b6e75b540449e92b4886f43607fa02":   "upload-artifact",
	"actions/download-artifact@d3f86a106a0bac45b974a628896c90dbdf5c8093": "download-artifact",
}

// actRepo is github.repository under act.
const actRepo = "inferbench/inferbench"

// e2eNode is RUNNER_NAME of the act "machine": inventory family "local" (configs/inventory.yaml)
// serves rows of framework "sim" with the agent's simulator; testdata/e2e/runners.yaml lists it.
const e2eNode = "local_0"

// actEnv is one prepared act run: a copy of the repository as a fresh git repository, the
// artifact stand-in and an artifact server directory.
type actEnv struct {
	act, ws, artifacts, stub, cache string
	port                            int
}

// actBinary finds nektos/act: $ACT, then PATH, then $HOME/go/bin (where
// `go install github.com/nektos/act@v0.2.89` puts it).
func actBinary(t *testing.T) string {
	t.Helper()
	cands := []string{os.Getenv("ACT")}
	for _, dir := range filepath.SplitList(os.Getenv("PATH")) {
		cands = append(cands, filepath.Join(dir, "act"))
	}
	if home, err := os.UserHomeDir(); err == nil {
		cands = append(cands, filepath.Join(home, "go", "bin", "act"))
	}
	for _, c := range cands {
		if c != "" && isFile(c) {
			return c
		}
	}
	testkit.Integration(t, "act", false, "GOBIN=$HOME/go/bin go install github.com/nektos/act@v0.2.89")
	return ""
}

// newActEnv prepares a workspace: the repository plus extra files (path relative to the
// root -> content) that the test writes before committing it.
func newActEnv(t *testing.T, extra map[string][]byte) *actEnv {
	t.Helper()
	e := &actEnv{act: actBinary(t)}
	_, err := os.Stat(filepath.Join(repoRoot(t), "action.yml"))
	require.NoError(t, err, "the workflows generate their matrix through the root action.yml, which is missing")
	tmp := t.TempDir()
	e.ws, e.artifacts, e.cache = filepath.Join(tmp, "repo"), filepath.Join(tmp, "artifacts"), filepath.Join(tmp, "act-cache")
	copyTree(t, repoRoot(t), e.ws)
	for rel, b := range extra {
		require.NoError(t, os.WriteFile(filepath.Join(e.ws, filepath.FromSlash(rel)), b, 0o644))
	}
	e.git(t, "init", "-q", "-b", "main")
	// act takes github.repository from the origin remote; the fork guard compares with it.
	e.git(t, "remote", "add", "origin", "https://github.com/"+actRepo+".git")
	e.git(t, "add", "-A")
	e.git(t, "commit", "-q", "-m", "workspace for act")
	e.stub = filepath.Join(tmp, "bin", "artifactstub")
	run(t, execx.Cmd{Name: "go", Args: []string{"build", "-o", e.stub, "./internal/workflowtest/artifactstub"}, Dir: repoRoot(t)})
	e.port = freePort(t)
	return e
}

// git runs git in the workspace and returns its trimmed output.
func (e *actEnv) git(t *testing.T, args ...string) string {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	res, err := execx.OS{}.Run(ctx, execx.Cmd{Name: "git", Dir: e.ws,
		Args: append([]string{"-c", "user.email=act@inferbench.test", "-c", "user.name=act"}, args...)})
	require.NoError(t, err)
	return strings.TrimSpace(string(res.Stdout))
}

// args are act's arguments for one workflow_dispatch of workflow with inputs.
func (e *actEnv) args(t *testing.T, workflow string, inputs map[string]string, extra ...string) []string {
	t.Helper()
	a := []string{"workflow_dispatch", "-W", ".github/workflows/" + workflow,
		"-P", "ubuntu-latest=-self-hosted", "-P", "self-hosted=-self-hosted", "-P", "sim=-self-hosted",
		"--artifact-server-path", e.artifacts, "--artifact-server-addr", "127.0.0.1",
		"--artifact-server-port", strconv.Itoa(e.port),
		"--env", "ARTIFACTSTUB=" + e.stub, "--env", "RUNNER_NAME=" + e2eNode, "--env", "ACT_CHECKOUT_SOURCE=" + e.ws,
		"--concurrent-jobs", "2",
		// Job workspaces go below the test's temporary directory, not ~/.cache/act.
		"--action-cache-path", e.cache,
	}
	for uses, dir := range actStandIns {
		a = append(a, "--local-repository", uses+"="+filepath.Join(repoRoot(t), "internal", "workflowtest", "testdata", "actions", dir))
	}
	for k, v := range inputs {
		a = append(a, "--input", k+"="+v)
	}
	return append(a, extra...)
}

// run runs act in the workspace; any stray network access goes to a dead loopback proxy.
func (e *actEnv) run(t *testing.T, timeout time.Duration, args []string) (string, error) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), timeout)
	defer cancel()
	env := append(os.Environ(), "HTTPS_PROXY=http://127.0.0.1:9", "HTTP_PROXY=http://127.0.0.1:9", "NO_PROXY=127.0.0.1,localhost")
	var log bytes.Buffer
	start := time.Now()
	_, err := execx.OS{}.Run(ctx, execx.Cmd{Name: e.act, Args: args, Dir: e.ws, Env: env, Stdout: &log, Stderr: &log})
	t.Logf("act took %s", time.Since(start).Round(time.Second))
	return log.String(), err
}

// Test inputs under testdata/e2e. recipes.yaml serves framework sim with the simulator in
// script mode, reading the gsm8k answers the test writes to scriptFile (eval.SimScript).
const (
	e2eDir     = "internal/workflowtest/testdata/e2e"
	scriptFile = e2eDir + "/gsm8k-script.json"
)

// TestE2EDispatchUnderAct runs e2e.yml as a person would from the Actions tab: a command in
// the box becomes a matrix, every row becomes a benchmark job that runs `agent run` against
// the simulator, the jobs' artifacts reach act's artifact server, and collect.yml turns them
// into agg_bmk.json, agg_eval_all.json and run_stats.json. The simeval row has run-eval: its
// job runs the builtin gsm8k eval (INFERBENCH_EVAL_MODE, a runner setting) against the
// simulator answering from a script (INFERBENCH_RECIPES), and uploads eval_<exp>_<stem>.
func TestE2EDispatchUnderAct(t *testing.T) {
	t.Parallel() // act runs are independent: own workspace, artifact server and port
	script, err := evalpkg.SimScript(nil)
	require.NoError(t, err)
	e := newActEnv(t, map[string][]byte{scriptFile: script})
	command := "full-sweep --single-node --run-evals" +
		" --config-files " + e2eDir + "/master.yaml" +
		" --runner-config " + e2eDir + "/runners.yaml"
	out, err := e.run(t, 10*time.Minute, e.args(t, "e2e.yml", map[string]string{"command": command, "test-name": "act"},
		"--env", "INFERBENCH_RECIPES="+e2eDir+"/recipes.yaml", "--env", "INFERBENCH_EVAL_MODE=builtin"))
	require.NoError(t, err, "act failed: %v\n%s", err, tail(out, 120))
	t.Log(logLine(out, "collect: "))
	// The names benchmark.yml builds in expressions must be the agent's own (internal/result),
	// e.g. simtiny_128_16_fp8_sim_tp1-ep1-dpafalse_disagg-false_spec-none_conc1_local_0.
	var wantStems []string
	for _, conc := range []int{1, 2} {
		wantStems = append(wantStems, result.SingleNodeStem("simtiny_128_16", "fp8", "sim", 1, 1, false, false, "none", conc, e2eNode))
	}
	evalStem := result.SingleNodeStem("simeval_1k8k", "fp8", "sim", 1, 1, false, false, "none", 1, e2eNode)
	wantStems = append(wantStems, evalStem)
	arts := artifactsByName(t, e.artifacts)
	for _, stem := range wantStems {
		checkArtifact(t, arts, result.BenchArtifact(stem), result.AggFile(stem), result.ManifestFile(stem))
		checkArtifact(t, arts, result.ServerLogArtifact(stem), result.ServerLogFile)
	}
	records := aggRecords(t, arts)
	assert.Len(t, records, len(wantStems), "agg_bmk.json")
	for _, r := range records {
		assert.Equal(t, "sim", r["hw"], "record")
		assert.False(t, r["infmax_model_prefix"] != "simtiny" && r["infmax_model_prefix"] != "simeval", "record hw")
	}
	checkRunStats(t, arts, len(wantStems))

	// The eval artifact holds the eval's files at its top level, as the reference's does.
	evalArt := result.EvalArtifact("simeval_1k8k", evalStem)
	checkArtifact(t, arts, evalArt, evalpkg.MetaEnvFile)
	var results, samples int
	for f := range arts[evalArt] {
		switch {
		case strings.HasPrefix(f, "results") && strings.HasSuffix(f, ".json") && !strings.Contains(f, "/"):
			results++
		case strings.HasPrefix(f, "samples") && strings.HasSuffix(f, ".jsonl") && !strings.Contains(f, "/"):
			samples++
		}
	}
	assert.Equal(t, 1, results, "artifact %s", evalArt)
	assert.NotEqual(t, 0, samples, "artifact %s", evalArt)
	var evals []result.EvalRow
	require.NoError(t, json.Unmarshal(arts["eval_results_all"]["agg_eval_all.json"], &evals), "eval_results_all/agg_eval_all.json")
	require.Len(t, evals, 1, "agg_eval_all.json has %d rows, want 1: %+v", len(evals), evals)
	r := evals[0]
	assert.Equal(t, "gsm8k", r.Task, "agg_eval_all.json row")
	assert.Equal(t, "SIM", r.HW, "agg_eval_all.json row")
	assert.Equal(t, 1, r.Conc, "agg_eval_all.json row")
	require.NotNil(t, r.Score, "agg_eval_all.json row")
	assert.GreaterOrEqual(t, *r.Score, 0.85, "agg_eval_all.json row")
}

// TestE2EMultiNodeUnderAct dispatches a multi-node sweep: the disaggregated row (framework
// sim-disagg: a frontend and one simulator per prefill and decode worker on this machine)
// runs as one benchmark job whose RESULT_FILENAME follows the multi-node grammar, its
// per-point files (<stem>_conc<C>_gpus_<G>_ctx_<P>_gen_<D>) reach bmk_<stem>, and their agg
// records reach agg_bmk.json.
func TestE2EMultiNodeUnderAct(t *testing.T) {
	t.Parallel() // act runs are independent: own workspace, artifact server and port
	e := newActEnv(t, nil)
	command := "full-sweep --multi-node" +
		" --config-files " + e2eDir + "/master-multinode.yaml" +
		" --runner-config " + e2eDir + "/runners.yaml"
	out, err := e.run(t, 10*time.Minute, e.args(t, "e2e.yml", map[string]string{"command": command, "test-name": "act-multinode"}))
	require.NoError(t, err, "act failed: %v\n%s", err, tail(out, 120))
	t.Log(logLine(out, "collect: "))
	stem := result.MultiNodeStem("simtiny_128_16", "fp8", "sim-disagg",
		result.Workers{TP: 1, EP: 1, NumWorkers: 1}, result.Workers{TP: 1, EP: 1, NumWorkers: 2}, true, "none", []int{1, 2}, e2eNode)
	var want []string
	for _, conc := range []int{1, 2} {
		point := fmt.Sprintf("%s_conc%d_gpus_3_ctx_1_gen_2", stem, conc)
		want = append(want, result.AggFile(point), result.ManifestFile(point))
	}
	arts := artifactsByName(t, e.artifacts)
	checkArtifact(t, arts, result.BenchArtifact(stem), want...)
	checkArtifact(t, arts, result.ServerLogArtifact(stem), result.ServerLogFile)
	records := aggRecords(t, arts)
	assert.Len(t, records, 2, "agg_bmk.json")
	for _, r := range records {
		assert.Equal(t, "sim", r["hw"], "record")
		assert.Equal(t, true, r["is_multinode"], "record")
		assert.Equal(t, 1.0, r["num_prefill_gpu"], "record")
		assert.Equal(t, 2.0, r["num_decode_gpu"], "record")
	}
	checkRunStats(t, arts, 2)
}

// TestE2EStatusRecordOfEarlyDeath: when the agent dies before it can write a status record
// (here: the runner's INFERBENCH_RECIPES names no file, a usage error), benchmark.yml writes
// manifest_<RESULT_FILENAME>.json itself and uploads it, for a single-node and a multi-node
// row alike, so the success rate counts the job as failed instead of losing it.
func TestE2EStatusRecordOfEarlyDeath(t *testing.T) {
	t.Parallel() // act runs are independent: own workspace, artifact server and port
	multiStem := result.MultiNodeStem("simtiny_128_16", "fp8", "sim-disagg",
		result.Workers{TP: 1, EP: 1, NumWorkers: 1}, result.Workers{TP: 1, EP: 1, NumWorkers: 2}, true, "none", []int{1, 2}, e2eNode)
	for _, tc := range []struct {
		kind, args string
		stems      []string
	}{
		{"single-node", "--single-node --config-files " + e2eDir + "/master.yaml", []string{
			result.SingleNodeStem("simtiny_128_16", "fp8", "sim", 1, 1, false, false, "none", 1, e2eNode),
			result.SingleNodeStem("simtiny_128_16", "fp8", "sim", 1, 1, false, false, "none", 2, e2eNode),
			result.SingleNodeStem("simeval_1k8k", "fp8", "sim", 1, 1, false, false, "none", 1, e2eNode),
		}},
		{"multi-node", "--multi-node --config-files " + e2eDir + "/master-multinode.yaml", []string{multiStem}},
	} {
		t.Run(tc.kind, func(t *testing.T) {
			e := newActEnv(t, nil)
			command := "full-sweep " + tc.args + " --runner-config " + e2eDir + "/runners.yaml"
			out, err := e.run(t, 10*time.Minute, e.args(t, "e2e.yml", map[string]string{"command": command, "test-name": "act-" + tc.kind},
				"--env", "INFERBENCH_RECIPES="+e2eDir+"/no-such-recipes.yaml"))
			require.Error(t, err, "act succeeded although no benchmark job could start its agent:\n%s", tail(out, 60))
			arts := artifactsByName(t, e.artifacts)
			for _, stem := range tc.stems {
				name := result.ManifestFile(stem)
				checkArtifact(t, arts, result.BenchArtifact(stem), name)
				var m result.Manifest
				if !assert.NoError(t, json.Unmarshal(arts[result.BenchArtifact(stem)][name], &m), name) {
					continue
				}
				assert.Equal(t, result.StatusError, m.Status, "%s", name)
				assert.Equal(t, stem, m.ResultFilename, "%s", name)
				assert.Equal(t, "sim", m.HW, "%s", name)
				assert.Equal(t, e2eNode, m.Runner, "%s", name)
			}
			// act ends the run at the failed benchmark job, so collect.yml's `if: always()`
			// job does not run here; its command does, on the uploaded bmk_* artifacts.
			checkRunStatsOf(t, map[string]map[string][]byte{"run-stats": collectLocally(t, arts)}, 0, len(tc.stems))
		})
	}
}

// collectLocally runs collect.yml's aggregation (`agent collect`) on the bmk_* artifacts,
// downloaded one directory per artifact as download-artifact does, and returns its outputs.
func collectLocally(t *testing.T, arts map[string]map[string][]byte) map[string][]byte {
	t.Helper()
	dir := t.TempDir()
	results, out, agent := filepath.Join(dir, "results"), filepath.Join(dir, "out"), filepath.Join(dir, "agent")
	for name, files := range arts {
		if !strings.HasPrefix(name, "bmk_") {
			continue
		}
		for f, b := range files {
			p := filepath.Join(results, name, filepath.FromSlash(f))
			require.NoError(t, os.MkdirAll(filepath.Dir(p), 0o755))
			require.NoError(t, os.WriteFile(p, b, 0o644))
		}
	}
	run(t, execx.Cmd{Name: "go", Args: []string{"build", "-o", agent, "./agent"}, Dir: repoRoot(t)})
	run(t, execx.Cmd{Name: agent, Args: []string{"collect", "-o", out, "-name", "bmk", "-eval-name", "all", results}})
	b, err := os.ReadFile(filepath.Join(out, "run_stats.json"))
	require.NoError(t, err)
	return map[string][]byte{"run_stats.json": b}
}

// checkArtifact reports a missing artifact or a file it lacks.
func checkArtifact(t *testing.T, arts map[string]map[string][]byte, name string, files ...string) {
	t.Helper()
	got, ok := arts[name]
	if !assert.True(t, ok, "no artifact %s; artifacts: %v", name, keys(arts)) {
		return
	}
	for _, f := range files {
		_, ok := got[f]
		assert.True(t, ok, "artifact %s lacks %s (has %v)", name, f, keys(got))
	}
}

// aggRecords reads results_bmk/agg_bmk.json.
func aggRecords(t *testing.T, arts map[string]map[string][]byte) []map[string]any {
	t.Helper()
	agg := arts["results_bmk"]["agg_bmk.json"]
	var records []map[string]any
	err := json.Unmarshal(agg, &records)
	require.NoError(t, err, "results_bmk/agg_bmk.json: %v\n%s", err, agg)
	return records
}

// checkRunStats wants every one of n points of runner type sim successful in run_stats.json.
func checkRunStats(t *testing.T, arts map[string]map[string][]byte, n int) {
	t.Helper()
	checkRunStatsOf(t, arts, n, n)
}

// checkRunStatsOf wants success of total jobs of runner type sim in run_stats.json.
func checkRunStatsOf(t *testing.T, arts map[string]map[string][]byte, success, total int) {
	t.Helper()
	var stats map[string]struct {
		NSuccess int `json:"n_success"`
		Total    int `json:"total"`
	}
	require.NoError(t, json.Unmarshal(arts["run-stats"]["run_stats.json"], &stats), "run-stats/run_stats.json")
	s := stats["sim"]
	assert.Equal(t, success, s.NSuccess, "run_stats.json sim")
	assert.Equal(t, total, s.Total, "run_stats.json sim")
}

// TestCommandBoxInjectionStaysLiteral types shell syntax into the command box. None of it
// may run: it reaches the generator as words, which rejects them as a usage error quoting
// them verbatim.
func TestCommandBoxInjectionStaysLiteral(t *testing.T) {
	t.Parallel() // act runs are independent: own workspace, artifact server and port
	e := newActEnv(t, nil)
	marker := filepath.Join(t.TempDir(), "pwned")
	// Each would create a marker file if a shell ever evaluated the command box.
	payloads := []string{
		"$(touch " + marker + "-1)",
		"`touch " + marker + "-2`",
		"; touch " + marker + "-3 ;",
		"\"; touch " + marker + "-4; echo \"",
		"' && touch " + marker + "-5 && '",
		"\ntouch " + marker + "-6",
		"| touch " + marker + "-7",
	}
	// The filter values are harmless words to the generator; the quoted --step-size value
	// reaches it as one word, which it rejects, quoting it: proof it arrived as text.
	command := "full-sweep --single-node --config-files internal/workflowtest/testdata/e2e/master.yaml" +
		" --runner-config internal/workflowtest/testdata/e2e/runners.yaml --model-prefix " + strings.Join(payloads[1:], " ") +
		" --step-size '" + payloads[0] + "'"
	out, err := e.run(t, 5*time.Minute, e.args(t, "e2e.yml", map[string]string{"command": command}, "-j", "setup"))
	matches, _ := filepath.Glob(marker + "*")
	assert.Empty(t, matches, "the command box ran shell code: %v exist", matches)
	assert.Error(t, err, "act succeeded; the generator should have rejected --step-size")
	want := "invalid int value: '" + payloads[0] + "'"
	assert.Contains(t, out, want, "generator output does not quote the payload literally (%q):\n%s", want, tail(out, 60))
	t.Log(logLine(out, "invalid int value"))
}

// artifactsByName reads act's artifact store (<dir>/<run>/<name>/<name>.zip) into
// name -> file -> content.
func artifactsByName(t *testing.T, dir string) map[string]map[string][]byte {
	t.Helper()
	out := map[string]map[string][]byte{}
	err := filepath.WalkDir(dir, func(p string, d fs.DirEntry, err error) error {
		if err != nil || d.IsDir() || !strings.HasSuffix(p, ".zip") {
			return err
		}
		name := strings.TrimSuffix(filepath.Base(p), ".zip")
		zr, err := zip.OpenReader(p)
		if err != nil {
			return fmt.Errorf("%s: %w", p, err)
		}
		defer zr.Close()
		files := map[string][]byte{}
		for _, f := range zr.File {
			rc, err := f.Open()
			if err != nil {
				return err
			}
			b, err := io.ReadAll(rc)
			rc.Close()
			if err != nil {
				return err
			}
			files[f.Name] = b
		}
		out[name] = files
		return nil
	})
	require.NoError(t, err)
	return out
}

// copyTree copies the repository without .git and without large build outputs.
func copyTree(t *testing.T, src, dst string) {
	t.Helper()
	err := filepath.WalkDir(src, func(p string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		rel, _ := filepath.Rel(src, p)
		if d.Name() == ".git" && !d.IsDir() {
			// A linked worktree's .git is a file naming the real repository: copied, it
			// would make the workspace's git init and commit act on that repository.
			return nil
		}
		if d.IsDir() {
			if d.Name() == ".git" || d.Name() == "node_modules" {
				return filepath.SkipDir
			}
			return os.MkdirAll(filepath.Join(dst, rel), 0o755)
		}
		info, err := d.Info()
		if err != nil || !info.Mode().IsRegular() || info.Size() > 4<<20 {
			return err // binaries built in place (agent/agent) are not part of the tree
		}
		b, err := os.ReadFile(p)
		if err != nil {
			return err
		}
		return os.WriteFile(filepath.Join(dst, rel), b, info.Mode().Perm())
	})
	require.NoError(t, err)
}

func run(t *testing.T, c execx.Cmd) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Minute)
	defer cancel()
	_, err := (execx.OS{}).Run(ctx, c)
	require.NoError(t, err)
}

// freePort asks the OS for a free loopback port for act's artifact server.
func freePort(t *testing.T) int {
	t.Helper()
	l, err := net.Listen("tcp", "127.0.0.1:0")
	require.NoError(t, err)
	defer l.Close()
	return l.Addr().(*net.TCPAddr).Port
}

// logLine is the first line of log containing s, for the test's own log.
func logLine(log, s string) string {
	for _, l := range strings.Split(log, "\n") {
		if strings.Contains(l, s) {
			return strings.TrimSpace(l)
		}
	}
	return ""
}

func tail(s string, n int) string {
	lines := strings.Split(s, "\n")
	if len(lines) > n {
		lines = lines[len(lines)-n:]
	}
	return strings.Join(lines, "\n")
}

func keys[V any](m map[string]V) []string {
	out := make([]string, 0, len(m))
	for k := range m {
		out = append(out, k)
	}
	return out
}
