package plan

import (
	"encoding/json"
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/inferbench/inferbench/internal/inventory"
	"github.com/inferbench/inferbench/internal/recipe"
	"github.com/inferbench/inferbench/internal/result"
	"github.com/inferbench/inferbench/internal/rowrun"
	_ "github.com/inferbench/inferbench/internal/testkit" // defines -update, so `go test ./... -update` runs here too
)

// The recipe relaunches at 16 concurrent requests, as SGLang's scheduler-recv-interval does.
const testRecipes = `recipes:
  - name: sim-conc
    match: {framework: sim}
    command: [engine]
    args:
      - --port={{.Port}}
      - --recv={{if ge .Conc 16}}30{{else}}10{{end}}
    ready-timeout: 10s
  - name: sim-mn
    match: {framework: sim-disagg}
    multinode: true
    command: [launch]
    args: ["--conc={{.ConcList}}"]
`

// Two families serve runner type ci; they differ in the engine environment they add.
const testInventory = `families:
  ci-a: {gpu: cpu, vendor: none, backend: local, port: 0, env: {FAMILY_SETTING: "1"}}
  ci-b: {gpu: cpu, vendor: none, backend: local, port: 0}
`

type fakeNodes map[string][]string

func (f fakeNodes) Nodes(t string) ([]string, bool) { n, ok := f[t]; return n, ok }

func testOptions(t *testing.T) Options {
	t.Helper()
	set, err := recipe.Parse("r.yaml", []byte(testRecipes))
	require.NoError(t, err)
	inv, err := inventory.Parse("i.yaml", []byte(testInventory))
	require.NoError(t, err)
	return Options{Recipes: set, Inventory: inv, AgentVersion: "v-test", AgentBuild: "src:test", NumWarmups: -1,
		Runners: fakeNodes{"ci": {"ci-a_0", "ci-a_1", "ci-b_0"}, "ci-mn": {"ci-a_9"}},
		Model: Model{Overhead: 60 * time.Second, Startup: 100 * time.Second, StartupMultinode: 200 * time.Second, Stop: 10 * time.Second,
			Eval: 50 * time.Second, TokenRate: 100, UserRate: 10, PrefillRate: 1000}}
}

// row is a generator row of framework sim on runner type ci; set overrides fields.
func row(conc any, set ...any) string {
	r := map[string]any{"image": "img:1", "model": "org/m", "model-prefix": "m", "precision": "fp8", "framework": "sim",
		"runner": "ci", "isl": 100, "osl": 10, "tp": 1, "conc": conc, "max-model-len": 310, "ep": 1, "dp-attn": false,
		"spec-decoding": "none", "exp-name": "m_100_10", "disagg": false, "run-eval": false}
	for i := 0; i+1 < len(set); i += 2 {
		r[set[i].(string)] = set[i+1]
	}
	b, _ := json.Marshal(r)
	return string(b)
}

const multinodeRow = `{"image": "img:1", "model": "org/m", "model-prefix": "m", "precision": "fp8", "framework": "sim-disagg",
 "runner": "ci-mn", "isl": 100, "osl": 10, "spec-decoding": "none",
 "prefill": {"num-worker": 1, "tp": 1, "ep": 1, "dp-attn": false, "additional-settings": []},
 "decode": {"num-worker": 1, "tp": 2, "ep": 1, "dp-attn": false, "additional-settings": []},
 "conc": [1, 2], "max-model-len": 310, "exp-name": "m_100_10", "disagg": true, "run-eval": false}`

// sweepRows is a configuration at four concurrencies, a run-eval row, a multi-node row and a
// row no recipe serves.
func sweepRows() []string {
	return []string{row(4), row(8), row(16), row(32), row(8, "run-eval", true), multinodeRow, row(4, "framework", "nope")}
}

func matrixOf(t *testing.T, rows []string) *Matrix {
	t.Helper()
	m, err := ReadMatrix("m.json", []byte("["+strings.Join(rows, ",")+"]"))
	require.NoError(t, err)
	return m
}

func makePlan(t *testing.T, rows []string, change func(*Options)) *Plan {
	t.Helper()
	o := testOptions(t)
	if change != nil {
		change(&o)
	}
	p, err := Make(matrixOf(t, rows), o)
	require.NoError(t, err)
	return p
}

