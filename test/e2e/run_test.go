package e2e

import (
	"net"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/inferbench/inferbench/internal/execx"
	"github.com/inferbench/inferbench/internal/result"
	"github.com/inferbench/inferbench/internal/testkit"
)

const repoRecipes = "../../configs/recipes.yaml"

// TestDockerTwoPointsOneLaunch: `agent run` starts the FROM-scratch simulator image as a
// container with host networking, benchmarks two concurrencies on that one container,
// writes every output and leaves no container behind.
func TestDockerTwoPointsOneLaunch(t *testing.T) {
	ctx := ctxT(t, 4*time.Minute)
	need(t, "docker", dockerUp(ctx))
	buildImage(t, ctx)
	a := newRun(t, "sim", 1)
	a.exec(t, repoRecipes, "ci-docker_0", a.entry(2, 4), "--num-prompts", "24")
	require.Equal(t, 0, a.code, "exit")
	m2, m4 := a.manifest(t, 2, "ci-docker_0"), a.manifest(t, 4, "ci-docker_0")
	for _, m := range []*result.Manifest{m2, m4} {
		assert.Equal(t, result.StatusSuccess, m.Status, "conc")
		assert.Equal(t, "docker", m.Backend, "conc")
		assert.Equal(t, simImage, m.Image, "conc")
		assert.True(t, strings.HasPrefix(m.ImageDigest, "sha256:"), "conc")
		wantOutputs(t, a, m)
	}
	assert.False(t, m2.ServerReused, "want one launch for both points: reused")
	assert.True(t, m4.ServerReused, "want one launch for both points: reused")
	assert.Equal(t, m4.ServerFingerprint, m2.ServerFingerprint, "want one launch for both points")
	n := strings.Count(a.stderr.String(), "starting docker server")
	assert.Equal(t, 1, n, "%d launches, want 1", n)
	assert.Contains(t, a.stderr.String(), "reusing server", "the log does not say the server was reused")
	left := containersOf(t, ctx, a.runID)
	assert.Empty(t, left, "containers left behind")
}

// TestSlurmJobStep: with the slurm backend and a non-container recipe the agent gets an
// allocation (with a fake GPU), runs the simulator as a job step, benchmarks and leaves no
// job behind.
func TestSlurmJobStep(t *testing.T) {
	ctx := ctxT(t, 4*time.Minute)
	need(t, "slurm", slurmUp(ctx))
	a := newRun(t, "sim", 1)
	a.exec(t, repoRecipes, "ci-slurm_0", a.entry(2, 4), "--num-prompts", "24")
	require.Equal(t, 0, a.code, "exit")
	for _, c := range []int{2, 4} {
		m := a.manifest(t, c, "ci-slurm_0")
		assert.Equal(t, result.StatusSuccess, m.Status, "conc %d", c)
		assert.Equal(t, "slurm", m.Backend, "conc %d", c)
		wantOutputs(t, a, m)
	}
	assert.Contains(t, a.stderr.String(), "is slurm ", "the log does not name the Slurm job")
	left := jobsOf(t, ctx, a.runID)
	assert.Empty(t, left, "jobs left behind")
}

// TestSIGTERMLeavesNothing kills the agent in the middle of the load: the container or job
// it started is gone afterwards, and the interrupted point still has its manifest and log.
func TestSIGTERMLeavesNothing(t *testing.T) {
	t.Run("docker", func(t *testing.T) {
		ctx := ctxT(t, 3*time.Minute)
		need(t, "docker", dockerUp(ctx))
		buildImage(t, ctx)
		a := newRun(t, "sim", 1)
		sigterm(t, a, repoRecipes, "ci-docker_0", a.entry(4, 8), func() bool { return containersOf(t, ctx, a.runID) != "" })
		checkCancelled(t, a, "ci-docker_0")
		left := containersOf(t, ctx, a.runID)
		assert.Empty(t, left, "containers left behind")
	})
	t.Run("slurm", func(t *testing.T) {
		ctx := ctxT(t, 3*time.Minute)
		need(t, "slurm", slurmUp(ctx))
		a := newRun(t, "sim", 1)
		sigterm(t, a, repoRecipes, "ci-slurm_0", a.entry(4, 8), func() bool { return jobsOf(t, ctx, a.runID) != "" })
		checkCancelled(t, a, "ci-slurm_0")
		// scancel is asynchronous on the controller side; the agent waited for the queue.
		left := jobsOf(t, ctx, a.runID)
		assert.Empty(t, left, "jobs left behind")
	})
}

func checkCancelled(t *testing.T, a *agentRun, runner string) {
	t.Helper()
	assert.Equal(t, 4, a.code, "exit")
	m := a.manifest(t, 4, runner)
	assert.Equal(t, result.StatusCancelled, m.Status, "interrupted point: status")
	m8 := a.manifest(t, 8, runner)
	assert.Equal(t, result.StatusCancelled, m8.Status, "point never started: status")
	_, err := os.Stat(filepath.Join(a.out, result.ServerLogFile))
	assert.NoError(t, err, "server log")
}

