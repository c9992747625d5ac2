package main

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strings"
	"time"

	"github.com/inferbench/inferbench/internal/execx"
	"github.com/inferbench/inferbench/internal/inventory"
	"github.com/inferbench/inferbench/internal/result"
	"github.com/inferbench/inferbench/internal/runner"
)

const demoSweep = "full-sweep --single-node --model-prefix gptoss --precision fp4 --runner-type h100 h200 --seq-lens 1k1k --max-conc 16"

// cmdDemo runs the whole product on this machine with no GPU: the generator expands our
// configs into a matrix, every row is served by the simulator through the local backend
// (consecutive concurrencies of a configuration on one server), and the results are
// collected and turned into the HTML report.
func cmdDemo(ctx context.Context, e env, args []string) int {
	fs := flag.NewFlagSet("agent demo", flag.ContinueOnError)
	fs.SetOutput(e.stderr)
	fs.Usage = func() {
		fmt.Fprintf(e.stderr, `usage: agent demo [flags]

Runs the whole flow on this machine with no GPU: generator matrix (our configs, a small
filter) -> agent run of every row on the simulator (local backend) -> collect -> report.
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
	if err := fs.Parse(args); err != nil {
		if errors.Is(err, flag.ErrHelp) {
			return exitOK
		}
		return exitUsage
	}
	d := demo{e: e, out: *out, configs: *configs, engine: *engine, runnerName: *runnerName}
	return d.run(ctx, *sweep, *generator)
}

type demo struct {
	e                  env
	out, configs       string
	engine, runnerName string
}

func (d demo) run(ctx context.Context, sweep, generator string) int {
	start := time.Now()
	results := filepath.Join(d.out, "results")
	if err := os.RemoveAll(results); err != nil {
		fmt.Fprintf(d.e.stderr, "agent demo: %v\n", err)
		return exitInternal
	}
	rows, err := d.matrix(ctx, sweep, generator)
	if err != nil {
		fmt.Fprintf(d.e.stderr, "agent demo: matrix: %v\n", err)
		return exitUsage
	}
	groups, err := groupByConfig(rows)
	if err != nil {
		fmt.Fprintf(d.e.stderr, "agent demo: %v\n", err)
		return exitInternal
	}
	fmt.Fprintf(d.e.stdout, "demo: %d matrix rows in %d server configurations, served by the simulator\n", len(rows), len(groups))
	failed, code := d.runGroups(ctx, groups, results)
	if code != exitOK {
		return code
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

// matrix runs the generator and returns its rows.
func (d demo) matrix(ctx context.Context, sweep, generator string) ([]json.RawMessage, error) {
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
	if err != nil || res.ExitCode != 0 {
		return nil, fmt.Errorf("generator failed (exit %d): %v\n%s", res.ExitCode, err, bytes.TrimSpace(res.Stderr))
	}
	var rows []json.RawMessage
	if err := json.Unmarshal(res.Stdout, &rows); err != nil {
		return nil, fmt.Errorf("generator output is not a JSON array: %v", err)
	}
	if len(rows) == 0 {
		return nil, errors.New("the sweep selected no rows: widen --sweep")
	}
	return rows, nil
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

// group is one server configuration: rows that differ only in their concurrency.
type group struct {
	row   map[string]json.RawMessage
	concs []int
}

// groupByConfig merges consecutive rows that differ only in conc, so each configuration
// is one `agent run` whose points share a server.
func groupByConfig(rows []json.RawMessage) ([]group, error) {
	var groups []group
	var lastKey string
	for _, raw := range rows {
		var row map[string]json.RawMessage
		if err := json.Unmarshal(raw, &row); err != nil {
			return nil, fmt.Errorf("matrix row: %v", err)
		}
		var conc int
		if err := json.Unmarshal(row["conc"], &conc); err != nil {
			return nil, fmt.Errorf("matrix row conc: %v", err)
		}
		delete(row, "conc")
		keyBytes, _ := json.Marshal(row)
		key := string(keyBytes)
		if len(groups) > 0 && key == lastKey {
			g := &groups[len(groups)-1]
			g.concs = append(g.concs, conc)
			continue
		}
		groups = append(groups, group{row: row, concs: []int{conc}})
		lastKey = key
	}
	return groups, nil
}

func (d demo) runGroups(ctx context.Context, groups []group, results string) (failed, code int) {
	recipes, err := loadRecipes(filepath.Join(d.configs, "recipes.yaml"))
	if err != nil {
		fmt.Fprintf(d.e.stderr, "agent demo: recipes:\n%v\n", err)
		return 0, exitUsage
	}
	inv, err := inventory.LoadFile(filepath.Join(d.configs, "inventory.yaml"))
	if err != nil {
		fmt.Fprintf(d.e.stderr, "agent demo: inventory:\n%v\n", err)
		return 0, exitUsage
	}
	if err := os.MkdirAll(d.out, 0o755); err != nil {
		fmt.Fprintf(d.e.stderr, "agent demo: %v\n", err)
		return 0, exitInternal
	}
	logFile, err := os.Create(filepath.Join(d.out, "agent.log"))
	if err != nil {
		fmt.Fprintf(d.e.stderr, "agent demo: %v\n", err)
		return 0, exitInternal
	}
	defer logFile.Close()
	self, _ := os.Executable()
	for i, g := range groups {
		g.row["conc"], _ = json.Marshal(g.concs)
		b, _ := json.Marshal(g.row)
		row, err := runner.ParseRow(b)
		if err != nil {
			fmt.Fprintf(d.e.stderr, "agent demo: %v\n", err)
			return failed, exitInternal
		}
		fmt.Fprintf(d.e.stdout, "[%d/%d] %s %s %s %s tp%d ep%d conc %v\n", i+1, len(groups),
			row.ExpName, row.Precision, row.Framework, row.Runner, row.TP, row.EP, g.concs)
		dir := filepath.Join(results, fmt.Sprintf("job%02d", i+1))
		rep, err := runner.Run(ctx, runner.Options{
			Row: row, RunnerName: d.runnerName, RunnerType: row.Runner + "-sim",
			OutDir: dir, Recipes: recipes, Inventory: inv,
			Environ: os.Environ(), AgentPath: self, AgentVersion: agentVersion(), Engine: d.engine,
			Log: logFile, Timeout: 10 * time.Minute, StopGrace: 5 * time.Second,
		})
		if rep != nil {
			failed += printPoints(d.e.stdout, dir, rep.Points)
		}
		if ctx.Err() != nil {
			fmt.Fprintf(d.e.stderr, "agent demo: cancelled\n")
			return failed, exitInternal
		}
		if err != nil {
			fmt.Fprintf(d.e.stderr, "  %s: %v (log: %s)\n", runner.KindOf(err), err, logFile.Name())
			if rep == nil {
				failed += len(g.concs)
			}
		}
	}
	return failed, exitOK
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
