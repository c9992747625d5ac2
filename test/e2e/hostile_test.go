package e2e

import (
	"context"
	"encoding/json"
	"fmt"
	"net"
	"os"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"gopkg.in/yaml.v3"

	"github.com/inferbench/inferbench/internal/engine"
	"github.com/inferbench/inferbench/internal/execx"
	"github.com/inferbench/inferbench/internal/procfs"
	"github.com/inferbench/inferbench/internal/result"
	"github.com/inferbench/inferbench/internal/sim"
)

// End-to-end tests of the failure model (docs/robustness.md) against the real agent binary,
// Docker, Slurm and the benchmark workflow's step.

// fixedPortInventory is testdata/inventory.yaml with every family on port.
func fixedPortInventory(t *testing.T, port int) string {
	t.Helper()
	b, err := os.ReadFile("testdata/inventory.yaml")
	require.NoError(t, err)
	p := filepath.Join(t.TempDir(), "inventory.yaml")
	require.NoError(t, os.WriteFile(p, []byte(strings.ReplaceAll(string(b), "port: 0", "port: "+strconv.Itoa(port))), 0o644))
	return p
}

func freeE2EPort(t *testing.T) int {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	require.NoError(t, err)
	defer ln.Close()
	return ln.Addr().(*net.TCPAddr).Port
}

// simInProcess serves the simulator from this test process on port, as any program could.
func simInProcess(t *testing.T, port int) {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:"+strconv.Itoa(port))
	require.NoError(t, err)
	s, err := sim.New(sim.Config{Model: "sim-model", TTFT: time.Millisecond, ITL: time.Millisecond})
	require.NoError(t, err)
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan struct{})
	go func() { defer close(done); _ = s.Serve(ctx, ln) }()
	t.Cleanup(func() { cancel(); <-done })
}

// listening reports whether something accepts connections on port.
func listening(port int) bool {
	c, err := net.DialTimeout("tcp", "127.0.0.1:"+strconv.Itoa(port), time.Second)
	if err == nil {
		c.Close()
	}
	return err == nil
}

// noSuccess fails when any file of the run's output records a success or an agg record.
func noSuccess(t *testing.T, dir string) {
	t.Helper()
	ents, _ := os.ReadDir(dir)
	for _, e := range ents {
		assert.False(t, strings.HasPrefix(e.Name(), "agg_"), "agg record %s written", e.Name())
		b, _ := os.ReadFile(filepath.Join(dir, e.Name()))
		assert.NotContains(t, string(b), `"status": "success"`, "%s records a success", e.Name())
	}
}

// background starts the agent with a load long enough to be interrupted and waits until
// it benchmarks.
func background(t *testing.T, a *agentRun, recipes, runner, entry string, extra ...string) execx.Process {
	t.Helper()
	p, err := execx.OS{}.Start(ctxT(t, 4*time.Minute), a.cmd(t, recipes, runner, entry, append([]string{"--num-prompts", "100000"}, extra...)...))
	require.NoError(t, err)
	t.Cleanup(func() { _ = syscall.Kill(p.Pid(), syscall.SIGKILL); _, _ = p.Wait() })
	require.True(t, waitFor(90*time.Second, func() bool { return strings.Contains(a.stderr.String(), "benchmarking") }), "load never started")
	return p
}

// stop ends a background agent with SIGTERM and returns its exit status.
func stop(t *testing.T, p execx.Process) int {
	t.Helper()
	require.NoError(t, syscall.Kill(p.Pid(), syscall.SIGTERM))
	res, _ := p.Wait()
	return res.ExitCode
}

