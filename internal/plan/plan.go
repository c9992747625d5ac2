// Package plan works out what a sweep will cost before anything runs: for every matrix row
// it renders the launches `agent run` would make (through rowrun.FingerprintPlan, the same
// rendering the run uses), groups the points that can share one engine, estimates every
// job's wall time from earlier results or from a stated model, schedules the jobs on the
// nodes runners.yaml lists to get the makespan, marks the points an earlier sweep already
// measured with the same result fingerprint, and emits the matrix to run: the reference's
// (one job per point) or one job per launch group. docs/plan.md describes the rules.
package plan

import (
	"fmt"
	"sort"
	"strings"

	"github.com/inferbench/inferbench/internal/inventory"
	"github.com/inferbench/inferbench/internal/recipe"
	"github.com/inferbench/inferbench/internal/rowrun"
)

// Nodes lists the runner nodes of a runner type: runners.yaml as internal/config reads it,
// whatever its schema.
type Nodes interface {
	Nodes(runnerType string) ([]string, bool)
}

// Options are what a plan is made from. Recipes and Inventory are required.
type Options struct {
	Recipes   *recipe.Set
	Inventory *inventory.Inventory
	// Runners lists the nodes of each runner type; nil plans without a schedule.
	Runners Nodes
	// RunnerName, when set, runs every row on this one node (as `agent run --runner-name`
	// and `agent demo` do) instead of on the nodes of its runner type.
	RunnerName string
	// HW is the hardware label a row's results carry (RUNNER_TYPE); nil means the row's
	// runner, as the workflows set it.
	HW func(rowrun.Row) string
	// Engine serves every row with this recipe instead of the one its configuration selects.
	Engine string
	// AgentVersion and AgentBuild identify the agent that will run the sweep (result
	// fingerprints, see rowrun.Options).
	AgentVersion, AgentBuild string
	// RangeRatio, NumPrompts and NumWarmups are the client settings of `agent run`.
	RangeRatio             float64
	NumPrompts, NumWarmups int
	// Grouped emits one job per launch group instead of one per point.
	Grouped bool
	Model   Model
	History *History
	Reuse   *Reuse
	// ImageDigests are the digests the images resolve to now (image reference -> digest),
	// where known; a result measured with another digest is not reused.
	ImageDigests map[string]string
	// RequirePower is the sweep's --require-power: a point it would fail for invalid power
	// telemetry is not taken from a result whose power was invalid.
	RequirePower bool
}

// Plan is the sweep's bill.
type Plan struct {
	// Mode is the matrix the sweep runs: "reference" (one job per point) or "grouped".
	Mode        string        `json:"mode"`
	Totals      Totals        `json:"totals"`
	RunnerTypes []RunnerType  `json:"runner_types"`
	Relaunches  []Relaunch    `json:"relaunches"`
	Configs     []Config      `json:"configurations"`
	Jobs        []Job         `json:"jobs"`
	Sources     Sources       `json:"sources"`
	Reuse       *ReuseSummary `json:"reuse,omitempty"`
	Problems    []string      `json:"problems,omitempty"`

	shape    Shape
	maxShard int
	runnable []Runnable   // the jobs that run, in order
	reuse    *Reuse       //
	copies   []*candidate // results to copy
}

// Totals compare the two ways of running the sweep.
type Totals struct {
	Rows           int `json:"rows"`
	Points         int `json:"points"`
	Configurations int `json:"configurations"`
	// ReferenceLaunches is what the reference starts: one launch per single-node point, one
	// deployment per multi-node row.
	ReferenceLaunches int `json:"reference_launches"`
	// GroupedLaunches is one launch per launch group.
	GroupedLaunches int `json:"grouped_launches"`
	// LaunchRatio is ReferenceLaunches / GroupedLaunches.
	LaunchRatio float64 `json:"launch_ratio"`
	Reference   Cost    `json:"reference"`
	Grouped     Cost    `json:"grouped"`
	// ReusedPoints already have a valid result and do not run.
	ReusedPoints int `json:"reused_points"`
	// Unplanned rows could not be planned (see Problems); they run as given.
	Unplanned int `json:"unplanned,omitempty"`
}

// Cost is what one way of running the sweep spends.
type Cost struct {
	Jobs     int     `json:"jobs"`
	Launches int     `json:"launches"`
	GPUHours float64 `json:"gpu_hours"`
	// Makespan is the wall time until the last job ends, in seconds, on the listed nodes.
	Makespan float64 `json:"makespan_s"`
}