func TestReadMatrixShapes(t *testing.T) {
	t.Parallel()
	rows := []string{row(4), row(8)}
	for _, tc := range []struct {
		name  string
		input string
		shape Shape
	}{
		{"array, as full-sweep prints it", "[" + strings.Join(rows, ",") + "]", ShapeArray},
		{"--max-jobs shards", `{"shard_count": 2, "shard_index": [0, 1], "shards": [[` + rows[0] + `], [` + rows[1] + `]]}`, ShapeShards},
		{"changelog output", `{"single_node": {"1k1k": [` + rows[0] + `], "8k1k": [` + rows[1] + `]}, "multi_node": {}, "changelog_metadata": {}}`, ShapeChangelog},
		{"2026-08 changelog output, eval rows in their own lists", `{"single_node": {"1k1k": [` + rows[0] + `]}, "multi_node": {}, "evals": [` + rows[1] + `],
			"agentic_evals": [], "multinode_evals": [], "multinode_agentic_evals": [], "changelog_metadata": {}}`, ShapeChangelog},
	} {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			m, err := ReadMatrix("m.json", []byte(tc.input))
			require.NoError(t, err)
			assert.Equal(t, tc.shape, m.Shape)
			require.Len(t, m.Rows, 2)
			assert.Equal(t, rowrun.Concs{4}, m.Rows[0].Row.Conc)
			assert.Equal(t, rowrun.Concs{8}, m.Rows[1].Row.Conc)
			for _, in := range m.Rows {
				assert.NoError(t, in.Err)
			}
		})
	}
}

func TestReadMatrixErrors(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct{ name, input, want string }{
		{"empty", "", "m.json: empty"},
		{"truncated", "[\n" + row(4) + ",\n{\"image\": ", "m.json:3:"},
		{"not the generator's", `{"rows": []}`, "without shards, single_node or multi_node"},
		{"a row that is no object", `[4]`, "row 1 is not a JSON object"},
		{"text", `hello`, "not JSON"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			_, err := ReadMatrix("m.json", []byte(tc.input))
			require.Error(t, err)
			assert.Contains(t, err.Error(), tc.want)
		})
	}
	m, err := ReadMatrix("m.json", []byte(`[{"image": "x", "bogus": 1}]`))
	require.NoError(t, err, "a row the agent cannot read is planned as a problem, not refused")
	assert.ErrorContains(t, m.Rows[0].Err, "bogus")
}

func TestLaunchGroupsNameTheSettingThatForcesTheRelaunch(t *testing.T) {
	t.Parallel()
	p := makePlan(t, sweepRows(), nil)
	c := p.Configs[0]
	assert.Equal(t, []int{1, 2, 3, 4}, c.Rows)
	require.Len(t, c.Launches, 2)
	assert.Equal(t, []int{4, 8}, c.Launches[0].Concs)
	assert.Equal(t, []int{16, 32}, c.Launches[1].Concs)
	assert.Empty(t, c.Launches[0].Settings)
	assert.Equal(t, []string{"--recv"}, c.Launches[1].Settings)
	assert.Equal(t, "args ---recv=10 +--recv=30", c.Launches[1].Change)
	assert.Len(t, c.Launches[0].Fingerprints, 2, "one fingerprint per inventory family of the nodes")
	assert.NotEqual(t, c.Launches[0].Fingerprints["ci-a"], c.Launches[1].Fingerprints["ci-a"])
	require.Len(t, p.Relaunches, 1)
	assert.Equal(t, Relaunch{Settings: "--recv", Count: 1, Example: "m_100_10 fp8 sim ci tp1 ep1, conc 8 to 16: args ---recv=10 +--recv=30"}, p.Relaunches[0])
}

func TestTotalsCompareTheTwoWays(t *testing.T) {
	t.Parallel()
	p := makePlan(t, sweepRows(), nil)
	tot := p.Totals
	assert.Equal(t, 7, tot.Rows)
	assert.Equal(t, 8, tot.Points, "the multi-node row has two")
	assert.Equal(t, 7, tot.ReferenceLaunches, "one per single-node point, one deployment for the multi-node row")
	// [4 8] [16 32], the eval row, the multi-node deployment, the unplanned row.
	assert.Equal(t, 5, tot.GroupedLaunches)
	assert.Equal(t, 1.4, tot.LaunchRatio)
	assert.Equal(t, 7, tot.Reference.Jobs)
	assert.Equal(t, 5, tot.Grouped.Jobs)
	assert.Equal(t, 1, tot.Unplanned)
	require.Len(t, p.Problems, 1)
	assert.Contains(t, p.Problems[0], "m.json row 7")
}