func TestHostile01ForeignServerOnEnginePort(t *testing.T) {
	t.Run("any process", func(t *testing.T) {
		port := freeE2EPort(t)
		simInProcess(t, port)
		a := newRun(t, "sim", 1)
		a.exec(t, repoRecipes, "ci-local_0", a.entry(4), "--inventory", fixedPortInventory(t, port))
		assert.Equal(t, 3, a.code)
		assert.Contains(t, a.stderr.String(), fmt.Sprintf("port %d on 127.0.0.1 is already held by pid %d", port, os.Getpid()))
		assert.Equal(t, result.StatusEngineFailed, a.manifest(t, 4, "ci-local_0").Status)
		noSuccess(t, a.out)
	})
	t.Run("leftover container", func(t *testing.T) {
		ctx := ctxT(t, 3*time.Minute)
		need(t, "docker", dockerUp(ctx))
		buildImage(t, ctx)
		port := freeE2EPort(t)
		name := fmt.Sprintf("i14a-foreign-%d", time.Now().UnixNano())
		_, err := run(ctx, "docker", "run", "-d", "--network", "host", "--name", name, simImage, "serve-sim", "--host=127.0.0.1", "--port="+strconv.Itoa(port))
		require.NoError(t, err)
		t.Cleanup(func() { _, _ = run(context.Background(), "docker", "rm", "-f", name) })
		require.True(t, waitFor(30*time.Second, func() bool { return listening(port) }), "the foreign container never listened")

		a := newRun(t, "sim", 1)
		a.exec(t, repoRecipes, "ci-docker_0", a.entry(4), "--inventory", fixedPortInventory(t, port))

		assert.Equal(t, 3, a.code)
		assert.Regexp(t, fmt.Sprintf(`port %d on 127.0.0.1 is already held by pid \d+ \(/agent serve-sim .*\) in container [0-9a-f]{12} \(container %s, image %s\)`,
			port, name, regexp.QuoteMeta(simImage)), a.stderr.String())
		noSuccess(t, a.out)
		assert.Empty(t, containersOf(t, ctx, a.runID), "the refused run left a container")
	})
	t.Run("second concurrent run", func(t *testing.T) {
		ctx := ctxT(t, 4*time.Minute)
		need(t, "docker", dockerUp(ctx))
		buildImage(t, ctx)
		port := freeE2EPort(t)
		inv := fixedPortInventory(t, port)
		first := newRun(t, "sim", 1)
		p := background(t, first, repoRecipes, "ci-docker_0", first.entry(4), "--inventory", inv)

		second := newRun(t, "sim", 1)
		second.exec(t, repoRecipes, "ci-docker_0", second.entry(4), "--inventory", inv)

		assert.Equal(t, 3, second.code)
		assert.Regexp(t, fmt.Sprintf(`port %d on 127.0.0.1 is already held by pid \d+ .* \(container inferbench-%s-1, image %s, run %s; its agent \(pid %d on [^)]+\) is running\)`,
			port, first.runID, regexp.QuoteMeta(simImage), first.runID, p.Pid()), second.stderr.String())
		noSuccess(t, second.out)
		assert.NotEmpty(t, containersOf(t, ctx, first.runID), "the refused run touched the first run's container")
		assert.Equal(t, 4, stop(t, p))
		assert.Empty(t, containersOf(t, ctx, first.runID))
	})
	t.Run("slurm node", func(t *testing.T) {
		ctx := ctxT(t, 3*time.Minute)
		need(t, "slurm", slurmUp(ctx))
		port := freeE2EPort(t)
		simInProcess(t, port)
		a := newRun(t, "sim", 1)
		a.exec(t, repoRecipes, "ci-slurm_0", a.entry(4), "--inventory", fixedPortInventory(t, port))
		assert.Equal(t, 3, a.code)
		assert.Contains(t, a.stderr.String(), fmt.Sprintf("port %d on 127.0.0.1 is already held by pid %d", port, os.Getpid()))
		noSuccess(t, a.out)
		assert.True(t, waitFor(30*time.Second, func() bool { return jobsOf(t, ctx, a.runID) == "" }), "the refused run left its allocation")
	})
}

// benchmarkStep is the script of benchmark.yml's Benchmark step, as the runner runs it.
func benchmarkStep(t *testing.T) string {
	t.Helper()
	b, err := os.ReadFile("../../.github/workflows/benchmark.yml")
	require.NoError(t, err)
	var wf struct {
		Jobs map[string]struct {
			Steps []struct {
				Name string `yaml:"name"`
				Run  string `yaml:"run"`
			} `yaml:"steps"`
		} `yaml:"jobs"`
	}
	require.NoError(t, yaml.Unmarshal(b, &wf))
	for _, s := range wf.Jobs["bench"].Steps {
		if s.Name == "Benchmark" {
			p := filepath.Join(t.TempDir(), "step.sh")
			require.NoError(t, os.WriteFile(p, []byte(s.Run), 0o644))
			return p
		}
	}
	require.FailNow(t, "benchmark.yml has no Benchmark step")
	return ""
}

