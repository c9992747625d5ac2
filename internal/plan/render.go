package plan

import (
	"bytes"
	"encoding/json"
	"fmt"
	"io"
	"sort"
	"strings"
)

// DefaultMaxJobs is GitHub's limit of jobs per matrix, the shard size when the input had
// no shards of its own to follow.
const DefaultMaxJobs = 256

// Matrix is the matrix the sweep runs: the jobs that are not reused, in the plan's mode.
// It has the input's shape: an array stays an array; shards and the changelog's buckets
// become shards of at most maxJobs rows (0: the input's largest shard, else 256).
func (p *Plan) Matrix(maxJobs int) ([]byte, error) {
	rows := make([]json.RawMessage, 0, len(p.runnable))
	for _, r := range p.runnable {
		b, err := r.Obj.MarshalJSON()
		if err != nil {
			return nil, err
		}
		rows = append(rows, b)
	}
	if p.shape == ShapeArray {
		return json.Marshal(rows)
	}
	if maxJobs <= 0 {
		maxJobs = p.maxShard
	}
	if maxJobs <= 0 {
		maxJobs = DefaultMaxJobs
	}
	shards, index := [][]json.RawMessage{}, []int{}
	for len(rows) > 0 {
		n := min(maxJobs, len(rows))
		index, shards = append(index, len(shards)), append(shards, rows[:n])
		rows = rows[n:]
	}
	return json.Marshal(struct {
		Count  int                 `json:"shard_count"`
		Index  []int               `json:"shard_index"`
		Shards [][]json.RawMessage `json:"shards"`
	}{len(shards), index, shards})
}

// Runnable lists the jobs of the emitted matrix in order.
func (p *Plan) Runnable() []Runnable { return p.runnable }

// JobsToRun is how many jobs the emitted matrix has.
func (p *Plan) JobsToRun() int { return len(p.runnable) }

// WriteJSON writes the plan for tools: one line per top-level field, and per element of a
// top-level list (a job, a configuration), so a diff of two plans reads line by line.
func (p *Plan) WriteJSON(w io.Writer) error {
	var buf bytes.Buffer
	enc := json.NewEncoder(&buf)
	enc.SetEscapeHTML(false)
	if err := enc.Encode(p); err != nil {
		return err
	}
	top, err := decodeObject(buf.Bytes())
	if err != nil {
		return err
	}
	var b bytes.Buffer
	b.WriteString("{\n")
	for i, f := range top {
		k, _ := json.Marshal(f.Key)
		fmt.Fprintf(&b, "  %s: ", k)
		var elems []json.RawMessage
		if len(f.Value) > 0 && f.Value[0] == '[' && json.Unmarshal(f.Value, &elems) == nil && len(elems) > 0 {
			b.WriteString("[\n")
			for j, e := range elems {
				b.WriteString("    ")
				b.Write(e)
				if j < len(elems)-1 {
					b.WriteByte(',')
				}
				b.WriteByte('\n')
			}
			b.WriteString("  ]")
		} else {
			b.Write(f.Value)
		}
		if i < len(top)-1 {
			b.WriteByte(',')
		}
		b.WriteByte('\n')
	}
	b.WriteString("}\n")
	_, err = w.Write(b.Bytes())
	return err
}

// mdRows bounds the job table of the markdown: the step summary is for people, the JSON has
// every job.
const mdRows = 15