func TestEmittedMatrix(t *testing.T) {
	t.Parallel()
	rows := sweepRows()
	ref := makePlan(t, rows, nil)
	b, err := ref.Matrix(0)
	require.NoError(t, err)
	var want, got []map[string]any
	require.NoError(t, json.Unmarshal([]byte("["+strings.Join(rows, ",")+"]"), &want))
	require.NoError(t, json.Unmarshal(b, &got))
	assert.Equal(t, want, got, "the reference mode emits the generator's rows")

	grouped := makePlan(t, rows, func(o *Options) { o.Grouped = true })
	b, err = grouped.Matrix(0)
	require.NoError(t, err)
	require.NoError(t, json.Unmarshal(b, &got))
	var concs []any
	for _, r := range got {
		concs = append(concs, r["conc"])
	}
	// The eval row and the multi-node row keep their own jobs; conc stays a number for one
	// single-node point, as the generator writes it.
	assert.Equal(t, []any{[]any{4.0, 8.0}, []any{16.0, 32.0}, 8.0, []any{1.0, 2.0}, 4.0}, concs)
	assert.Equal(t, true, got[2]["run-eval"])
	assert.Equal(t, "nope", got[4]["framework"], "an unplanned row runs as given")
	var first []json.RawMessage
	require.NoError(t, json.Unmarshal(b, &first))
	in, err := decodeObject([]byte(multinodeRow))
	require.NoError(t, err)
	out, err := decodeObject(first[3])
	require.NoError(t, err)
	var inKeys, outKeys []string
	for i := range in {
		inKeys, outKeys = append(inKeys, in[i].Key), append(outKeys, out[i].Key)
	}
	assert.Equal(t, inKeys, outKeys, "fields keep the generator's order")

	sharded, err := ReadMatrix("m.json", []byte(`{"shard_count": 1, "shard_index": [0], "shards": [[`+strings.Join(rows, ",")+`]]}`))
	require.NoError(t, err)
	o := testOptions(t)
	o.Grouped = true
	p, err := Make(sharded, o)
	require.NoError(t, err)
	b, err = p.Matrix(2)
	require.NoError(t, err)
	var sh struct {
		Count  int                `json:"shard_count"`
		Index  []int              `json:"shard_index"`
		Shards [][]map[string]any `json:"shards"`
	}
	require.NoError(t, json.Unmarshal(b, &sh))
	assert.Equal(t, 3, sh.Count)
	assert.Equal(t, []int{0, 1, 2}, sh.Index)
	assert.Len(t, sh.Shards[2], 1)
}

func TestModelEstimateAndSchedule(t *testing.T) {
	t.Parallel()
	p := makePlan(t, []string{row(4), row(8), row(16)}, nil)
	// The model: (prompts+warm-ups) x osl / min(conc x 10, 100 x gpus) + (...) x isl / (1000 x gpus).
	load := func(conc int) float64 {
		n := float64(12 * conc)
		return round(n*10/min(float64(conc)*10, 100)+n*100/1000, 1)
	}
	require.Len(t, p.Jobs, 3)
	for i, conc := range []int{4, 8, 16} {
		e := p.Jobs[i].Estimate
		require.Len(t, e.Points, 1)
		assert.Equal(t, PointEstimate{conc, Figure{load(conc), srcModel}}, e.Points[0])
		assert.Equal(t, []LaunchEstimate{{Figure{100, srcModel}, Figure{10, srcModel}}}, e.Launches)
		assert.Equal(t, round(60+100+10+load(conc), 1), e.Seconds)
	}
	// Three jobs on three nodes of runner type ci: one each, in matrix order.
	rt := p.RunnerTypes[0]
	assert.Equal(t, "ci", rt.Type)
	assert.Equal(t, 3, rt.Jobs)
	assert.Equal(t, []string{"ci-a_0", "ci-a_1", "ci-b_0"}, []string{p.Jobs[0].Node, p.Jobs[1].Node, p.Jobs[2].Node})
	assert.Equal(t, p.Jobs[2].Estimate.Seconds, rt.Makespan, "conc 16 takes longest")
	require.NotNil(t, rt.Longest)
	assert.Equal(t, Chain{Node: "ci-b_0", Seconds: p.Jobs[2].Estimate.Seconds, Jobs: []int{3}}, *rt.Longest)
	gpuHours := 0.0
	for _, j := range p.Jobs {
		gpuHours += j.Estimate.Seconds / 3600
	}
	assert.InDelta(t, gpuHours, rt.GPUHours, 0.01)

	// One node: the jobs queue behind each other.
	one := makePlan(t, []string{row(4), row(8), row(16)}, func(o *Options) { o.Runners = fakeNodes{"ci": {"ci-a_0"}} })
	assert.Equal(t, []float64{0, one.Jobs[0].Estimate.Seconds, one.Jobs[0].Estimate.Seconds + one.Jobs[1].Estimate.Seconds},
		[]float64{one.Jobs[0].Start, one.Jobs[1].Start, one.Jobs[2].Start})
}

