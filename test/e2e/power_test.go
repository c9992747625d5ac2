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
			if a.code != 0 {
				t.Fatalf("exit %d, want 0", a.code)
			}
			for _, c := range []int{2, 4} {
				m := a.manifest(t, c, tt.runner)
				var v powerValidation
				readJSON(t, filepath.Join(a.out, result.PowerValidationFile(m.ResultFilename)), &v)
				if !v.PowerValid || v.Sources.Selected == "" {
					t.Errorf("conc %d: power %v (%v), source %q", c, v.PowerValid, v.Reasons, v.Sources.Selected)
					logPower(t, a.out, m.ResultFilename)
				}
				if want := map[string]int{"local": 2, "slurm": 2}[tt.backend]; len(v.ObservedIDs) != want {
					t.Errorf("conc %d: sampled GPUs %v, want the engine's %d", c, v.ObservedIDs, want)
				}
				var agg result.Agg
				readJSON(t, filepath.Join(a.out, result.AggFile(m.ResultFilename)), &agg)
				if p := agg.Power; p == nil || !p.Valid || p.AvgPowerW <= 0 || p.JoulesPerOutputToken <= 0 {
					t.Errorf("conc %d: agg power fields %+v", c, agg.Power)
				}
				csv, err := os.ReadFile(filepath.Join(a.out, result.GPUMetricsFile(m.ResultFilename)))
				if err != nil || !strings.HasPrefix(string(csv), "timestamp, index, power.draw [W]") {
					t.Errorf("conc %d: telemetry file: %v %.80q", c, err, csv)
				}
			}
			if tt.backend == "slurm" {
				if left := jobsOf(t, ctx, a.runID); left != "" {
					t.Errorf("jobs left behind: %s", left)
				}
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
		if a.code != tt.code || m.Status != tt.status {
			t.Errorf("%v: exit %d status %s, want %d %s", tt.extra, a.code, m.Status, tt.code, tt.status)
		}
		var v powerValidation
		readJSON(t, filepath.Join(a.out, result.PowerValidationFile(m.ResultFilename)), &v)
		if v.PowerValid || len(v.Reasons) == 0 || v.Reasons[0] != "telemetry_tool_missing" {
			t.Errorf("%v: validation %+v", tt.extra, v)
		}
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
	if _, err := (execx.OS{}).Run(ctx, build); err != nil {
		t.Fatalf("building the generator: %v", err)
	}
	out := t.TempDir()
	sweep := "full-sweep --single-node --model-prefix gptoss --precision fp4 --runner-type h100 --seq-lens 1k1k --max-conc 4"
	res, err := execx.OS{}.Run(ctx, execx.Cmd{Name: agent(t), Args: []string{"demo", "--out", out, "--configs", "../../configs",
		"--generator", gen, "--sweep", sweep}})
	if err != nil {
		t.Fatalf("agent demo: %v\n%s\n%s", err, res.Stdout, res.Stderr)
	}
	if !strings.Contains(string(res.Stdout), "W/gpu") {
		t.Errorf("the demo's progress lines show no power:\n%s", res.Stdout)
	}
	dom, err := execx.OS{}.Run(ctx, execx.Cmd{Name: chrome, Args: []string{"--headless", "--no-sandbox", "--disable-gpu",
		"--no-first-run", "--disable-background-networking", "--user-data-dir=" + t.TempDir(), "--dump-dom",
		"file://" + filepath.Join(out, "report.html")}})
	if err != nil {
		t.Fatalf("chromium: %v", err)
	}
	for _, id := range []string{"chart-energy", "chart-tpj"} {
		m := regexp.MustCompile(`<figure class="chart" id="` + id + `">.*?<svg class="plot"[^>]*data-points="(\d+)"`).FindSubmatch(dom.Stdout)
		if m == nil {
			t.Errorf("%s missing from the demo report", id)
			continue
		}
		if n, _ := strconv.Atoi(string(m[1])); n == 0 {
			t.Errorf("%s shows no points", id)
		}
	}
	var bmk []map[string]any
	b, _ := os.ReadFile(filepath.Join(out, "agg_bmk.json"))
	if err := json.Unmarshal(b, &bmk); err != nil || len(bmk) == 0 {
		t.Fatalf("agg_bmk.json: %v", err)
	}
	for _, r := range bmk {
		if r["power_valid"] != 1.0 || r["joules_per_output_token"] == nil {
			t.Errorf("agg_bmk.json record without valid power: conc %v power_valid %v", r["conc"], r["power_valid"])
		}
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
			if a.code != 0 {
				t.Fatalf("exit %d, want 0", a.code)
			}
			for _, c := range []int{2, 4} {
				stem := multinodeStem(tt.runner, c)
				var v powerValidation
				readJSON(t, filepath.Join(a.out, result.PowerValidationFile(stem)), &v)
				if !v.PowerValid || len(v.Role) != 3 {
					t.Errorf("conc %d: power %v (%v, %q), roles %v", c, v.PowerValid, v.Reasons, v.Warnings, v.Role)
				}
				var agg result.Agg
				readJSON(t, filepath.Join(a.out, result.AggFile(stem)), &agg)
				if p := agg.Power; p == nil || !p.Valid || p.Roles == nil || p.Roles.PrefillGPUEnergyJ == nil || p.Roles.DecodeJoulesPerOutputToken == nil {
					t.Errorf("conc %d: agg power fields %+v", c, agg.Power)
				} else if sum := *p.Roles.PrefillGPUEnergyJ + *p.Roles.DecodeGPUEnergyJ; sum < 0.99*p.TotalGPUEnergyJ || sum > 1.01*p.TotalGPUEnergyJ {
					t.Errorf("conc %d: prefill + decode energy %.3f J, whole deployment %.3f J", c, sum, p.TotalGPUEnergyJ)
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
