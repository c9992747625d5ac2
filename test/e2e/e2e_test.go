// Package e2e runs the agent binary end to end against real components: a local process,
// the Docker daemon and the localhost Slurm cluster. Tests that need a component skip when it
// is missing, unless INFERBENCH_INTEGRATION=1 (CI), where a missing component fails.
package e2e

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/inferbench/inferbench/internal/execx"
	"github.com/inferbench/inferbench/internal/result"
	"github.com/inferbench/inferbench/internal/testkit"
)

var (
	binDir   string
	agentBin string
	buildErr error
	once     sync.Once
)

func TestMain(m *testing.M) {
	var err error
	binDir, err = os.MkdirTemp("", "inferbench-e2e-")
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(1)
	}
	code := m.Run()
	os.RemoveAll(binDir)
	os.Exit(code)
}

// agent builds the agent once per test binary: static, so it also runs in a FROM-scratch image.
func agent(t *testing.T) string {
	t.Helper()
	once.Do(func() {
		agentBin = filepath.Join(binDir, "agent")
		env := append(os.Environ(), "CGO_ENABLED=0")
		_, buildErr = execx.OS{}.Run(context.Background(), execx.Cmd{Name: "go", Args: []string{"build", "-o", agentBin, "../../agent"}, Env: env})
	})
	require.NoError(t, buildErr, "building the agent")
	return agentBin
}

// howToGet says how CI provides each component the tests need.
var howToGet = map[string]string{
	"docker":   "bash .ci/services.sh all starts dockerd",
	"slurm":    "bash .ci/services.sh all starts a one-node Slurm cluster",
	"chromium": "apt-get install chromium",
	"local":    "always available",
	// the runner nodes of testdata/inventory.yaml
	"ci-docker_0": "bash .ci/services.sh all starts dockerd",
	"ci-slurm_0":  "bash .ci/services.sh all starts a one-node Slurm cluster",
	"ci-local_0":  "always available",
}

func need(t *testing.T, what string, ok bool) {
	t.Helper()
	testkit.Integration(t, what, ok, howToGet[what])
}

func run(ctx context.Context, name string, args ...string) (string, error) {
	res, err := execx.OS{}.Run(ctx, execx.Cmd{Name: name, Args: args})
	return strings.TrimSpace(string(res.Stdout)), err
}

func ctxT(t *testing.T, d time.Duration) context.Context {
	ctx, cancel := context.WithTimeout(context.Background(), d)
	t.Cleanup(cancel)
	return ctx
}

// row is a matrix row for the simulator.
func row(framework string, tp int, conc ...int) string {
	cs, _ := json.Marshal(conc)
	return fmt.Sprintf(`{"image": "%s", "model": "sim-model", "model-prefix": "sim", "precision": "fp8", "framework": %q,
 "runner": "ci", "isl": 64, "osl": 16, "tp": %d, "conc": %s, "max-model-len": 280, "ep": 1, "dp-attn": false,
 "spec-decoding": "none", "exp-name": "sim_64_16", "disagg": false, "run-eval": false}`, simImage, framework, tp, cs)
}

// agentRun is one `agent run` invocation.
type agentRun struct {
	framework string
	tp        int
	runID     string
	out       string
	stdout    string
	stderr    *syncBuffer
	code      int
}

type syncBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (s *syncBuffer) Write(p []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.Write(p)
}

func (s *syncBuffer) String() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.String()
}

func newRun(t *testing.T, framework string, tp int) *agentRun {
	return &agentRun{framework: framework, tp: tp, runID: fmt.Sprintf("e2e%d", time.Now().UnixNano()%1e9),
		out: t.TempDir(), stderr: &syncBuffer{}}
}

func (a *agentRun) entry(conc ...int) string { return row(a.framework, a.tp, conc...) }

func (a *agentRun) cmd(t *testing.T, recipes, runner, entry string, extra ...string) execx.Cmd {
	t.Helper()
	args := []string{"run", "--entry", entry, "--runner-name", runner, "--out", a.out, "--run-id", a.runID,
		"--recipes", recipes, "--inventory", "testdata/inventory.yaml", "--ready-interval", "100ms", "--stop-grace", "5s",
		"--timeout", "150s"}
	return execx.Cmd{Name: agent(t), Args: append(args, extra...), Stderr: a.stderr}
}

// exec runs the agent to completion.
func (a *agentRun) exec(t *testing.T, recipes, runner, entry string, extra ...string) {
	t.Helper()
	res, err := execx.OS{}.Run(ctxT(t, 3*time.Minute), a.cmd(t, recipes, runner, entry, extra...))
	a.stdout, a.code = string(res.Stdout), res.ExitCode
	require.False(t, err != nil && res.ExitCode < 0, "agent run: %v", err)
	t.Logf("agent run exit %d\n%s", a.code, a.stderr)
}

