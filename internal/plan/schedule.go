package plan

import "sort"

// node is one runner's queue in the schedule.
type node struct {
	name string
	free float64
	jobs []int
}

// schedule places the jobs in matrix order, each on the node of its runner type that is free
// first, as runners pick up queued jobs. A node listed under several runner types is one
// queue. Jobs without nodes stay unplaced; skipped jobs take no time.
func schedule(js []*job) map[string]*node {
	nodes := map[string]*node{}
	for _, j := range js {
		if j.out.Skipped {
			continue
		}
		var best *node
		for _, name := range j.rows[0].nodes {
			n := nodes[name]
			if n == nil {
				n = &node{name: name}
				nodes[name] = n
			}
			if best == nil || n.free < best.free {
				best = n
			}
		}
		if best == nil {
			continue
		}
		j.out.Node, j.out.Start = best.name, round(best.free, 1)
		best.free += j.out.Estimate.Seconds
		best.jobs = append(best.jobs, j.out.ID)
	}
	return nodes
}

// perType sums the jobs of each runner type, in order of first appearance, with the node
// whose chain ends last.
func perType(js []*job, nodes map[string]*node) []RunnerType {
	var out []RunnerType
	idx := map[string]int{}
	for _, j := range js {
		t := j.out.Runner
		i, ok := idx[t]
		if !ok {
			i = len(out)
			idx[t] = i
			out = append(out, RunnerType{Type: t, Nodes: append([]string(nil), j.rows[0].nodes...)})
		}
		rt := &out[i]
		if j.out.Skipped {
			continue
		}
		rt.Jobs++
		rt.Launches += j.out.Launches
		rt.Points += len(j.out.Concs)
		rt.GPUHours += float64(j.out.GPUs) * j.out.Estimate.Seconds / 3600
		if j.out.Node == "" {
			continue
		}
		rt.Makespan = max(rt.Makespan, j.out.Start+j.out.Estimate.Seconds)
		if n := nodes[j.out.Node]; rt.Longest == nil || n.free > rt.Longest.Seconds {
			rt.Longest = &Chain{Node: n.name, Seconds: round(n.free, 1), Jobs: n.jobs}
		}
	}
	for i := range out {
		out[i].GPUHours, out[i].Makespan = round(out[i].GPUHours, 2), round(out[i].Makespan, 1)
	}
	sort.SliceStable(out, func(a, b int) bool { return out[a].Makespan > out[b].Makespan })
	return out
}