// WriteMarkdown writes the plan for the step summary.
func (p *Plan) WriteMarkdown(w io.Writer) error {
	var b strings.Builder
	t := p.Totals
	b.WriteString("## Sweep plan\n\n")
	run := t.Reference
	if p.Mode == "grouped" {
		run = t.Grouped
	}
	fmt.Fprintf(&b, "%d rows, %d points in %d configurations. This sweep runs **%d jobs** (%s matrix), "+
		"**%d engine launches**, **%s GPU-hours**, done in **%s** on the listed nodes.\n\n",
		t.Rows, t.Points, t.Configurations, run.Jobs, p.Mode, run.Launches, num(run.GPUHours), dur(run.Makespan))
	fmt.Fprintf(&b, "| | jobs | launches | GPU-hours | makespan |\n|---|---:|---:|---:|---:|\n")
	fmt.Fprintf(&b, "| one launch per point (reference matrix) | %d | %d | %s | %s |\n", t.Reference.Jobs, t.Reference.Launches, num(t.Reference.GPUHours), dur(t.Reference.Makespan))
	fmt.Fprintf(&b, "| one launch per launch group (grouped matrix) | %d | %d | %s | %s |\n\n", t.Grouped.Jobs, t.Grouped.Launches, num(t.Grouped.GPUHours), dur(t.Grouped.Makespan))
	fmt.Fprintf(&b, "Launches for the whole sweep: %d as the reference starts them (one per point, one per multi-node row), %d grouped by rendered launch (%.2fx fewer).", t.ReferenceLaunches, t.GroupedLaunches, t.LaunchRatio)
	if t.ReusedPoints > 0 {
		fmt.Fprintf(&b, " %d points are reused from an earlier sweep (below) and do not run.", t.ReusedPoints)
	}
	b.WriteString("\n\n")

	b.WriteString("### Per runner type\n\n| runner type | nodes | jobs | launches | points | GPU-hours | makespan | longest chain |\n|---|---:|---:|---:|---:|---:|---:|---|\n")
	for _, rt := range p.RunnerTypes {
		chain := "no nodes listed"
		if c := rt.Longest; c != nil {
			chain = fmt.Sprintf("%s: %d jobs, %s", c.Node, len(c.Jobs), dur(c.Seconds))
		}
		fmt.Fprintf(&b, "| %s | %d | %d | %d | %d | %s | %s | %s |\n", rt.Type, len(rt.Nodes), rt.Jobs, rt.Launches, rt.Points, num(rt.GPUHours), dur(rt.Makespan), chain)
	}
	b.WriteString("\n")

	if len(p.Relaunches) > 0 {
		b.WriteString("### Settings that force a relaunch within a configuration\n\n| setting | relaunches | e.g. |\n|---|---:|---|\n")
		for i, r := range p.Relaunches {
			if i == mdRows {
				fmt.Fprintf(&b, "| ... %d more in the JSON plan | | |\n", len(p.Relaunches)-mdRows)
				break
			}
			fmt.Fprintf(&b, "| `%s` | %d | %s |\n", cell(r.Settings), r.Count, cell(clip(r.Example, 160)))
		}
		b.WriteString("\n")
	}

	b.WriteString("### Longest jobs\n\n| job | configuration | conc | launches | estimate | from |\n|---:|---|---|---:|---:|---|\n")
	js := append([]Job(nil), p.Jobs...)
	sort.SliceStable(js, func(a, c int) bool { return js[a].Estimate.Seconds > js[c].Estimate.Seconds })
	for i, j := range js {
		if i == mdRows || j.Skipped {
			break
		}
		label := ""
		if j.Config-1 < len(p.Configs) {
			label = p.Configs[j.Config-1].Label
		}
		fmt.Fprintf(&b, "| %d | %s | %s | %d | %s | %s |\n", j.ID, cell(label), concList(j.Concs), j.Launches, dur(j.Estimate.Seconds), sourcesOf(j.Estimate))
	}
	b.WriteString("\n")

	s := p.Sources
	b.WriteString("### Where the estimates come from\n\n")
	if s.History != "" {
		fmt.Fprintf(&b, "History: %s (%d points). ", s.History, s.HistoryPoints)
	} else {
		b.WriteString("No history given (`--history`). ")
	}
	fmt.Fprintf(&b, "Point loads: %s. Engine start-ups: %s.\n\n", countList(s.Points), countList(s.Startups))
	m := s.Model
	fmt.Fprintf(&b, "The model: a point sends its prompts and warm-ups, each with isl input and osl output tokens; output flows at "+
		"conc x %g tokens/s up to %g tokens/s per GPU, input at %g tokens/s per GPU. An engine starts in %s (multi-node %s) and stops in %s; "+
		"an eval takes %s; a job spends %s outside the agent.\n\n",
		m.UserRate, m.TokenRate, m.PrefillRate, dur(m.StartupS), dur(m.StartupMultinodeS), dur(m.StopS), dur(m.EvalS), dur(m.OverheadS))

	if r := p.Reuse; r != nil {
		b.WriteString("### Reused results\n\n")
		fmt.Fprintf(&b, "%d usable results in %s", r.Results, r.Dir)
		if r.Source != "" {
			fmt.Fprintf(&b, " (from %s)", r.Source)
		}
		fmt.Fprintf(&b, ": %d points reused, %d jobs skipped.\n", r.Points, r.SkippedJobs)
		for _, why := range sortedCounts(r.Rejected) {
			fmt.Fprintf(&b, "- not reused, %s: %d\n", why, r.Rejected[why])
		}
		b.WriteString("\n")
	}
	if len(p.Problems) > 0 {
		b.WriteString("### Problems\n\n")
		for i, pr := range p.Problems {
			if i == 3*mdRows {
				fmt.Fprintf(&b, "- ... %d more in the JSON plan\n", len(p.Problems)-i)
				break
			}
			fmt.Fprintf(&b, "- %s\n", pr)
		}
		b.WriteString("\n")
	}
	_, err := io.WriteString(w, b.String())
	return err
}

// sourcesOf summarises where a job's figures come from.
func sourcesOf(e Estimate) string {
	m := map[string]int{}
	for _, p := range e.Points {
		m[kind(p.Source)]++
	}
	for _, l := range e.Launches {
		m[kind(l.Startup.Source)]++
	}
	return strings.Join(sortedCounts(m), ", ")
}

func countList(m map[string]int) string {
	if len(m) == 0 {
		return "none"
	}
	var parts []string
	for _, k := range sortedCounts(m) {
		parts = append(parts, fmt.Sprintf("%d from %s", m[k], k))
	}
	return strings.Join(parts, ", ")
}

// clip shortens s to n bytes and an ellipsis.
func clip(s string, n int) string {
	if len(s) <= n {
		return s
	}
	return s[:n] + "..."
}

func concList(cs []int) string {
	s := make([]string, len(cs))
	for i, c := range cs {
		s[i] = fmt.Sprint(c)
	}
	return strings.Join(s, " ")
}

// cell keeps a table cell on one line and its pipes literal.
func cell(s string) string {
	return strings.NewReplacer("|", `\|`, "\n", " ").Replace(s)
}

func num(x float64) string {
	if x >= 100 {
		return fmt.Sprintf("%.0f", x)
	}
	return fmt.Sprintf("%.1f", x)
}

// dur writes seconds as 1h02m, 12m30s or 45s.
func dur(s float64) string {
	n := int64(s + 0.5)
	switch {
	case n >= 3600:
		return fmt.Sprintf("%dh%02dm", n/3600, n%3600/60)
	case n >= 60:
		return fmt.Sprintf("%dm%02ds", n/60, n%60)
	}
	return fmt.Sprintf("%ds", n)
}