// RunnerType is the cost of the jobs of one runner type in the plan's mode.
type RunnerType struct {
	Type     string   `json:"type"`
	Nodes    []string `json:"nodes"`
	Jobs     int      `json:"jobs"`
	Launches int      `json:"launches"`
	Points   int      `json:"points"`
	GPUHours float64  `json:"gpu_hours"`
	Makespan float64  `json:"makespan_s"`
	// Longest is the node whose chain of jobs ends last.
	Longest *Chain `json:"longest_chain,omitempty"`
}

// Chain is the jobs one node runs one after the other.
type Chain struct {
	Node    string  `json:"node"`
	Seconds float64 `json:"seconds"`
	Jobs    []int   `json:"jobs"`
}

// Relaunch counts the launches that changing settings force within configurations.
type Relaunch struct {
	// Settings are what differs between the launches, without values.
	Settings string `json:"settings"`
	Count    int    `json:"count"`
	// Example is a configuration where it happens, with the values.
	Example string `json:"example"`
}

// Config is a configuration: the rows that differ only in their concurrency.
type Config struct {
	ID     int    `json:"id"`
	Label  string `json:"label"`
	Runner string `json:"runner"`
	Recipe string `json:"recipe,omitempty"`
	GPUs   int    `json:"gpus"`
	Rows   []int  `json:"rows"`
	Concs  []int  `json:"concs"`
	// Launches are the distinct rendered launches, in order of the first point using each.
	Launches []LaunchGroup `json:"launches"`
	Error    string        `json:"error,omitempty"`
}

// LaunchGroup is the points of a configuration that one engine can serve.
type LaunchGroup struct {
	Concs []int `json:"concs"`
	// Fingerprints is the rendered launch's fingerprint per inventory family of the runner
	// type's nodes (the one `agent run` compares to reuse a server).
	Fingerprints map[string]string `json:"fingerprints"`
	// Settings are what differs from the previous launch group of the configuration, the
	// settings that force the relaunch, and Change the same with values; empty for the first.
	Settings []string `json:"settings,omitempty"`
	Change   string   `json:"change,omitempty"`
}

// Job is one job of the emitted matrix.
type Job struct {
	ID       int      `json:"id"`
	Config   int      `json:"configuration"`
	Rows     []int    `json:"rows"`
	Runner   string   `json:"runner"`
	Concs    []int    `json:"concs"`
	Launches int      `json:"launches"`
	GPUs     int      `json:"gpus"`
	Estimate Estimate `json:"estimate"`
	// Reused are the concurrencies whose results are reused: they do not run.
	Reused []int `json:"reused,omitempty"`
	// Skipped is set when every point is reused: the job is not in the emitted matrix.
	Skipped bool `json:"skipped,omitempty"`
	// Node and Start (seconds after the sweep starts) are where and when the schedule puts it.
	Node  string  `json:"node,omitempty"`
	Start float64 `json:"start_s"`
}

// pointPlan is one concurrency of a row, rendered on every family of its nodes.
type pointPlan struct {
	conc int
	// per family, in the order of rowPlan.families
	rendered []string
	keys     []string
	launches []string
	rend     recipe.Rendered
	client   rowrun.Client
	image    string
}

func (p pointPlan) signature() string { return strings.Join(p.rendered, ",") }

// rowPlan is a matrix row planned on its runner type's nodes.
type rowPlan struct {
	n        int // 1-based row number
	in       *Input
	hw       string
	nodes    []string
	families []string
	recipe   string
	gpus     int
	points   []pointPlan
	err      error
}