// TestHostile02CancelledBenchmarkStepLeavesNothing runs benchmark.yml's Benchmark step as the
// GitHub runner does (bash --noprofile --norc -eo pipefail) and cancels it the way the runner
// does: SIGINT to the step's process only, SIGTERM 7.5 s later, SIGKILL 2.5 s after that.
// No engine container, Slurm job or process of the step may be left, and the status record
// says cancelled.
func TestHostile02CancelledBenchmarkStepLeavesNothing(t *testing.T) {
	for _, tc := range []struct {
		runner string
		up     func(context.Context) bool
	}{{"ci-docker_0", dockerUp}, {"ci-slurm_0", slurmUp}, {"ci-local_0", func(context.Context) bool { return true }}} {
		t.Run(tc.runner, func(t *testing.T) {
			ctx := ctxT(t, 4*time.Minute)
			need(t, tc.runner, tc.up(ctx))
			if tc.runner == "ci-docker_0" {
				buildImage(t, ctx)
			}
			step := benchmarkStep(t)
			// The step runs in the checkout: configs/inventory.yaml is this CI's inventory.
			work := t.TempDir()
			require.NoError(t, os.MkdirAll(filepath.Join(work, "configs"), 0o755))
			inv, err := os.ReadFile("testdata/inventory.yaml")
			require.NoError(t, err)
			require.NoError(t, os.WriteFile(filepath.Join(work, "configs", "inventory.yaml"), inv, 0o644))
			recipes, err := filepath.Abs(repoRecipes)
			require.NoError(t, err)
			stem := "sim_64_2048_fp8_sim_tp1-ep1-dpafalse_disagg-false_spec-none_conc2_" + tc.runner
			entry := fmt.Sprintf(`{"image": %q, "model": "sim-model", "model-prefix": "sim", "precision": "fp8", "framework": "sim",
 "runner": "ci", "isl": 64, "osl": 2048, "tp": 1, "conc": 2, "max-model-len": 2400, "ep": 1, "dp-attn": false,
 "spec-decoding": "none", "exp-name": "sim_64_2048", "disagg": false, "run-eval": false}`, simImage)
			tracking := fmt.Sprintf("i14a-step-%d", time.Now().UnixNano())
			out := filepath.Join(work, "results")
			stderr := &syncBuffer{}
			env := []string{"PATH=" + os.Getenv("PATH"), "HOME=" + os.Getenv("HOME"), "INFERBENCH_AGENT=" + agent(t),
				"INFERBENCH_ENTRY=" + entry, "INFERBENCH_RECIPES=" + recipes, "RESULT_DIR=" + out, "RESULT_FILENAME=" + stem,
				"RUNNER_NAME=" + tc.runner, "RUNNER_TYPE=ci", "RUNNER_TRACKING_ID=" + tracking}
			require.NoError(t, os.MkdirAll(out, 0o755))
			p, err := execx.OS{}.Start(ctxT(t, 4*time.Minute), execx.Cmd{Name: "bash", Args: []string{"--noprofile", "--norc", "-eo", "pipefail", step},
				Dir: work, Env: env, Stderr: stderr})
			require.NoError(t, err)
			exited := make(chan struct{})
			go func() { _, _ = p.Wait(); close(exited) }()
			// Whatever the outcome, nothing of this test outlives it: the runner's own
			// last resort (it kills the processes carrying the job's tracking id).
			t.Cleanup(func() {
				for _, pid := range procfs.Host.WithEnv("RUNNER_TRACKING_ID", tracking) {
					_ = syscall.Kill(pid, syscall.SIGKILL)
				}
			})
			require.True(t, waitFor(90*time.Second, func() bool { return strings.Contains(stderr.String(), "benchmarking") }), "load never started:\n%s", stderr)
			runID := regexp.MustCompile(`agent run (\w+):`).FindStringSubmatch(stderr.String())[1]
			t.Cleanup(func() { removeRun(runID) })

			// The runner's cancellation, to the step's process only.
			step0 := time.Now()
			require.NoError(t, syscall.Kill(p.Pid(), syscall.SIGINT))
			select {
			case <-exited:
			case <-time.After(7500 * time.Millisecond):
				_ = syscall.Kill(p.Pid(), syscall.SIGTERM)
				select {
				case <-exited:
				case <-time.After(2500 * time.Millisecond):
					_ = syscall.Kill(p.Pid(), syscall.SIGKILL)
					<-exited
				}
			}
			t.Logf("step ended %s after SIGINT\n%s", time.Since(step0).Round(time.Millisecond), stderr)

			assert.Empty(t, procfs.Host.WithEnv("RUNNER_TRACKING_ID", tracking), "processes of the step outlived it")
			switch tc.runner {
			case "ci-docker_0":
				assert.Empty(t, containersOf(t, ctx, runID), "the engine container outlived the step")
			case "ci-slurm_0":
				assert.True(t, waitFor(15*time.Second, func() bool { return jobsOf(t, ctx, runID) == "" }), "the Slurm job outlived the step: %s", jobsOf(t, ctx, runID))
			}
			b, err := os.ReadFile(filepath.Join(out, result.ManifestFile(stem)))
			require.NoError(t, err, "no status record")
			var m result.Manifest
			require.NoError(t, json.Unmarshal(b, &m))
			assert.Equal(t, result.StatusCancelled, m.Status)
			assert.Contains(t, m.Message, "cancelled by interrupt")
		})
	}
}

