package main

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"math"
	"os"
	"path/filepath"
	"strings"
	"time"

	"github.com/inferbench/inferbench/internal/execx"
	"github.com/inferbench/inferbench/internal/inventory"
	"github.com/inferbench/inferbench/internal/plan"
	"github.com/inferbench/inferbench/internal/recipe"
	"github.com/inferbench/inferbench/internal/result"
	"github.com/inferbench/inferbench/internal/rowrun"
)

const demoSweep = "full-sweep --single-node --model-prefix gptoss --precision fp4 --runner-type h100 h200 --seq-lens 1k1k --max-conc 16"

// cmdDemo runs the whole product on this machine with no GPU: the generator expands our
// configs into a matrix, its plan groups the points into one job per launch group and
// estimates each, every job is served by the simulator through the local backend (one
// server per job), the estimates are checked against the measured wall times, and the
// results are collected and turned into the HTML report.
func cmdDemo(ctx context.Context, e env, args []string) int {
	fs := flag.NewFlagSet("agent demo", flag.ContinueOnError)
	fs.SetOutput(e.stderr)
	fs.Usage = func() {
		fmt.Fprintf(e.stderr, `usage: agent demo [flags]

Runs the whole flow on this machine with no GPU: generator matrix (our configs, a small
filter) -> its plan (one job per launch group, estimated wall times) -> agent run of every
job on the simulator (local backend) -> collect -> report. Each job's estimated wall time is
compared with the measured one (estimates.md); --history out/demo/results estimates the
next demo from this one's results instead of the model.
Results are labelled <gpu>-sim so they are never mistaken for real hardware.

flags:
`)
		fs.PrintDefaults()
	}
	out := fs.String("out", filepath.Join("out", "demo"), "output `directory`")
	sweep := fs.String("sweep", demoSweep, "generator command that produces the matrix (--config-files is added)")
	configs := fs.String("configs", "configs", "directory of nvidia-master.yaml, amd-master.yaml, recipes.yaml, inventory.yaml")
	generator := fs.String("generator", "", "generator binary (default: next to this binary, else `go run ./generator`)")
	engine := fs.String("engine", "sim-demo", "recipe that serves every row")
	runnerName := fs.String("runner-name", "local_0", "inventory entry of this machine")
	history := fs.String("history", "", "estimate from the results of an earlier demo (e.g. out/demo/results) instead of the model")
	if err := fs.Parse(args); err != nil {
		if errors.Is(err, flag.ErrHelp) {
			return exitOK
		}
		return exitUsage
	}
	d := demo{e: e, out: *out, configs: *configs, engine: *engine, runnerName: *runnerName, history: *history}
	return d.run(ctx, *sweep, *generator)
}

type demo struct {
	e                  env
	out, configs       string
	engine, runnerName string
	history            string
}

func (d demo) run(ctx context.Context, sweep, generator string) int {
	start := time.Now()
	results := filepath.Join(d.out, "results")
	// History is read before this run replaces the results it may point at.
	var history *plan.History
	if d.history != "" {
		h, err := plan.LoadHistory(os.DirFS(d.history), d.history)
		if err != nil {
			fmt.Fprintf(d.e.stderr, "agent demo: %v\n", err)
			return exitUsage
		}
		history = h
	}
	if err := os.RemoveAll(results); err != nil {
		fmt.Fprintf(d.e.stderr, "agent demo: %v\n", err)
		return exitInternal
	}
	mat, err := d.matrix(ctx, sweep, generator)
	if err != nil {
		fmt.Fprintf(d.e.stderr, "agent demo: matrix: %v\n", err)
		return exitUsage
	}
	recipes, err := loadRecipes(filepath.Join(d.configs, "recipes.yaml"))
	if err != nil {
		fmt.Fprintf(d.e.stderr, "agent demo: recipes:\n%v\n", err)
		return exitUsage
	}
	inv, err := inventory.LoadFile(filepath.Join(d.configs, "inventory.yaml"))
	if err != nil {
		fmt.Fprintf(d.e.stderr, "agent demo: inventory:\n%v\n", err)
		return exitUsage
	}
	// The plan of the demo's sweep, grouped: one job (one agent run, one server) per launch
	// group. There is no workflow job around each run, so no job overhead.
	model := plan.DefaultModel()
	model.Overhead = 0
	p, err := plan.Make(mat, plan.Options{Recipes: recipes, Inventory: inv, RunnerName: d.runnerName, Engine: d.engine,
		HW: demoHW, AgentVersion: agentVersion(), AgentBuild: agentBuild(), Grouped: true, Model: model, History: history})
	if err != nil {
		fmt.Fprintf(d.e.stderr, "agent demo: plan: %v\n", err)
		return exitInternal
	}
	if err := d.writePlan(p); err != nil {
		fmt.Fprintf(d.e.stderr, "agent demo: %v\n", err)
		return exitInternal
	}
	jobs := p.Runnable()
	fmt.Fprintf(d.e.stdout, "demo: %d matrix rows in %d jobs (one server each), served by the simulator; estimated %s (%s)\n",
		len(mat.Rows), len(jobs), fmtSeconds(p.Totals.Grouped.Makespan), estimateSources(p))
	failed, measured, code := d.runJobs(ctx, jobs, results, recipes, inv)
	if code != exitOK {
		return code
	}
	if err := d.writeEstimateCheck(jobs, measured); err != nil {
		fmt.Fprintf(d.e.stderr, "agent demo: %v\n", err)
		return exitInternal
	}
	if c := cmdCollect(ctx, d.e, []string{"-q", "-o", d.out, results}); c != exitOK {
		return c
	}
	html := filepath.Join(d.out, "report.html")
	if c := cmdReport(ctx, d.e, []string{"-o", html, "-title", "inferbench demo (simulated engines)", results}); c != exitOK {
		return c
	}
	fmt.Fprintf(d.e.stdout, "demo: done in %s; %d failed points; aggregates in %s\n", time.Since(start).Round(time.Second), failed, d.out)
	if failed > 0 {
		return exitBenchFail
	}
	return exitOK
}

