package e2e

import (
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/inferbench/inferbench/internal/execx"
	"github.com/inferbench/inferbench/internal/result"
)

// multinodeRow is a disaggregated row for the simulator: one prefill worker, two decode
// workers, the model named after the run so the test can find its processes.
func multinodeRow(model string, conc ...int) string {
	cs, _ := json.Marshal(conc)
	return fmt.Sprintf(`{"image": "%s", "model": %q, "model-prefix": "sim", "precision": "fp8", "framework": "sim-disagg",
 "runner": "ci", "isl": 64, "osl": 16, "spec-decoding": "none",
 "prefill": {"num-worker": 1, "tp": 1, "ep": 1, "dp-attn": false, "additional-settings": ["CONFIG_FILE=recipes/sim/ctx1_gen2.yaml"]},
 "decode": {"num-worker": 2, "tp": 1, "ep": 1, "dp-attn": false},
 "conc": %s, "max-model-len": 280, "exp-name": "sim_64_16", "disagg": true, "run-eval": false}`, simImage, model, cs)
}

// multinodeStem is the per-point file stem: the multi-node RESULT_FILENAME of the whole
// conc list, then the point's conc and GPU split.
func multinodeStem(runner string, conc int) string {
	return fmt.Sprintf("sim_64_16_fp8_sim-disagg_prefill-tp1-ep1-dpfalse-nw1_decode-tp1-ep1-dpfalse-nw2_disagg-true_spec-none_conc2x4_%s_conc%d_gpus_3_ctx_1_gen_2", runner, conc)
}

// processesOf lists the processes whose command line mentions s (the run's model name).
func processesOf(s string) []string {
	var out []string
	dirs, _ := filepath.Glob("/proc/[0-9]*/cmdline")
	for _, d := range dirs {
		b, err := os.ReadFile(d)
		if err == nil && strings.Contains(string(b), s) {
			out = append(out, strings.ReplaceAll(string(b), "\x00", " "))
		}
	}
	return out
}

// TestMultiNodeDisaggregated runs a multi-node row (conc list [2, 4]) end to end: one
// deployment (frontend, one prefill worker, two decode workers, each a serve-sim process)
// serves both points, each point gets its raw, agg and manifest files under the multi-node
// names with the prefill/decode GPU split, and nothing the run started is left afterwards.
func TestMultiNodeDisaggregated(t *testing.T) {
	for _, tt := range []struct{ runner, backend string }{{"ci-local_0", "local"}, {"ci-slurm_0", "slurm"}} {
		t.Run(tt.backend, func(t *testing.T) {
			ctx := ctxT(t, 3*time.Minute)
			if tt.backend == "slurm" {
				need(t, "slurm", slurmUp(ctx))
			}
			a := newRun(t, "sim-disagg", 0)
			model := "sim-disagg-" + a.runID
			a.exec(t, repoRecipes, tt.runner, multinodeRow(model, 2, 4), "--num-prompts", "24")
			require.Equal(t, 0, a.code, "exit")
			log := a.stderr.String()
			for _, c := range []int{2, 4} {
				stem := multinodeStem(tt.runner, c)
				var m result.Manifest
				readJSON(t, filepath.Join(a.out, result.ManifestFile(stem)), &m)
				assert.Equal(t, result.StatusSuccess, m.Status)
				assert.Equal(t, tt.backend, m.Backend)
				assert.Equal(t, c, m.Conc)
				assert.Equal(t, stem, m.ResultFilename)
				require.NotNil(t, m.Multinode, "conc %d manifest does not record the worker layout", c)
				assert.Equal(t, 2, m.Multinode.DecodeGPUs, "conc %d manifest does not record the worker layout", c)
				assert.Equal(t, 2, m.Multinode.Decode.NumWorkers, "conc %d manifest does not record the worker layout", c)
				assert.False(t, c == 4 && !m.ServerReused, "conc 4 did not reuse the deployment")
				var agg result.Agg
				readJSON(t, filepath.Join(a.out, result.AggFile(stem)), &agg)
				assert.True(t, agg.IsMultinode, "conc %d agg: %+v", c, agg)
				assert.True(t, agg.Disagg, "conc %d agg: %+v", c, agg)
				assert.Equal(t, c, agg.Conc)
				assert.Equal(t, 1, agg.NumPrefillGPU)
				assert.Equal(t, 2, agg.NumDecodeGPU)
				assert.Equal(t, 2, agg.Decode.NumWorkers)
				assert.Greater(t, agg.TputPerGPU, float64(0))
				assert.Greater(t, agg.OutputTputPerGPU, float64(0))
				_, err := os.Stat(filepath.Join(a.out, result.RawFile(stem)))
				assert.NoError(t, err, "raw result")
			}
			n := strings.Count(log, "starting "+tt.backend+" server")
			assert.Equal(t, 1, n, "%d launches, want one deployment for both points", n)
			server, err := os.ReadFile(filepath.Join(a.out, result.ServerLogFile))
			require.NoError(t, err)
			for _, w := range []string{"frontend worker 0", "prefill worker 0", "decode worker 0", "decode worker 1"} {
				assert.Contains(t, string(server), w, "server.log")
			}
			left := processesOf(model)
			assert.Empty(t, left, "processes left behind")
			if tt.backend == "slurm" {
				left := jobsOf(t, ctx, a.runID)
				assert.Empty(t, left, "jobs left behind")
			}
		})
	}
}