// longStreams is a row whose requests stream for seconds (4096 tokens at 2 ms), so a few of
// them keep a point busy.
func longStreams(conc ...int) string {
	cs, _ := json.Marshal(conc)
	return fmt.Sprintf(`{"image": %q, "model": "sim-model", "model-prefix": "sim", "precision": "fp8", "framework": "sim",
 "runner": "ci", "isl": 64, "osl": 4096, "tp": 1, "conc": %s, "max-model-len": 4400, "ep": 1, "dp-attn": false,
 "spec-decoding": "none", "exp-name": "sim_64_4096", "disagg": false, "run-eval": false}`, simImage, cs)
}

func readManifestFile(t *testing.T, dir, stem string) *result.Manifest {
	t.Helper()
	b, err := os.ReadFile(filepath.Join(dir, result.ManifestFile(stem)))
	require.NoError(t, err)
	var m result.Manifest
	require.NoError(t, json.Unmarshal(b, &m))
	return &m
}

// TestHostile05DockerEngineDiesMidLoad: the engine container dies while a few long requests
// stream. They fail at once and the point's load ends before the container's exit is
// noticed in the background: the point must still be an engine failure, and the next point
// must not run on the dead container.
func TestHostile05DockerEngineDiesMidLoad(t *testing.T) {
	ctx := ctxT(t, 4*time.Minute)
	need(t, "docker", dockerUp(ctx))
	buildImage(t, ctx)
	a := newRun(t, "sim", 1)
	p, err := execx.OS{}.Start(ctx, a.cmd(t, repoRecipes, "ci-docker_0", longStreams(4, 8), "--num-prompts", "8", "--num-warmups", "0"))
	require.NoError(t, err)
	t.Cleanup(func() { removeRun(a.runID) })
	require.True(t, waitFor(90*time.Second, func() bool { return strings.Contains(a.stderr.String(), "benchmarking") }), a.stderr.String())
	time.Sleep(time.Second) // the first requests are streaming

	_, err = run(ctx, "docker", "kill", containersOf(t, ctx, a.runID))
	require.NoError(t, err)
	res, _ := p.Wait()

	assert.Equal(t, 3, res.ExitCode, "an engine that died is an engine failure\n%s", a.stderr)
	stem := func(c int) string {
		return fmt.Sprintf("sim_64_4096_fp8_sim_tp1-ep1-dpafalse_disagg-false_spec-none_conc%d_ci-docker_0", c)
	}
	m4, m8 := readManifestFile(t, a.out, stem(4)), readManifestFile(t, a.out, stem(8))
	assert.Equal(t, result.StatusEngineFailed, m4.Status)
	assert.Contains(t, m4.Message, "during the load")
	assert.Equal(t, result.StatusEngineFailed, m8.Status)
	assert.False(t, m8.ServerReused)
	assert.NotContains(t, a.stderr.String(), "reusing server")
	noSuccess(t, a.out)
	assert.Empty(t, containersOf(t, ctx, a.runID))
}