// demoHW labels the demo's results <gpu>-sim so they are never mistaken for real hardware.
func demoHW(r rowrun.Row) string { return r.Runner + "-sim" }

// matrix runs the generator and reads its rows.
func (d demo) matrix(ctx context.Context, sweep, generator string) (*plan.Matrix, error) {
	words, err := execx.SplitWords(sweep)
	if err != nil {
		return nil, err
	}
	words = append(words, "--config-files",
		filepath.Join(d.configs, "nvidia-master.yaml"), filepath.Join(d.configs, "amd-master.yaml"),
		"--runner-config", filepath.Join(d.configs, "runners.yaml"))
	cmd := generatorCmd(generator, words)
	fmt.Fprintf(d.e.stdout, "demo: %s %s\n", cmd.Name, strings.Join(cmd.Args, " "))
	res, err := execx.OS{}.Run(ctx, cmd)
	if err != nil {
		return nil, fmt.Errorf("generator failed: %w\n%s", err, bytes.TrimSpace(res.Stderr))
	}
	if res.ExitCode != 0 {
		return nil, fmt.Errorf("generator failed (exit %d)\n%s", res.ExitCode, bytes.TrimSpace(res.Stderr))
	}
	m, err := plan.ReadMatrix("generator output", res.Stdout)
	if err != nil {
		return nil, err
	}
	if len(m.Rows) == 0 {
		return nil, errors.New("the sweep selected no rows: widen --sweep")
	}
	return m, nil
}

func generatorCmd(generator string, words []string) execx.Cmd {
	if generator == "" {
		if self, err := os.Executable(); err == nil {
			sibling := filepath.Join(filepath.Dir(self), "generator")
			if st, err := os.Stat(sibling); err == nil && !st.IsDir() {
				generator = sibling
			}
		}
	}
	if generator == "" {
		return execx.Cmd{Name: "go", Args: append([]string{"run", "./generator"}, words...)}
	}
	return execx.Cmd{Name: generator, Args: words}
}

// writePlan keeps the plan beside the results: plan.md for people, plan.json for tools.
func (d demo) writePlan(p *plan.Plan) error {
	if err := os.MkdirAll(d.out, 0o755); err != nil {
		return err
	}
	for name, write := range map[string]func(io.Writer) error{"plan.md": p.WriteMarkdown, "plan.json": p.WriteJSON} {
		if err := writeFileAtomic(filepath.Join(d.out, name), write); err != nil {
			return err
		}
	}
	return nil
}

