package e2e

import (
	"encoding/json"
	"os"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/inferbench/inferbench/internal/execx"
	"github.com/inferbench/inferbench/internal/result"
)

// powerValidation is the part of power_validation_<stem>.json these tests read.
type powerValidation struct {
	PowerValid  bool     `json:"power_valid"`
	Reasons     []string `json:"reasons"`
	ObservedIDs []string `json:"observed_gpu_ids"`
	Sources     struct {
		Selected string `json:"selected"`
	} `json:"energy_sources"`
	Role     map[string]string `json:"per_gpu_role"`
	Warnings []string          `json:"warnings"`
}

// TestPowerOnTheSimulator runs rows on the simulator, whose GPUs the agent samples through
// its imitation of nvidia-smi (sim-smi), locally and as a Slurm job step (sampled through
// srun --overlap on the job's node): every point gets its telemetry file, its validation
// sidecar and the agg record's power fields.
func TestPowerOnTheSimulator(t *testing.T) {
	for _, tt := range []struct{ runner, backend string }{{"ci-local_0", "local"}, {"ci-slurm_0", "slurm"}} {
		t.Run(tt.backend, func(t *testing.T) {
			ctx := ctxT(t, 3*time.Minute)
			if tt.backend == "slurm" {
				need(t, "slurm", slurmUp(ctx))
			}
			a := newRun(t, "sim", 2)
			// The simulator is ready within a second; a job step's sampler on a loaded CI
			// machine can take about as long to print its first line (a real engine loads
			// for minutes). Longer warm-ups keep the first window after that line.
			a.exec(t, repoRecipes, tt.runner, a.entry(2, 4), "--num-prompts", "48", "--num-warmups", "40")
			require.Equal(t, 0, a.code, "exit")
			for _, c := range []int{2, 4} {
				m := a.manifest(t, c, tt.runner)
				var v powerValidation
				readJSON(t, filepath.Join(a.out, result.PowerValidationFile(m.ResultFilename)), &v)
				if !assert.True(t, v.PowerValid, "conc %d: power invalid (%v)", c, v.Reasons) ||
					!assert.NotEmpty(t, v.Sources.Selected, "conc %d: no power source", c) {
					logPower(t, a.out, m.ResultFilename)
				}
				want := map[string]int{"local": 2, "slurm": 2}[tt.backend]
				assert.Len(t, v.ObservedIDs, want, "conc %d: sampled GPUs %v, want the engine's %d", c, v.ObservedIDs, want)
				var agg result.Agg
				readJSON(t, filepath.Join(a.out, result.AggFile(m.ResultFilename)), &agg)
				p := agg.Power
				require.NotNil(t, p, "conc %d: agg power fields %+v", c, agg.Power)
				assert.True(t, p.Valid, "conc %d: agg power fields %+v", c, agg.Power)
				assert.Greater(t, p.AvgPowerW, float64(0), "conc %d: agg power fields %+v", c, agg.Power)
				assert.Greater(t, p.JoulesPerOutputToken, float64(0), "conc %d: agg power fields %+v", c, agg.Power)
				csv, err := os.ReadFile(filepath.Join(a.out, result.GPUMetricsFile(m.ResultFilename)))
				assert.NoError(t, err, "conc %d: telemetry file", c)
				assert.True(t, strings.HasPrefix(string(csv), "timestamp, index, power.draw [W]"), "conc %d: telemetry file: %v %.80q", c, err, csv)
			}
			if tt.backend == "slurm" {
				left := jobsOf(t, ctx, a.runID)
				assert.Empty(t, left, "jobs left behind")
			}
		})
	}
}

// TestRequirePowerExitStatus: without nvidia-smi on this machine, a required power
// measurement fails the point with its own status and exit status 5, after the results and
// the validation sidecar were written; without --require-power the same run succeeds.
func TestRequirePowerExitStatus(t *testing.T) {
	if _, err := execx.LookPath("nvidia-smi"); err == nil {
		t.Skip("this machine has nvidia-smi")
	}
	for _, tt := range []struct {
		extra  []string
		code   int
		status result.Status
	}{
		{nil, 0, result.StatusSuccess},
		{[]string{"--require-power"}, 5, result.StatusPowerInvalid},
	} {
		a := newRun(t, "sim", 1)
		a.exec(t, repoRecipes, "ci-local_0", a.entry(2), append([]string{"--num-prompts", "8", "--power-tool", "nvidia-smi"}, tt.extra...)...)
		m := a.manifest(t, 2, "ci-local_0")
		assert.Equal(t, tt.code, a.code, "%v: exit", tt.extra)
		assert.Equal(t, tt.status, m.Status, "%v: exit", tt.extra)
		var v powerValidation
		readJSON(t, filepath.Join(a.out, result.PowerValidationFile(m.ResultFilename)), &v)
		assert.False(t, v.PowerValid, "%v: validation %+v", tt.extra, v)
		require.NotEmpty(t, v.Reasons, "%v: validation", tt.extra)
		assert.Equal(t, "telemetry_tool_missing", v.Reasons[0], "%v: validation", tt.extra)
	}
}