// TestHostile09LeftoversOfAKilledAgentAreReaped: an agent killed with SIGKILL leaves its
// engine; the next run on the node removes it, and leaves a live agent's engine alone.
func TestHostile09LeftoversOfAKilledAgentAreReaped(t *testing.T) {
	t.Run("docker", func(t *testing.T) {
		ctx := ctxT(t, 5*time.Minute)
		need(t, "docker", dockerUp(ctx))
		buildImage(t, ctx)
		killed, live := newRun(t, "sim", 1), newRun(t, "sim", 1)
		pk := background(t, killed, repoRecipes, "ci-docker_0", killed.entry(4))
		pl := background(t, live, repoRecipes, "ci-docker_0", live.entry(4))
		require.NoError(t, syscall.Kill(pk.Pid(), syscall.SIGKILL))
		_, _ = pk.Wait()
		require.NotEmpty(t, containersOf(t, ctx, killed.runID), "SIGKILL should have left the container")
		t.Cleanup(func() {
			if ids := containersOf(t, context.Background(), killed.runID); ids != "" {
				_, _ = run(context.Background(), "docker", "rm", "-f", ids)
			}
		})

		next := newRun(t, "sim", 1)
		next.exec(t, repoRecipes, "ci-docker_0", next.entry(2), "--num-prompts", "8")

		assert.Equal(t, 0, next.code)
		assert.Regexp(t, fmt.Sprintf(`reaped: removed leftover container inferbench-%s-1 \(run %s, running\): its agent \(pid %d\) has exited`,
			killed.runID, killed.runID, pk.Pid()), next.stderr.String())
		assert.Empty(t, containersOf(t, ctx, killed.runID))
		assert.NotEmpty(t, containersOf(t, ctx, live.runID), "a live agent's container was reaped")
		assert.NotContains(t, next.stderr.String(), live.runID)
		assert.Equal(t, 4, stop(t, pl))
	})
	t.Run("slurm", func(t *testing.T) {
		ctx := ctxT(t, 5*time.Minute)
		need(t, "slurm", slurmUp(ctx))
		killed := newRun(t, "sim", 1)
		pk := background(t, killed, repoRecipes, "ci-slurm_0", killed.entry(4))
		require.NoError(t, syscall.Kill(pk.Pid(), syscall.SIGKILL))
		_, _ = pk.Wait()
		require.NotEmpty(t, jobsOf(t, ctx, killed.runID), "SIGKILL should have left the job")

		next := newRun(t, "sim", 1)
		next.exec(t, repoRecipes, "ci-slurm_0", next.entry(2), "--num-prompts", "8")

		assert.Equal(t, 0, next.code)
		assert.Regexp(t, fmt.Sprintf(`reaped: cancelled leftover Slurm job \d+ \(inferbench-%s-1\): its agent \(pid %d\) has exited`, killed.runID, pk.Pid()), next.stderr.String())
		assert.True(t, waitFor(30*time.Second, func() bool { return jobsOf(t, ctx, killed.runID) == "" }), "job left: %s", jobsOf(t, ctx, killed.runID))
	})
	t.Run("local", func(t *testing.T) {
		killed := newRun(t, "sim", 1)
		pk := background(t, killed, repoRecipes, "ci-local_0", killed.entry(4))
		require.NoError(t, syscall.Kill(pk.Pid(), syscall.SIGKILL))
		_, _ = pk.Wait()
		left := engineProcessesOf(pk.Pid())
		require.NotEmpty(t, left, "SIGKILL should have left the engine process")
		t.Cleanup(func() {
			for _, pid := range engineProcessesOf(pk.Pid()) {
				_ = syscall.Kill(pid, syscall.SIGKILL)
			}
		})

		next := newRun(t, "sim", 1)
		next.exec(t, repoRecipes, "ci-local_0", next.entry(2), "--num-prompts", "8")

		assert.Equal(t, 0, next.code)
		assert.Regexp(t, fmt.Sprintf(`reaped: killed leftover engine process pid %d \(.*serve-sim.*\): its agent \(pid %d\) has exited`, left[0], pk.Pid()), next.stderr.String())
		assert.True(t, waitFor(10*time.Second, func() bool { return len(engineProcessesOf(pk.Pid())) == 0 }))
	})
}