func (a *agentRun) manifest(t *testing.T, conc int, runner string) *result.Manifest {
	t.Helper()
	stem := fmt.Sprintf("sim_64_16_fp8_%s_tp%d-ep1-dpafalse_disagg-false_spec-none_conc%d_%s", a.framework, a.tp, conc, runner)
	var m result.Manifest
	b, err := os.ReadFile(filepath.Join(a.out, result.ManifestFile(stem)))
	if err != nil {
		entries, _ := os.ReadDir(a.out)
		var names []string
		for _, e := range entries {
			names = append(names, e.Name())
		}
		require.NoError(t, err, "manifest for conc %d (outputs: %v)", conc, names)
	}
	require.NoError(t, json.Unmarshal(b, &m))
	return &m
}

// wantOutputs checks that every file of a successful point is there and well-formed.
func wantOutputs(t *testing.T, a *agentRun, m *result.Manifest) {
	t.Helper()
	for _, f := range []string{result.RawFile(m.ResultFilename), result.AggFile(m.ResultFilename), result.ManifestFile(m.ResultFilename), result.ServerLogFile} {
		b, err := os.ReadFile(filepath.Join(a.out, f))
		if !assert.NoError(t, err, "output %s missing", f) || !assert.NotEmpty(t, b, "output %s empty", f) {
			continue
		}
		assert.False(t, strings.HasSuffix(f, ".json") && !json.Valid(b), "%s is not valid JSON", f)
	}
	var agg result.Agg
	b, _ := os.ReadFile(filepath.Join(a.out, result.AggFile(m.ResultFilename)))
	require.NoError(t, json.Unmarshal(b, &agg), "agg")
	assert.Equal(t, m.Conc, agg.Conc, "agg record")
	assert.Greater(t, agg.TputPerGPU, float64(0), "agg record")
	assert.Equal(t, "ci", agg.HW, "agg record")
}

const simImage = "inferbench-e2e/agent-sim:test"

// buildImage builds an image FROM scratch holding only the agent binary.
func buildImage(t *testing.T, ctx context.Context) {
	t.Helper()
	dir := t.TempDir()
	b, err := os.ReadFile(agent(t))
	require.NoError(t, err)
	require.NoError(t, os.WriteFile(filepath.Join(dir, "agent"), b, 0o755))
	df := "FROM scratch\nCOPY agent /agent\nENTRYPOINT [\"/agent\"]\n"
	require.NoError(t, os.WriteFile(filepath.Join(dir, "Dockerfile"), []byte(df), 0o644))
	_, err = run(ctx, "docker", "build", "-q", "-t", simImage, dir)
	require.NoError(t, err, "docker build")
}

func dockerUp(ctx context.Context) bool {
	_, err := run(ctx, "docker", "info", "--format", "{{.ServerVersion}}")
	return err == nil
}

func slurmUp(ctx context.Context) bool {
	out, err := run(ctx, "timeout", "5", "sinfo", "-h", "-o", "%t")
	return err == nil && (strings.Contains(out, "idle") || strings.Contains(out, "mix") || strings.Contains(out, "alloc"))
}

// containersOf lists containers (running or not) labelled with the run id.
func containersOf(t *testing.T, ctx context.Context, runID string) string {
	out, err := run(ctx, "docker", "ps", "-aq", "--filter", "label=io.inferbench.run="+runID)
	require.NoError(t, err, "docker ps")
	return out
}

// jobsOf lists Slurm jobs whose name carries the run id.
func jobsOf(t *testing.T, ctx context.Context, runID string) string {
	out, err := run(ctx, "squeue", "-h", "-o", "%A %j")
	require.NoError(t, err, "squeue")
	var mine []string
	for _, l := range strings.Split(out, "\n") {
		if strings.Contains(l, runID) {
			mine = append(mine, l)
		}
	}
	return strings.Join(mine, "\n")
}

// waitFor polls cond until it holds or d passes.
func waitFor(d time.Duration, cond func() bool) bool {
	end := time.Now().Add(d)
	for time.Now().Before(end) {
		if cond() {
			return true
		}
		time.Sleep(100 * time.Millisecond)
	}
	return cond()
}

// sigterm starts the agent, waits until the load of the first point runs, sends SIGTERM
// and returns once the agent exited.
func sigterm(t *testing.T, a *agentRun, recipes, runner, entry string, started func() bool) {
	t.Helper()
	// Long enough that the load is still running when the signal arrives.
	p, err := execx.OS{}.Start(ctxT(t, 3*time.Minute), a.cmd(t, recipes, runner, entry, "--num-prompts", "100000"))
	require.NoError(t, err)
	if !waitFor(60*time.Second, func() bool { return strings.Contains(a.stderr.String(), "benchmarking") }) {
		_ = p.Signal(syscall.SIGKILL)
		p.Wait()
		require.FailNowf(t, "load never started", "%s", a.stderr)
	}
	assert.True(t, started(), "the server is not visible on the host while the load runs")
	time.Sleep(300 * time.Millisecond)
	require.NoError(t, p.Signal(syscall.SIGTERM))
	res, _ := p.Wait()
	a.code = res.ExitCode
	t.Logf("agent exit %d after SIGTERM\n%s", a.code, a.stderr)
}