// Make plans the rows of m. Rows that cannot be planned are reported in Problems and kept
// in the emitted matrix as they are, so the run reports them as it would have.
func Make(m *Matrix, o Options) (*Plan, error) {
	if o.Recipes == nil || o.Inventory == nil {
		return nil, fmt.Errorf("plan: no recipes or runner inventory")
	}
	if o.HW == nil {
		o.HW = func(r rowrun.Row) string { return r.Runner }
	}
	p := &Plan{Mode: "reference", shape: m.Shape, maxShard: m.MaxShard, reuse: o.Reuse}
	if o.Grouped {
		p.Mode = "grouped"
	}
	rows := make([]*rowPlan, len(m.Rows))
	for i := range m.Rows {
		rows[i] = planRow(i+1, &m.Rows[i], o)
		if rows[i].err != nil {
			p.Totals.Unplanned++
			p.Problems = append(p.Problems, fmt.Sprintf("%s: %v", m.Rows[i].Where, rows[i].err))
		}
	}
	configs := configure(rows)
	p.Configs, p.Relaunches = describeConfigs(configs)
	reused, rejected := markReused(rows, o)
	est := newEstimator(o)
	ref, grp := jobs(configs, false, reused), jobs(configs, true, reused)
	for _, js := range [][]*job{ref, grp} {
		for _, j := range js {
			j.out.Estimate = est.job(j)
		}
	}
	sched, gsched := schedule(ref), schedule(grp)
	p.Totals.Rows, p.Totals.Configurations = len(rows), len(configs)
	for _, r := range rows {
		p.Totals.Points += len(r.concs())
	}
	p.Totals.Reference, p.Totals.Grouped = cost(ref), cost(grp)
	// What each way starts for the whole sweep, reused points included.
	for _, j := range jobs(configs, false, nil) {
		p.Totals.ReferenceLaunches += j.out.Launches
	}
	for _, j := range jobs(configs, true, nil) {
		p.Totals.GroupedLaunches += j.out.Launches
	}
	if p.Totals.GroupedLaunches > 0 {
		p.Totals.LaunchRatio = round(float64(p.Totals.ReferenceLaunches)/float64(p.Totals.GroupedLaunches), 2)
	}
	p.Totals.ReusedPoints = len(reused)
	chosen, cs := ref, sched
	if o.Grouped {
		chosen, cs = grp, gsched
	}
	p.RunnerTypes = perType(chosen, cs)
	est.count(chosen)
	for _, j := range chosen {
		p.Jobs = append(p.Jobs, j.out)
		if !j.out.Skipped {
			p.runnable = append(p.runnable, j.runnable(p.Configs))
		}
	}
	p.Sources = est.sources()
	if o.Reuse != nil {
		p.Reuse = o.Reuse.summary(reused, rejected, chosen)
		p.copies = reusedPoints(reused)
	}
	return p, nil
}

// concs is the row's concurrencies.
func (r *rowPlan) concs() []int { return []int(r.in.Row.Conc) }

// planRow renders the row on one node of every inventory family among its nodes.
func planRow(n int, in *Input, o Options) *rowPlan {
	r := &rowPlan{n: n, in: in}
	if in.Err != nil {
		r.err = in.Err
		r.gpus = max(in.Row.TP, 1)
		return r
	}
	row := in.Row
	r.hw = o.HW(row)
	r.gpus = row.TP
	if row.Multinode() {
		r.gpus = row.PrefillGPUs() + row.DecodeGPUs()
	}
	switch {
	case o.RunnerName != "":
		r.nodes = []string{o.RunnerName}
	case o.Runners != nil:
		if nodes, ok := o.Runners.Nodes(row.Runner); ok {
			r.nodes = nodes
		} else if _, err := o.Inventory.Family(row.Runner); err == nil {
			r.nodes = []string{row.Runner} // runner-model-sweep rows name the node itself
		}
	}
	if len(r.nodes) == 0 {
		r.err = fmt.Errorf("runner type %q has no nodes in the runner file and is no node of the inventory: add it to runners.yaml", row.Runner)
		return r
	}
	seen := map[string]bool{}
	var plans []*rowrun.Plan
	for _, node := range r.nodes {
		fam, err := o.Inventory.Family(node)
		if err != nil {
			r.err = err
			return r
		}
		if seen[fam.Name] {
			continue
		}
		seen[fam.Name] = true
		p, err := rowrun.FingerprintPlan(rowrun.Options{Row: row, RunnerName: node, RunnerType: r.hw, Recipes: o.Recipes,
			Inventory: o.Inventory, AgentVersion: o.AgentVersion, AgentBuild: o.AgentBuild, RangeRatio: o.RangeRatio,
			NumPrompts: o.NumPrompts, NumWarmups: o.NumWarmups, Engine: o.Engine})
		if err != nil {
			r.err = fmt.Errorf("on %s: %w", node, err)
			return r
		}
		r.families = append(r.families, fam.Name)
		plans = append(plans, p)
	}
	r.recipe = plans[0].Recipe.Name
	agent := rowrun.Options{AgentVersion: o.AgentVersion, AgentBuild: o.AgentBuild}.AgentIdentity()
	for fi, p := range plans {
		i := 0
		for li := range p.Launches {
			l := &p.Launches[li]
			for _, pt := range l.Points {
				if fi == 0 {
					r.points = append(r.points, pointPlan{conc: pt.Conc, rend: l.Rendered, client: pt.Client, image: l.Rendered.Image})
				}
				if i < len(r.points) {
					fp := rowrun.PointFingerprint(p, l, pt, agent)
					r.points[i].rendered = append(r.points[i].rendered, l.Fingerprint)
					r.points[i].keys = append(r.points[i].keys, fp.Key)
					r.points[i].launches = append(r.points[i].launches, fp.Launch)
				}
				i++
			}
		}
	}
	return r
}

