package workflowtest

import (
	"fmt"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/inferbench/inferbench/internal/result"
)

// TestNamesMatchTheAgent evaluates benchmark.yml's RESULT_STEM, job-name, timeout and
// runner-label expressions on every row the generator makes from our configs in both
// generations (configs/ and its 2026-02 copy under testdata), both kinds, and
// compares them with the agent's naming (internal/result), the reference's job names
// (docs/workflows.md#benchmark-job) and its templates' timeouts and labels
// (docs/workflows.md#timeouts). The
// artifact names, the result files and the success rate's SKU lookup all hang on these.
func TestNamesMatchTheAgent(t *testing.T) {
	t.Parallel()
	job := workflowNamed(t, "benchmark.yml").wf.Jobs["bench"]
	require.NotNil(t, job, "benchmark.yml: job bench with env RESULT_STEM")
	require.NotNil(t, job.Env, "benchmark.yml: job bench with env RESULT_STEM")
	require.NotNil(t, job.Env.Vars["result_stem"], "benchmark.yml: job bench with env RESULT_STEM")
	require.NotNil(t, job.Name, "benchmark.yml: job bench with env RESULT_STEM")
	require.NotNil(t, job.TimeoutMinutes, "benchmark.yml: job bench needs timeout-minutes by row kind (an expression)")
	require.NotNil(t, job.TimeoutMinutes.Expression, "benchmark.yml: job bench needs timeout-minutes by row kind (an expression)")
	require.NotNil(t, job.RunsOn, "benchmark.yml: job bench must run on [self-hosted, <the row's runner>]")
	require.Len(t, job.RunsOn.Labels, 2, "benchmark.yml: job bench must run on [self-hosted, <the row's runner>]")
	require.Equal(t, "self-hosted", job.RunsOn.Labels[0].Value, "benchmark.yml: job bench must run on [self-hosted, <the row's runner>]")
	stemExpr, nameExpr := job.Env.Vars["result_stem"].Value.Value, job.Name.Value
	timeoutExpr, labelExpr := job.TimeoutMinutes.Expression.Value, job.RunsOn.Labels[1].Value
	const node = "b200-nv_0"
	kinds, gens := map[bool]int{}, map[bool]int{}
	var rows []map[string]any
	for _, row := range ourRows(t) {
		rows = append(rows, row)
		if _, multi := row["prefill"]; !multi {
			// The row as a grouped matrix has it (agent plan --emit-matrix grouped).
			grouped := map[string]any{}
			for k, v := range row {
				grouped[k] = v
			}
			grouped["conc"] = []any{row["conc"], 2 * row["conc"].(float64)}
			rows = append(rows, grouped)
		}
	}
	for _, row := range rows {
		require.False(t, t.Failed(), "stopping at the first row that differs")
		_, v0208 := row["pp"]
		if p, ok := row["prefill"].(map[string]any); ok {
			_, v0208 = p["pp"]
		}
		gens[v0208]++
		ctx := map[string]any{"matrix": map[string]any{"config": row}}
		stem := toString(evalExpr(t, stemExpr, ctx)) + "_" + node
		name := toString(evalExpr(t, nameExpr, ctx))
		wantStem, wantName := expectedNames(row, node)
		assert.Equal(t, wantStem, stem, "RESULT_FILENAME")
		assert.Equal(t, wantName, name, "job name")
		assert.Contains(t, name, " "+str(row["runner"])+" ", "job name %q lacks the runner", name)
		_, multi := row["prefill"]
		_, list := row["conc"].([]any)
		kinds[multi]++
		wantTimeout := map[bool]float64{false: 180, true: 480}[multi || list]
		assert.Equal(t, wantTimeout, evalExpr(t, timeoutExpr, ctx), "%s: timeout-minutes", wantStem)
		got := evalExpr(t, labelExpr, ctx)
		assert.Equal(t, row["runner"], got, "%s: runner label = %v, want the row's runner", wantStem, got)
	}
	require.NotEqual(t, 0, kinds[false], "rows per kind (multi-node?)")
	require.NotEqual(t, 0, kinds[true], "rows per kind (multi-node?)")
	require.NotEqual(t, 0, gens[false], "rows per generation (2026-08?)")
	require.NotEqual(t, 0, gens[true], "rows per generation (2026-08?)")
}

// expectedNames is RESULT_FILENAME (by internal/result) and the job name (by the reference's
// format) of a row run on node.
func expectedNames(row map[string]any, node string) (stem, name string) {
	exp, prec, fw, runner := str(row["exp-name"]), str(row["precision"]), str(row["framework"]), str(row["runner"])
	disagg, spec := row["disagg"] == true, str(row["spec-decoding"])
	if p, ok := row["prefill"].(map[string]any); ok {
		d := row["decode"].(map[string]any)
		var concs []int
		var cs []string
		for _, c := range row["conc"].([]any) {
			concs = append(concs, num(c))
			cs = append(cs, fmt.Sprint(num(c)))
		}
		if _, v0208 := p["pp"]; v0208 {
			stem = result.MultiNodeStem0208(exp, prec, fw, workers(p), workers(d), disagg, spec, concs, node, "")
		} else {
			stem = result.MultiNodeStem(exp, prec, fw, workers(p), workers(d), disagg, spec, concs, node)
		}
		name = fmt.Sprintf("%s %s %s %s | P(tp%d/ep%d/dp%t/nw%d) D(tp%d/ep%d/dp%t/nw%d) | disagg-%t spec-%s conc-%s",
			exp, prec, runner, fw, num(p["tp"]), num(p["ep"]), p["dp-attn"] == true, num(p["num-worker"]),
			num(d["tp"]), num(d["ep"]), d["dp-attn"] == true, num(d["num-worker"]), disagg, spec, strings.Join(cs, "x"))
		return stem, name
	}
	dpa := row["dp-attn"] == true
	// A grouped row's conc list names the job and the stem joined by x; agent run swaps it for
	// each point's own conc in the files.
	conc := fmt.Sprint(num(row["conc"]))
	if list, ok := row["conc"].([]any); ok {
		var cs []string
		for _, c := range list {
			cs = append(cs, fmt.Sprint(num(c)))
		}
		conc = strings.Join(cs, "x")
	}
	if _, v0208 := row["pp"]; v0208 {
		stem = result.SingleNodeStem0208(exp, prec, fw, num(row["tp"]), num(row["pp"]), num(row["dcp-size"]), num(row["pcp-size"]),
			num(row["ep"]), dpa, disagg, spec, 0, node, "")
	} else {
		stem = result.SingleNodeStem(exp, prec, fw, num(row["tp"]), num(row["ep"]), dpa, disagg, spec, 0, node)
	}
	stem = strings.Replace(stem, "_conc0_", "_conc"+conc+"_", 1)
	name = fmt.Sprintf("%s %s %s %s | tp=%d ep=%d dpa=%t | disagg-%t spec-%s conc-%s",
		exp, prec, runner, fw, num(row["tp"]), num(row["ep"]), dpa, disagg, spec, conc)
	if row["run-eval"] == true {
		name += " | eval"
	}
	return stem, name
}

func workers(b map[string]any) result.Workers {
	return result.Workers{TP: num(b["tp"]), EP: num(b["ep"]), NumWorkers: num(b["num-worker"]), DPAttention: b["dp-attn"] == true,
		PP: num(b["pp"]), DCPSize: num(b["dcp-size"]), PCPSize: num(b["pcp-size"])}
}

func num(v any) int { f, _ := v.(float64); return int(f) }

func str(v any) string { s, _ := v.(string); return s }