// TestMultiNodeSIGTERM: SIGTERM in the middle of a disaggregated run stops the frontend and
// every worker.
func TestMultiNodeSIGTERM(t *testing.T) {
	a := newRun(t, "sim-disagg", 0)
	model := "sim-disagg-" + a.runID
	sigterm(t, a, repoRecipes, "ci-local_0", multinodeRow(model, 2, 4), func() bool { return len(processesOf(model)) >= 4 })
	assert.Equal(t, 4, a.code, "exit")
	var m result.Manifest
	readJSON(t, filepath.Join(a.out, result.ManifestFile(multinodeStem("ci-local_0", 2))), &m)
	assert.Equal(t, result.StatusCancelled, m.Status, "interrupted point: status")
	assert.True(t, waitFor(5*time.Second, func() bool { return len(processesOf(model)) == 0 }), "processes left behind: %q", processesOf(model))
}

func readJSON(t *testing.T, path string, v any) {
	t.Helper()
	b, err := os.ReadFile(path)
	if err != nil {
		entries, _ := os.ReadDir(filepath.Dir(path))
		var names []string
		for _, e := range entries {
			names = append(names, e.Name())
		}
		require.NoError(t, err, "outputs: %v", names)
	}
	require.NoError(t, json.Unmarshal(b, v), "%s", path)
}

// TestMultiNodeEnvContract: the multi-node workflow's environment (CONC_LIST, PREFILL_*,
// DECODE_*, RESULT_FILENAME, additional settings exported as variables) is a row too.
func TestMultiNodeEnvContract(t *testing.T) {
	a := newRun(t, "sim-disagg", 0)
	model := "sim-disagg-env-" + a.runID
	args := []string{"run", "--runner-name", "ci-local_0", "--out", a.out, "--run-id", a.runID, "--recipes", repoRecipes,
		"--inventory", "testdata/inventory.yaml", "--ready-interval", "100ms", "--timeout", "150s", "--num-prompts", "8"}
	env := append(os.Environ(), "EXP_NAME=sim_64_16", "MODEL="+model, "MODEL_PREFIX=sim", "IMAGE="+simImage,
		"FRAMEWORK=sim-disagg", "PRECISION=fp8", "ISL=64", "OSL=16", "MAX_MODEL_LEN=280", "CONC_LIST=2", "SPEC_DECODING=none",
		"DISAGG=true", "PREFILL_NUM_WORKERS=1", "PREFILL_TP=1", "PREFILL_EP=1", "PREFILL_DP_ATTN=false",
		"DECODE_NUM_WORKERS=1", "DECODE_TP=2", "DECODE_EP=1", "DECODE_DP_ATTN=false", "CONFIG_FILE=recipes/sim.yaml",
		"RUNNER_TYPE=ci", "RESULT_FILENAME=mn_job", "IS_MULTINODE=true")
	res, err := execx.OS{}.Run(ctxT(t, 2*time.Minute), execx.Cmd{Name: agent(t), Args: args, Env: env, Stderr: a.stderr})
	require.NoError(t, err)
	require.Equal(t, 0, res.ExitCode)
	var agg result.Agg
	readJSON(t, filepath.Join(a.out, result.AggFile("mn_job_conc2_gpus_3_ctx_1_gen_2")), &agg)
	assert.True(t, agg.IsMultinode, "agg: %+v", agg)
	assert.Equal(t, 2, agg.NumDecodeGPU)
	assert.Equal(t, 2, agg.Decode.TP)
	log, _ := os.ReadFile(filepath.Join(a.out, result.ServerLogFile))
	assert.Contains(t, string(log), "decode worker 0", "server.log")
	left := processesOf(model)
	assert.Empty(t, left, "processes left behind")
}

// TestMultiNodeWorkerDies: a decode worker killed during the load takes the deployment down
// at once (the launcher stops the other components and exits), the point is an engine
// failure naming the cause, and nothing is left running.
func TestMultiNodeWorkerDies(t *testing.T) {
	a := newRun(t, "sim-disagg", 0)
	model := "sim-disagg-die-" + a.runID
	cmd := a.cmd(t, repoRecipes, "ci-local_0", multinodeRow(model, 2, 4), "--num-prompts", "100000")
	p, err := execx.OS{}.Start(ctxT(t, 2*time.Minute), cmd)
	require.NoError(t, err)
	if !waitFor(60*time.Second, func() bool { return strings.Contains(a.stderr.String(), "benchmarking") }) {
		_ = p.Signal(syscall.SIGKILL)
		p.Wait()
		require.FailNowf(t, "load never started", "%s", a.stderr)
	}
	victim := 0
	for _, d := range mustGlob(t, "/proc/[0-9]*/cmdline") {
		if b, err := os.ReadFile(d); err == nil && strings.Contains(string(b), model+"-decode-1") {
			victim, _ = strconv.Atoi(strings.Split(d, "/")[2])
		}
	}
	require.NotEqual(t, 0, victim, "decode worker 1 not found: %q", processesOf(model))
	require.NoError(t, syscall.Kill(victim, syscall.SIGKILL))
	res, _ := p.Wait()
	t.Logf("agent exit %d\n%s", res.ExitCode, a.stderr)
	assert.Equal(t, 3, res.ExitCode, "exit %d, want 3 (engine failure)", res.ExitCode)
	assert.Contains(t, a.stderr.String(), "a deployment component on node 0 exited", "stderr does not name the cause")
	var m result.Manifest
	readJSON(t, filepath.Join(a.out, result.ManifestFile(multinodeStem("ci-local_0", 2))), &m)
	assert.Equal(t, result.StatusEngineFailed, m.Status, "status %s, want engine_failed", m.Status)
	assert.True(t, waitFor(5*time.Second, func() bool { return len(processesOf(model)) == 0 }), "processes left behind: %q", processesOf(model))
}

func mustGlob(t *testing.T, pattern string) []string {
	m, err := filepath.Glob(pattern)
	require.NoError(t, err)
	return m
}