// runJobs runs every job of the plan with agent run and measures each one's wall time.
func (d demo) runJobs(ctx context.Context, jobs []plan.Runnable, results string, recipes *recipe.Set, inv *inventory.Inventory) (failed int, measured []time.Duration, code int) {
	logFile, err := os.Create(filepath.Join(d.out, "agent.log"))
	if err != nil {
		fmt.Fprintf(d.e.stderr, "agent demo: %v\n", err)
		return 0, nil, exitInternal
	}
	defer logFile.Close()
	self, _ := os.Executable()
	for i, j := range jobs {
		row := j.Row
		fmt.Fprintf(d.e.stdout, "[%d/%d] %s %s %s %s tp%d ep%d conc %v, estimated %s\n", i+1, len(jobs),
			row.ExpName, row.Precision, row.Framework, row.Runner, row.TP, row.EP, []int(row.Conc), fmtSeconds(j.Job.Estimate.Seconds))
		dir := filepath.Join(results, fmt.Sprintf("job%02d", i+1))
		t0 := time.Now()
		rep, err := rowrun.Run(ctx, rowrun.Options{
			Row: row, RunnerName: d.runnerName, RunnerType: demoHW(row),
			OutDir: dir, Recipes: recipes, Inventory: inv,
			Environ: d.e.environment(), AgentPath: self, AgentVersion: agentVersion(), AgentBuild: agentBuild(), Engine: d.engine,
			Log: logFile, Timeout: 10 * time.Minute, StopGrace: 5 * time.Second,
		})
		measured = append(measured, time.Since(t0))
		if rep != nil {
			failed += printPoints(d.e.stdout, dir, rep.Points)
		}
		if ctx.Err() != nil {
			fmt.Fprintf(d.e.stderr, "agent demo: cancelled\n")
			return failed, measured, exitInternal
		}
		if err != nil {
			fmt.Fprintf(d.e.stderr, "  %s: %v (log: %s)\n", rowrun.KindOf(err), err, logFile.Name())
			if rep == nil {
				failed += len(row.Conc)
			}
		}
	}
	return failed, measured, exitOK
}

// writeEstimateCheck compares every job's estimated wall time with the measured one, prints
// the summary and writes the table to estimates.md.
func (d demo) writeEstimateCheck(jobs []plan.Runnable, measured []time.Duration) error {
	var b strings.Builder
	b.WriteString("| job | configuration | conc | estimated | from | measured | error |\n|---:|---|---|---:|---|---:|---:|\n")
	var sumAbs, worst float64
	for i, j := range jobs {
		if i >= len(measured) {
			break
		}
		est, got := j.Job.Estimate.Seconds, measured[i].Seconds()
		e := 100 * (est - got) / got
		sumAbs += math.Abs(e)
		worst = max(worst, math.Abs(e))
		fmt.Fprintf(&b, "| %d | %s | %v | %.1fs | %s | %.1fs | %+.0f%% |\n", j.Job.ID, j.Label, j.Job.Concs, est, j.Sources, got, e)
	}
	n := float64(min(len(jobs), len(measured)))
	summary := fmt.Sprintf("estimate vs measured wall time per job: mean absolute error %.0f%%, worst %.0f%% over %d jobs", sumAbs/max(n, 1), worst, int(n))
	fmt.Fprintf(d.e.stdout, "demo: %s (table in %s)\n", summary, filepath.Join(d.out, "estimates.md"))
	return os.WriteFile(filepath.Join(d.out, "estimates.md"), []byte("# "+summary+"\n\n"+b.String()), 0o644)
}

func estimateSources(p *plan.Plan) string {
	s := p.Sources
	if s.History == "" {
		return "from the model: no --history"
	}
	return fmt.Sprintf("history %s, %d points", s.History, s.HistoryPoints)
}

func fmtSeconds(s float64) string {
	return (time.Duration(s * float64(time.Second))).Round(time.Second).String()
}

// printPoints writes one progress line per point and returns how many failed.
func printPoints(w io.Writer, dir string, points []*result.Manifest) (failed int) {
	for _, m := range points {
		line := fmt.Sprintf("  conc %-4d %-13s", m.Conc, m.Status)
		if m.OK() {
			if agg := readAgg(filepath.Join(dir, result.AggFile(m.ResultFilename))); agg != nil {
				ttft, _ := agg.Get("median_ttft")
				intv, _ := agg.Get("median_intvty")
				line += fmt.Sprintf(" %8.1f tok/s/gpu  %7.1f tok/s/user  TTFT p50 %6.1f ms", agg.TputPerGPU, intv, ttft*1000)
				if p := agg.Power; p != nil && p.Valid {
					line += fmt.Sprintf("  %5.1f W/gpu %.3f J/tok", p.AvgPowerW, p.JoulesPerOutputToken)
				} else if p != nil {
					line += "  power invalid"
				}
			}
		} else {
			failed++
			line += " " + m.Message
		}
		if m.ServerReused {
			line += "  (server reused)"
		}
		fmt.Fprintln(w, line)
	}
	return failed
}

func readAgg(path string) *result.Agg {
	b, err := os.ReadFile(path)
	if err != nil {
		return nil
	}
	var a result.Agg
	if json.Unmarshal(b, &a) != nil {
		return nil
	}
	return &a
}
