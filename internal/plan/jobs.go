package plan

import (
	"encoding/json"
	"sort"

	"github.com/inferbench/inferbench/internal/rowrun"
)

// job is one job of a way of running the sweep: the points it runs and the row it emits.
type job struct {
	out  Job
	cfg  *config
	rows []*rowPlan
	// points run in this order; reused points are left out.
	points []groupPoint
	reused []groupPoint
}

// jobs lists the jobs of the sweep: one per row (the reference's way, single-node rows
// having one point each), or, grouped, one per launch group of each configuration. Rows
// that stay on their own when grouped: multi-node rows (one deployment already serves their
// whole list), rows with an accuracy eval (it runs after the row's point, at that point's
// concurrency, under that point's names) and rows that could not be planned.
func jobs(cs []*config, grouped bool, reused map[*pointPlan]*candidate) []*job {
	var out []*job
	add := func(j *job) {
		for _, gp := range j.points {
			if reused[gp.pt] != nil {
				j.reused = append(j.reused, gp)
			}
		}
		if len(j.reused) > 0 {
			kept := j.points[:0:0]
			for _, gp := range j.points {
				if reused[gp.pt] == nil {
					kept = append(kept, gp)
				}
			}
			j.points = kept
		}
		j.out.ID = len(out) + 1
		j.out.Config = j.cfg.id
		r0 := j.rows[0]
		j.out.Runner, j.out.GPUs = r0.in.Row.Runner, r0.gpus
		for _, r := range j.rows {
			if len(j.out.Rows) == 0 || j.out.Rows[len(j.out.Rows)-1] != r.n {
				j.out.Rows = append(j.out.Rows, r.n)
			}
		}
		for _, gp := range j.points {
			j.out.Concs = append(j.out.Concs, gp.pt.conc)
		}
		for _, gp := range j.reused {
			j.out.Reused = append(j.out.Reused, gp.pt.conc)
		}
		j.out.Launches = j.launches()
		if r0.err != nil {
			j.out.Concs, j.out.Launches = r0.concs(), 1
		}
		j.out.Skipped = r0.err == nil && len(j.points) == 0
		out = append(out, j)
	}
	for _, c := range cs {
		if !grouped {
			for _, r := range c.rows {
				add(rowJob(c, r))
			}
			continue
		}
		for _, r := range c.rows {
			if alone(r) {
				add(rowJob(c, r))
			}
		}
		for _, g := range c.groups {
			var j *job
			seen := map[int]bool{}
			for _, gp := range g.points {
				if alone(gp.row) {
					continue
				}
				if j == nil || seen[gp.pt.conc] {
					// A concurrency listed twice gets a job of its own: one run would
					// write both points under one name.
					if j != nil {
						add(j)
					}
					j, seen = &job{cfg: c}, map[int]bool{}
				}
				seen[gp.pt.conc] = true
				j.points = append(j.points, gp)
				j.rows = append(j.rows, gp.row)
			}
			if j != nil {
				add(j)
			}
		}
	}
	sort.SliceStable(out, func(a, b int) bool { return out[a].out.Rows[0] < out[b].out.Rows[0] })
	for i, j := range out {
		j.out.ID = i + 1
	}
	return out
}

// alone reports whether a row keeps a job of its own when jobs are grouped.
func alone(r *rowPlan) bool {
	return r.err != nil || r.in.Row.Multinode() || r.in.Row.RunEval
}

// rowJob is the job of one row as the generator wrote it.
func rowJob(c *config, r *rowPlan) *job {
	j := &job{cfg: c, rows: []*rowPlan{r}}
	for i := range r.points {
		j.points = append(j.points, groupPoint{r, &r.points[i]})
	}
	return j
}

// launches counts the engines `agent run` starts for the job: one, and another wherever the
// rendered launch differs from the previous point's.
func (j *job) launches() int {
	n := 0
	for i, gp := range j.points {
		if i == 0 || gp.pt.signature() != j.points[i-1].pt.signature() {
			n++
		}
	}
	return n
}

// emit is the matrix row of the job: the first row's fields in their order, with conc the
// concurrencies that run (a number for one point of a single-node row, as the generator
// writes it, else a list).
func (j *job) emit() Object {
	r0 := j.rows[0]
	if r0.err != nil {
		return r0.in.Obj
	}
	var conc any = j.out.Concs
	if len(j.out.Concs) == 1 && !r0.in.Row.Multinode() {
		conc = j.out.Concs[0]
	}
	b, _ := json.Marshal(conc)
	return r0.in.Obj.With("conc", b)
}

// Runnable is a job of the emitted matrix, ready to run.
type Runnable struct {
	Job Job
	// Obj is the matrix row as emitted; Row is how the agent reads it.
	Obj Object
	Row rowrun.Row
	// Label names the configuration; Sources says where the estimate comes from.
	Label, Sources string
}

func (j *job) runnable(cfgs []Config) Runnable {
	r := Runnable{Job: j.out, Obj: j.emit(), Sources: sourcesOf(j.out.Estimate)}
	b, _ := r.Obj.MarshalJSON()
	r.Row, _ = rowrun.ParseRow(b) // the row parsed before; only conc changed
	if j.out.Config-1 < len(cfgs) {
		r.Label = cfgs[j.out.Config-1].Label
	}
	return r
}

// cost sums one way of running the sweep.
func cost(js []*job) Cost {
	var c Cost
	for _, j := range js {
		if j.out.Skipped {
			continue
		}
		c.Jobs++
		c.Launches += j.out.Launches
		c.GPUHours += float64(j.out.GPUs) * j.out.Estimate.Seconds / 3600
		c.Makespan = max(c.Makespan, j.out.Start+j.out.Estimate.Seconds)
	}
	c.GPUHours = round(c.GPUHours, 2)
	c.Makespan = round(c.Makespan, 1)
	return c
}