// config is the rows that differ only in their concurrency, planned.
type config struct {
	id     int
	rows   []*rowPlan
	groups []*launchGroup
}

// launchGroup is the points of a config with one rendered launch (on every family).
type launchGroup struct {
	sig      string
	points   []groupPoint
	change   string
	settings []string
}

type groupPoint struct {
	row *rowPlan
	pt  *pointPlan
}

// configure gathers rows into configurations (same row apart from conc and, for
// unplanned rows, each on its own) and the points of each into launch groups.
func configure(rows []*rowPlan) []*config {
	var out []*config
	byKey := map[string]*config{}
	for _, r := range rows {
		k := r.in.Obj.key()
		c := byKey[k]
		if c == nil || r.err != nil {
			c = &config{id: len(out) + 1}
			out = append(out, c)
			if r.err == nil {
				byKey[k] = c
			}
		}
		c.rows = append(c.rows, r)
		for i := range r.points {
			pt := &r.points[i]
			var g *launchGroup
			for _, x := range c.groups {
				if x.sig == pt.signature() {
					g = x
				}
			}
			if g == nil {
				g = &launchGroup{sig: pt.signature()}
				if n := len(c.groups); n > 0 {
					prev := c.groups[n-1].points[0].pt.rend
					g.change, g.settings = prev.Diff(pt.rend), changedSettings(prev, pt.rend)
				}
				c.groups = append(c.groups, g)
			}
			g.points = append(g.points, groupPoint{r, pt})
		}
	}
	return out
}

// describeConfigs turns configurations into their report form and counts the relaunch
// reasons over all of them.
func describeConfigs(cs []*config) ([]Config, []Relaunch) {
	var out []Config
	counts := map[string]*Relaunch{}
	for _, c := range cs {
		r0 := c.rows[0]
		oc := Config{ID: c.id, Label: describe(r0.in.Row), Runner: r0.in.Row.Runner, Recipe: r0.recipe, GPUs: r0.gpus}
		if r0.err != nil {
			oc.Error = r0.err.Error()
			oc.Label = r0.in.Where
		}
		for _, r := range c.rows {
			oc.Rows = append(oc.Rows, r.n)
			oc.Concs = append(oc.Concs, r.concs()...)
		}
		for gi, g := range c.groups {
			lg := LaunchGroup{Fingerprints: map[string]string{}, Settings: g.settings, Change: g.change}
			for _, gp := range g.points {
				lg.Concs = append(lg.Concs, gp.pt.conc)
			}
			for i, f := range r0.families {
				lg.Fingerprints[f] = g.points[0].pt.rendered[i]
			}
			oc.Launches = append(oc.Launches, lg)
			if gi == 0 {
				continue
			}
			key := strings.Join(g.settings, ", ")
			rl := counts[key]
			if rl == nil {
				rl = &Relaunch{Settings: key, Example: fmt.Sprintf("%s, conc %d to %d: %s", oc.Label,
					lastConc(c.groups[gi-1]), g.points[0].pt.conc, g.change)}
				counts[key] = rl
			}
			rl.Count++
		}
		out = append(out, oc)
	}
	var rls []Relaunch
	for _, r := range counts {
		rls = append(rls, *r)
	}
	sort.Slice(rls, func(i, j int) bool {
		if rls[i].Count != rls[j].Count {
			return rls[i].Count > rls[j].Count
		}
		return rls[i].Settings < rls[j].Settings
	})
	return out, rls
}

func lastConc(g *launchGroup) int { return g.points[len(g.points)-1].pt.conc }

func round(x float64, digits int) float64 {
	p := 1.0
	for range digits {
		p *= 10
	}
	if x < 0 {
		return -float64(int64(-x*p+0.5)) / p
	}
	return float64(int64(x*p+0.5)) / p
}