// TestEngineFailures: an engine that dies during startup or during the load gives a clear
// error naming the cause and the last lines of its log, exit status 3, and outputs on disk.
func TestEngineFailures(t *testing.T) {
	const recipes = "testdata/crash-recipes.yaml"
	tests := []struct {
		framework string
		wantMsg   []string // in stderr
		wantCause string   // manifest stop_reason
		wantTail  string   // a line of the manifest's log tail
	}{
		{"oom-at-startup", []string{"fatal line in engine log", "torch.OutOfMemoryError: CUDA out of memory", "last lines of the server log", "loading weights"}, "fatal line in engine log", "loading weights"},
		{"exit-at-startup", []string{"engine exited: exit status 7 during startup", "ValueError: unsupported quantization"}, "engine exited", "ValueError: unsupported quantization"},
		{"hang-at-startup", []string{"engine not ready before the deadline", "waited 2s", "compiling graphs"}, "engine not ready before the deadline", "compiling graphs"},
		{"die-during-load", []string{"failed during the load at conc 2", "engine exited", "during the load", "RuntimeError: NCCL error"}, "engine exited", "RuntimeError: NCCL error: unhandled system error"},
	}
	for _, tt := range tests {
		t.Run(tt.framework, func(t *testing.T) {
			a := newRun(t, tt.framework, 1)
			a.exec(t, recipes, "ci-local_0", a.entry(2, 4), "--num-prompts", "2000")
			assert.Equal(t, 3, a.code, "exit")
			for _, w := range tt.wantMsg {
				assert.Contains(t, a.stderr.String(), w, "stderr")
			}
			m := a.manifest(t, 2, "ci-local_0")
			assert.Equal(t, result.StatusEngineFailed, m.Status, "manifest")
			assert.Equal(t, tt.wantCause, m.StopReason, "manifest")
			assert.Contains(t, strings.Join(m.LogTail, "\n"), tt.wantTail, "manifest log tail")
			m4 := a.manifest(t, 4, "ci-local_0")
			assert.Equal(t, result.StatusEngineFailed, m4.Status, "later point: status")
			log, err := os.ReadFile(filepath.Join(a.out, result.ServerLogFile))
			assert.NoError(t, err, "server.log")
			assert.Contains(t, string(log), tt.wantTail, "server.log")
		})
	}
}

// TestDockerEngineExitsAtStartup: a container that exits during startup is reported with its
// exit status and its own last words, and is removed.
func TestDockerEngineExitsAtStartup(t *testing.T) {
	ctx := ctxT(t, 3*time.Minute)
	need(t, "docker", dockerUp(ctx))
	buildImage(t, ctx)
	a := newRun(t, "bad-flag", 1)
	a.exec(t, "testdata/crash-recipes.yaml", "ci-docker_0", a.entry(2))
	assert.Equal(t, 3, a.code, "exit")
	for _, w := range []string{"engine exited: exit status 2 during startup", "last lines of the server log", "-ttft duration"} {
		assert.Contains(t, a.stderr.String(), w, "stderr")
	}
	// The container's output reached the log before it was removed.
	log, err := os.ReadFile(filepath.Join(a.out, result.ServerLogFile))
	assert.NoError(t, err, "server.log")
	assert.Contains(t, string(log), "flag provided but not defined: -no-such-flag", "server.log")
	m := a.manifest(t, 2, "ci-docker_0")
	assert.Equal(t, result.StatusEngineFailed, m.Status, "manifest")
	assert.NotEmpty(t, m.LogTail, "manifest")
	left := containersOf(t, ctx, a.runID)
	assert.Empty(t, left, "containers left behind")
}

// TestDockerThroughDockerHost: `agent run` finds the Docker daemon where DOCKER_HOST says,
// here a socket of the test's that forwards to the daemon, and everything it asks the
// daemon (image, create, start, logs, wait, stop, remove) goes through that socket.
func TestDockerThroughDockerHost(t *testing.T) {
	ctx := ctxT(t, 4*time.Minute)
	need(t, "docker", dockerUp(ctx))
	buildImage(t, ctx)
	sock := filepath.Join(t.TempDir(), "other.sock")
	ln, err := net.Listen("unix", sock)
	require.NoError(t, err)
	conns := testkit.Proxy(t, ln, "unix", "/var/run/docker.sock")

	a := newRun(t, "sim", 1)
	cmd := a.cmd(t, repoRecipes, "ci-docker_0", a.entry(2), "--num-prompts", "8")
	cmd.Env = append(os.Environ(), "DOCKER_HOST=unix://"+sock)
	res, err := execx.OS{}.Run(ctx, cmd)
	require.False(t, err != nil && res.ExitCode < 0, "agent run: %v", err)
	require.Equal(t, 0, res.ExitCode, "agent run through DOCKER_HOST:\n%s", a.stderr)
	m := a.manifest(t, 2, "ci-docker_0")
	assert.Equal(t, result.StatusSuccess, m.Status)
	assert.Equal(t, "docker", m.Backend)
	// The API calls, the log stream and the wait for the container each hold a connection.
	assert.GreaterOrEqual(t, conns.Load(), int64(3), "the agent did not talk to the daemon through DOCKER_HOST's socket")
	assert.Empty(t, containersOf(t, ctx, a.runID), "containers left behind")
}