func TestRowsWithoutNodesAreProblems(t *testing.T) {
	t.Parallel()
	p := makePlan(t, []string{row(4, "runner", "unknown")}, nil)
	require.Len(t, p.Problems, 1)
	assert.Contains(t, p.Problems[0], `runner type "unknown" has no nodes`)
	// A runner-model-sweep row names a node itself.
	p = makePlan(t, []string{row(4, "runner", "ci-b_3")}, nil)
	assert.Empty(t, p.Problems)
	assert.Equal(t, "ci-b_3", p.Jobs[0].Node)
	// --runner-name puts every row on one node.
	p = makePlan(t, []string{row(4, "runner", "unknown")}, func(o *Options) { o.RunnerName = "ci-a_0" })
	assert.Empty(t, p.Problems)
}

func TestMarkdownStatesTheSources(t *testing.T) {
	t.Parallel()
	p := makePlan(t, sweepRows(), func(o *Options) { o.Grouped = true })
	var b strings.Builder
	require.NoError(t, p.WriteMarkdown(&b))
	md := b.String()
	for _, want := range []string{
		"8 points in 4 configurations", "5 jobs** (grouped matrix)",
		"| one launch per point (reference matrix) | 7 | 7 |",
		"7 as the reference starts them (one per point, one per multi-node row), 5 grouped by rendered launch (1.40x fewer)",
		"| `--recv` | 1 |", "| ci | 3 | 4 | 4 | 6 |",
		"Point loads: 8 from model", "up to 100 tokens/s per GPU",
		"### Problems", "m.json row 7",
	} {
		assert.Contains(t, md, want)
	}
	var js strings.Builder
	require.NoError(t, p.WriteJSON(&js))
	var back map[string]any
	require.NoError(t, json.Unmarshal([]byte(js.String()), &back), "the JSON plan is valid JSON")
	assert.Equal(t, "grouped", back["mode"])
}

// fingerprint is the result fingerprint agent run records for conc of r on node.
func fingerprint(t *testing.T, o Options, rowJSON, node string, conc int) result.Fingerprint {
	t.Helper()
	r, err := rowrun.ParseRow([]byte(rowJSON))
	require.NoError(t, err)
	p, err := rowrun.FingerprintPlan(rowrun.Options{Row: r, RunnerName: node, RunnerType: r.Runner, Recipes: o.Recipes, Inventory: o.Inventory,
		AgentVersion: o.AgentVersion, AgentBuild: o.AgentBuild, NumPrompts: o.NumPrompts, NumWarmups: o.NumWarmups, RangeRatio: o.RangeRatio})
	require.NoError(t, err)
	for i := range p.Launches {
		for _, pt := range p.Launches[i].Points {
			if pt.Conc == conc {
				return rowrun.PointFingerprint(p, &p.Launches[i], pt, o.Runner().AgentIdentity())
			}
		}
	}
	require.FailNow(t, "no such concurrency in the row", "conc %d in %s", conc, rowJSON)
	return result.Fingerprint{}
}

// Runner is the part of the options rowrun.Options shares, for tests.
func (o Options) Runner() rowrun.Options {
	return rowrun.Options{AgentVersion: o.AgentVersion, AgentBuild: o.AgentBuild}
}

func TestFingerprintsDifferBetweenFamilies(t *testing.T) {
	t.Parallel()
	o := testOptions(t)
	a, b := fingerprint(t, o, row(4), "ci-a_0", 4), fingerprint(t, o, row(4), "ci-b_0", 4)
	assert.NotEqual(t, a.Key, b.Key, "family ci-a adds FAMILY_SETTING=1 to the engine's environment")
	assert.Equal(t, a.Key, fingerprint(t, o, row(4), "ci-a_1", 4).Key, "nodes of one family are alike")
	assert.Equal(t, fmt.Sprint(a.Client), fmt.Sprint(b.Client))
}
