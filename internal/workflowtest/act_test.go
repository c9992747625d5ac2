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

	"github.com/inferbench/inferbench/internal/execx"
	"github.com/inferbench/inferbench/internal/result"
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
	requireIntegration(t, "nektos/act is not installed (GOBIN=$HOME/go/bin go install github.com/nektos/act@v0.2.89)")
	return ""
}

func newActEnv(t *testing.T) *actEnv {
	t.Helper()
	e := &actEnv{act: actBinary(t)}
	if _, err := os.Stat(filepath.Join(repoRoot(t), "action.yml")); err != nil {
		t.Fatalf("the workflows generate their matrix through the root action.yml, which is missing: %v", err)
	}
	tmp := t.TempDir()
	e.ws, e.artifacts, e.cache = filepath.Join(tmp, "repo"), filepath.Join(tmp, "artifacts"), filepath.Join(tmp, "act-cache")
	copyTree(t, repoRoot(t), e.ws)
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
	if err != nil {
		t.Fatal(err)
	}
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

// TestE2EDispatchUnderAct runs e2e.yml as a person would from the Actions tab: a command in
// the box becomes a matrix, every row becomes a benchmark job that runs `agent run` against
// the simulator, the jobs' artifacts reach act's artifact server, and collect.yml turns them
// into agg_bmk.json and run_stats.json.
func TestE2EDispatchUnderAct(t *testing.T) {
	e := newActEnv(t)
	command := "full-sweep --single-node" +
		" --config-files internal/workflowtest/testdata/e2e/master.yaml" +
		" --runner-config internal/workflowtest/testdata/e2e/runners.yaml"
	out, err := e.run(t, 10*time.Minute, e.args(t, "e2e.yml", map[string]string{"command": command, "test-name": "act"}))
	if err != nil {
		t.Fatalf("act failed: %v\n%s", err, tail(out, 120))
	}
	t.Log(logLine(out, "collect: "))
	// The names benchmark.yml builds in expressions must be the agent's own (internal/result),
	// e.g. simtiny_128_16_fp8_sim_tp1-ep1-dpafalse_disagg-false_spec-none_conc1_local_0.
	var wantStems []string
	for _, conc := range []int{1, 2} {
		wantStems = append(wantStems, result.SingleNodeStem("simtiny_128_16", "fp8", "sim", 1, 1, false, false, "none", conc, e2eNode))
	}
	arts := artifactsByName(t, e.artifacts)
	for _, stem := range wantStems {
		files := arts["bmk_"+stem]
		if files == nil {
			t.Errorf("no artifact bmk_%s; artifacts: %v", stem, keys(arts))
			continue
		}
		for _, f := range []string{"agg_" + stem + ".json", "manifest_" + stem + ".json"} {
			if _, ok := files[f]; !ok {
				t.Errorf("artifact bmk_%s lacks %s (has %v)", stem, f, keys(files))
			}
		}
		if arts["server_logs_"+stem] == nil {
			t.Errorf("no artifact server_logs_%s", stem)
		}
	}
	agg := arts["results_bmk"]["agg_bmk.json"]
	var records []map[string]any
	if err := json.Unmarshal(agg, &records); err != nil {
		t.Fatalf("results_bmk/agg_bmk.json: %v\n%s", err, agg)
	}
	if len(records) != len(wantStems) {
		t.Errorf("agg_bmk.json has %d records, want %d:\n%s", len(records), len(wantStems), agg)
	}
	for _, r := range records {
		if r["hw"] != "sim" || r["infmax_model_prefix"] != "simtiny" {
			t.Errorf("record hw=%v infmax_model_prefix=%v, want sim, simtiny", r["hw"], r["infmax_model_prefix"])
		}
	}
	var stats map[string]struct {
		NSuccess int `json:"n_success"`
		Total    int `json:"total"`
	}
	if err := json.Unmarshal(arts["run-stats"]["run_stats.json"], &stats); err != nil {
		t.Fatalf("run-stats/run_stats.json: %v", err)
	}
	if s := stats["sim"]; s.NSuccess != 2 || s.Total != 2 {
		t.Errorf("run_stats.json sim = %+v, want 2 of 2 successful; all: %+v", s, stats)
	}
}

// TestCommandBoxInjectionStaysLiteral types shell syntax into the command box. None of it
// may run: it reaches the generator as words, which rejects them as a usage error quoting
// them verbatim.
func TestCommandBoxInjectionStaysLiteral(t *testing.T) {
	e := newActEnv(t)
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
	if len(matches) > 0 {
		t.Errorf("the command box ran shell code: %v exist", matches)
	}
	if err == nil {
		t.Errorf("act succeeded; the generator should have rejected --step-size %q", payloads[0])
	}
	if want := "invalid int value: '" + payloads[0] + "'"; !strings.Contains(out, want) {
		t.Errorf("generator output does not quote the payload literally (%q):\n%s", want, tail(out, 60))
	}
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
	if err != nil {
		t.Fatal(err)
	}
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
	if err != nil {
		t.Fatal(err)
	}
}

func run(t *testing.T, c execx.Cmd) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Minute)
	defer cancel()
	if _, err := (execx.OS{}).Run(ctx, c); err != nil {
		t.Fatal(err)
	}
}

// freePort asks the OS for a free loopback port for act's artifact server.
func freePort(t *testing.T) int {
	t.Helper()
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
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
