package e2e

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/inferbench/inferbench/internal/result"
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
	if a.code != 0 {
		t.Fatalf("exit %d, want 0", a.code)
	}
	m2, m4 := a.manifest(t, 2, "ci-docker_0"), a.manifest(t, 4, "ci-docker_0")
	for _, m := range []*result.Manifest{m2, m4} {
		if m.Status != result.StatusSuccess || m.Backend != "docker" || m.Image != simImage || !strings.HasPrefix(m.ImageDigest, "sha256:") {
			t.Errorf("conc %d manifest: status %s backend %s image %s digest %q", m.Conc, m.Status, m.Backend, m.Image, m.ImageDigest)
		}
		wantOutputs(t, a, m)
	}
	if m2.ServerReused || !m4.ServerReused || m2.ServerFingerprint != m4.ServerFingerprint {
		t.Errorf("want one launch for both points: reused %v/%v fingerprints %s/%s", m2.ServerReused, m4.ServerReused, m2.ServerFingerprint, m4.ServerFingerprint)
	}
	if n := strings.Count(a.stderr.String(), "starting docker server"); n != 1 {
		t.Errorf("%d launches, want 1", n)
	}
	if !strings.Contains(a.stderr.String(), "reusing server") {
		t.Errorf("the log does not say the server was reused")
	}
	if left := containersOf(t, ctx, a.runID); left != "" {
		t.Errorf("containers left behind: %s", left)
	}
}

// TestSlurmJobStep: with the slurm backend and a non-container recipe the agent gets an
// allocation (with a fake GPU), runs the simulator as a job step, benchmarks and leaves no
// job behind.
func TestSlurmJobStep(t *testing.T) {
	ctx := ctxT(t, 4*time.Minute)
	need(t, "slurm", slurmUp(ctx))
	a := newRun(t, "sim", 1)
	a.exec(t, repoRecipes, "ci-slurm_0", a.entry(2, 4), "--num-prompts", "24")
	if a.code != 0 {
		t.Fatalf("exit %d, want 0", a.code)
	}
	for _, c := range []int{2, 4} {
		m := a.manifest(t, c, "ci-slurm_0")
		if m.Status != result.StatusSuccess || m.Backend != "slurm" {
			t.Errorf("conc %d: status %s backend %s", c, m.Status, m.Backend)
		}
		wantOutputs(t, a, m)
	}
	if !strings.Contains(a.stderr.String(), "is slurm ") {
		t.Errorf("the log does not name the Slurm job")
	}
	if left := jobsOf(t, ctx, a.runID); left != "" {
		t.Errorf("jobs left behind: %s", left)
	}
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
		if left := containersOf(t, ctx, a.runID); left != "" {
			t.Errorf("containers left behind: %s", left)
		}
	})
	t.Run("slurm", func(t *testing.T) {
		ctx := ctxT(t, 3*time.Minute)
		need(t, "slurm", slurmUp(ctx))
		a := newRun(t, "sim", 1)
		sigterm(t, a, repoRecipes, "ci-slurm_0", a.entry(4, 8), func() bool { return jobsOf(t, ctx, a.runID) != "" })
		checkCancelled(t, a, "ci-slurm_0")
		// scancel is asynchronous on the controller side; the agent waited for the queue.
		if left := jobsOf(t, ctx, a.runID); left != "" {
			t.Errorf("jobs left behind: %s", left)
		}
	})
}

func checkCancelled(t *testing.T, a *agentRun, runner string) {
	t.Helper()
	if a.code != 4 {
		t.Errorf("exit %d after SIGTERM, want 4", a.code)
	}
	m := a.manifest(t, 4, runner)
	if m.Status != result.StatusCancelled {
		t.Errorf("interrupted point: status %s, want cancelled", m.Status)
	}
	if m8 := a.manifest(t, 8, runner); m8.Status != result.StatusCancelled {
		t.Errorf("point never started: status %s, want cancelled", m8.Status)
	}
	if _, err := os.Stat(filepath.Join(a.out, result.ServerLogFile)); err != nil {
		t.Errorf("server log: %v", err)
	}
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
			if a.code != 3 {
				t.Errorf("exit %d, want 3 (engine failure)", a.code)
			}
			for _, w := range tt.wantMsg {
				if !strings.Contains(a.stderr.String(), w) {
					t.Errorf("stderr does not mention %q", w)
				}
			}
			m := a.manifest(t, 2, "ci-local_0")
			if m.Status != result.StatusEngineFailed || m.StopReason != tt.wantCause {
				t.Errorf("manifest: status %s stop reason %q, want engine_failed / %q", m.Status, m.StopReason, tt.wantCause)
			}
			if !strings.Contains(strings.Join(m.LogTail, "\n"), tt.wantTail) {
				t.Errorf("manifest log tail %q lacks %q", m.LogTail, tt.wantTail)
			}
			if m4 := a.manifest(t, 4, "ci-local_0"); m4.Status != result.StatusEngineFailed {
				t.Errorf("later point: status %s", m4.Status)
			}
			log, err := os.ReadFile(filepath.Join(a.out, result.ServerLogFile))
			if err != nil || !strings.Contains(string(log), tt.wantTail) {
				t.Errorf("server.log: %v, lacks %q", err, tt.wantTail)
			}
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
	if a.code != 3 {
		t.Errorf("exit %d, want 3", a.code)
	}
	for _, w := range []string{"engine exited: exit status 2 during startup", "last lines of the server log", "-ttft duration"} {
		if !strings.Contains(a.stderr.String(), w) {
			t.Errorf("stderr lacks %q", w)
		}
	}
	// The container's output reached the log before it was removed.
	if log, err := os.ReadFile(filepath.Join(a.out, result.ServerLogFile)); err != nil || !strings.Contains(string(log), "flag provided but not defined: -no-such-flag") {
		t.Errorf("server.log: %v\n%s", err, log)
	}
	if m := a.manifest(t, 2, "ci-docker_0"); m.Status != result.StatusEngineFailed || len(m.LogTail) == 0 {
		t.Errorf("manifest: %s, tail %q", m.Status, m.LogTail)
	}
	if left := containersOf(t, ctx, a.runID); left != "" {
		t.Errorf("containers left behind: %s", left)
	}
}