// TestDemoReportShowsEnergy runs a small `agent demo` and opens its report in headless
// Chromium: the energy charts are drawn from the simulated GPUs' measurements.
func TestDemoReportShowsEnergy(t *testing.T) {
	chrome := findChromium()
	need(t, "chromium", chrome != "")
	ctx := ctxT(t, 4*time.Minute)
	gen := filepath.Join(binDir, "generator")
	build := execx.Cmd{Name: "go", Args: []string{"build", "-o", gen, "../../generator"}}
	_, err := (execx.OS{}).Run(ctx, build)
	require.NoError(t, err, "building the generator")
	out := t.TempDir()
	sweep := "full-sweep --single-node --model-prefix gptoss --precision fp4 --runner-type h100 --seq-lens 1k1k --max-conc 4"
	res, err := execx.OS{}.Run(ctx, execx.Cmd{Name: agent(t), Args: []string{"demo", "--out", out, "--configs", "../../configs",
		"--generator", gen, "--sweep", sweep}})
	require.NoError(t, err, "agent demo: %v\n%s\n%s", err, res.Stdout, res.Stderr)
	assert.Contains(t, string(res.Stdout), "W/gpu", "the demo's progress lines show no power")
	dom, err := execx.OS{}.Run(ctx, execx.Cmd{Name: chrome, Args: []string{"--headless", "--no-sandbox", "--disable-gpu",
		"--no-first-run", "--disable-background-networking", "--user-data-dir=" + t.TempDir(), "--dump-dom",
		"file://" + filepath.Join(out, "report.html")}})
	require.NoError(t, err, "chromium")
	for _, id := range []string{"chart-energy", "chart-tpj"} {
		m := regexp.MustCompile(`<figure class="chart" id="` + id + `">.*?<svg class="plot"[^>]*data-points="(\d+)"`).FindSubmatch(dom.Stdout)
		if !assert.NotNil(t, m, "%s missing from the demo report", id) {
			continue
		}
		n, _ := strconv.Atoi(string(m[1]))
		assert.NotEqual(t, 0, n, "%s shows no points", id)
	}
	var bmk []map[string]any
	b, _ := os.ReadFile(filepath.Join(out, "agg_bmk.json"))
	require.NoError(t, json.Unmarshal(b, &bmk), "agg_bmk.json")
	require.NotEmpty(t, bmk, "agg_bmk.json")
	for _, r := range bmk {
		assert.Equal(t, 1.0, r["power_valid"], "agg_bmk.json record without valid power: conc")
		assert.NotNil(t, r["joules_per_output_token"], "agg_bmk.json record without valid power: conc")
	}
}

func findChromium() string {
	for _, name := range []string{"chromium", "chromium-browser", "google-chrome"} {
		if p, err := execx.LookPath(name); err == nil {
			return p
		}
	}
	return ""
}

// TestPowerMultiNodeRoles: a disaggregated row's points get the per-role energy fields,
// each GPU of the deployment attributed to prefill or decode.
func TestPowerMultiNodeRoles(t *testing.T) {
	for _, tt := range []struct{ runner, backend string }{{"ci-local_0", "local"}, {"ci-slurm_0", "slurm"}} {
		t.Run(tt.backend, func(t *testing.T) {
			ctx := ctxT(t, 3*time.Minute)
			if tt.backend == "slurm" {
				need(t, "slurm", slurmUp(ctx))
			}
			a := newRun(t, "sim-disagg", 0)
			a.exec(t, repoRecipes, tt.runner, multinodeRow("sim-disagg-"+a.runID, 2, 4), "--num-prompts", "24", "--num-warmups", "40")
			require.Equal(t, 0, a.code, "exit")
			for _, c := range []int{2, 4} {
				stem := multinodeStem(tt.runner, c)
				var v powerValidation
				readJSON(t, filepath.Join(a.out, result.PowerValidationFile(stem)), &v)
				assert.True(t, v.PowerValid, "conc %d: power %v (%v, %q), roles %v", c, v.PowerValid, v.Reasons, v.Warnings, v.Role)
				assert.Len(t, v.Role, 3, "conc %d", c)
				var agg result.Agg
				readJSON(t, filepath.Join(a.out, result.AggFile(stem)), &agg)
				p := agg.Power
				if assert.NotNil(t, p, "conc %d: agg power", c) && assert.True(t, p.Valid, "conc %d: agg power %+v", c, p) &&
					assert.NotNil(t, p.Roles, "conc %d: agg power roles", c) &&
					assert.NotNil(t, p.Roles.PrefillGPUEnergyJ, "conc %d: prefill energy", c) &&
					assert.NotNil(t, p.Roles.DecodeJoulesPerOutputToken, "conc %d: decode J/token", c) {
					sum := *p.Roles.PrefillGPUEnergyJ + *p.Roles.DecodeGPUEnergyJ
					assert.InEpsilon(t, p.TotalGPUEnergyJ, sum, 0.01, "conc %d: prefill + decode energy against the whole deployment's", c)
				}
			}
		})
	}
}

// logPower shows what a failed power check saw: the sidecar and the ends of the telemetry.
func logPower(t *testing.T, dir, stem string) {
	side, _ := os.ReadFile(filepath.Join(dir, result.PowerValidationFile(stem)))
	csv, _ := os.ReadFile(filepath.Join(dir, result.GPUMetricsFile(stem)))
	lines := strings.Split(strings.TrimSpace(string(csv)), "\n")
	if len(lines) > 8 {
		lines = append(lines[:4], lines[len(lines)-4:]...)
	}
	t.Logf("%s\n%s", side, strings.Join(lines, "\n"))
}