// removeRun removes what a run of this test may have left: its containers and jobs.
func removeRun(runID string) {
	ctx := context.Background()
	if ids, _ := run(ctx, "docker", "ps", "-aq", "--filter", "label=io.inferbench.run="+runID); ids != "" {
		_, _ = run(ctx, "docker", append([]string{"rm", "-f"}, strings.Fields(ids)...)...)
	}
	if out, err := run(ctx, "squeue", "-h", "-o", "%A %j"); err == nil {
		for _, l := range strings.Split(out, "\n") {
			if id, name, ok := strings.Cut(l, " "); ok && strings.Contains(name, "-"+runID+"-") {
				_, _ = run(ctx, "scancel", id)
			}
		}
	}
}

// engineProcessesOf lists the live processes launched by the agent with pid agentPID.
func engineProcessesOf(agentPID int) []int {
	var out []int
	pids, _ := procfs.Host.Pids()
	for _, pid := range pids {
		v, ok, err := procfs.Host.Getenv(pid, engine.EnvOwner)
		if err != nil || !ok {
			continue
		}
		if o, err := procfs.ParseOwner(v); err == nil && o.PID == agentPID {
			if p, err := procfs.Host.Read(pid); err == nil && !p.Zombie {
				out = append(out, pid)
			}
		}
	}
	return out
}

// TestHostile12ReusedRunIDDoesNotKillAnotherRunsEngine: two agents given the same --run-id;
// the second one's cleanup must leave the first one's container or job alone.
func TestHostile12ReusedRunIDDoesNotKillAnotherRunsEngine(t *testing.T) {
	t.Run("docker", func(t *testing.T) {
		ctx := ctxT(t, 4*time.Minute)
		need(t, "docker", dockerUp(ctx))
		buildImage(t, ctx)
		first := newRun(t, "sim", 1)
		p := background(t, first, repoRecipes, "ci-docker_0", first.entry(4))
		before := containersOf(t, ctx, first.runID)
		second := newRun(t, "sim", 1)
		second.runID = first.runID
		second.exec(t, repoRecipes, "ci-docker_0", second.entry(2), "--num-prompts", "8")
		assert.Equal(t, before, containersOf(t, ctx, first.runID), "the second run removed the first run's container\n%s", second.stderr)
		assert.Contains(t, first.stderr.String(), "benchmarking")
		assert.Equal(t, 4, stop(t, p), "the first run must still be running until told to stop")
		assert.Empty(t, containersOf(t, ctx, first.runID))
	})
	t.Run("slurm", func(t *testing.T) {
		ctx := ctxT(t, 4*time.Minute)
		need(t, "slurm", slurmUp(ctx))
		first := newRun(t, "sim", 1)
		p := background(t, first, repoRecipes, "ci-slurm_0", first.entry(4))
		before := jobsOf(t, ctx, first.runID)
		second := newRun(t, "sim", 1)
		second.runID = first.runID
		second.exec(t, repoRecipes, "ci-slurm_0", second.entry(2), "--num-prompts", "8")
		assert.Equal(t, 0, second.code, second.stderr.String())
		assert.Contains(t, jobsOf(t, ctx, first.runID), before, "the second run cancelled the first run's job")
		assert.Equal(t, 4, stop(t, p))
		assert.True(t, waitFor(30*time.Second, func() bool { return jobsOf(t, ctx, first.runID) == "" }))
	})
}
