package plan

import (
	"encoding/json"
	"testing"
	"testing/fstest"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/inferbench/inferbench/internal/result"
)

// measured is the manifest agent run would have written for conc of rowJSON on node ci-a_0.
func measured(t *testing.T, o Options, rowJSON string, conc int, status result.Status, phases map[string]float64, reused bool) result.Manifest {
	t.Helper()
	fp := fingerprint(t, o, rowJSON, "ci-a_0", conc)
	m := result.Manifest{SchemaVersion: result.ManifestSchema, ResultFilename: stemOf(conc, "ci-a_0"), Status: status, HW: "ci", Runner: "ci-a_0",
		Model: "org/m", ModelPrefix: "m", Framework: "sim", Precision: "fp8", SpecDecoding: "none", ISL: 100, OSL: 10, TP: 1, EP: 1,
		Conc: conc, ServerReused: reused, Fingerprint: &fp, Started: time.Date(2026, 1, 2, 3, 4, conc, 0, time.UTC)}
	m.Finished = m.Started.Add(time.Minute)
	for _, name := range []string{"start", "ready", "load", "stop", "eval"} {
		if s, ok := phases[name]; ok {
			m.Phases = append(m.Phases, result.Phase{Name: name, Seconds: s, Status: "ok"})
		}
	}
	return m
}

func stemOf(conc int, node string) string {
	return result.SingleNodeStem("m_100_10", "fp8", "sim", 1, 1, false, false, "none", conc, node)
}

func jsonOf(t *testing.T, v any) []byte {
	t.Helper()
	b, err := json.MarshalIndent(v, "", "  ")
	require.NoError(t, err)
	return b
}

func TestHistoryEstimates(t *testing.T) {
	t.Parallel()
	o := testOptions(t)
	fsys := fstest.MapFS{
		"job01/" + result.ManifestFile(stemOf(4, "ci-a_0")): {Data: jsonOf(t, measured(t, o, row(4), 4, result.StatusSuccess,
			map[string]float64{"start": 2, "ready": 1, "load": 12, "stop": 0.5}, false))},
		"job01/" + result.ManifestFile(stemOf(8, "ci-a_0")): {Data: jsonOf(t, measured(t, o, row(8), 8, result.StatusSuccess,
			map[string]float64{"load": 20}, true))},
		"job02/manifest_broken.json": {Data: []byte("{")},
	}
	h, err := LoadHistory(fsys, "hist")
	require.NoError(t, err)
	assert.Equal(t, 2, h.Points())
	require.Len(t, h.Problems, 1)
	assert.Contains(t, h.Problems[0], "hist/job02/manifest_broken.json")

	p := makePlan(t, []string{row(4), row(8), row(16), row(4, "tp", 2)}, func(o *Options) { o.History = h })
	model := func(conc, gpus int) float64 {
		return Model.load(testOptions(t).Model, conc, 10*conc, 2*conc, 100, 10, gpus)
	}
	for _, tc := range []struct {
		job           int
		load, startup Figure
	}{
		{0, Figure{12, "history: same fingerprint (1 sample)"}, Figure{3, "history: same launch (1 sample)"}},
		{1, Figure{20, "history: same fingerprint (1 sample)"}, Figure{3, "history: same launch (1 sample)"}},
		// conc 16 renders another launch: the same configuration's nearest point, scaled.
		{2, Figure{round(20*model(16, 1)/model(8, 1), 1), "history: same configuration, conc 8 tp 1 scaled by the model"},
			Figure{3, "history: same engine, model and parallelism (1 sample)"}},
		// tp 2 is another configuration: the nearest one (tp 1, conc 4), scaled.
		{3, Figure{round(12*model(4, 2)/model(4, 1), 1), "history: nearest configuration, conc 4 tp 1 scaled by the model"},
			Figure{3, "history: same engine and hardware (1 sample)"}},
	} {
		e := p.Jobs[tc.job].Estimate
		require.Len(t, e.Points, 1)
		assert.Equal(t, tc.load, e.Points[0].Figure, "job %d load", tc.job+1)
		assert.Equal(t, tc.startup, e.Launches[0].Startup, "job %d start-up", tc.job+1)
		assert.Equal(t, Figure{0.5, "history: same engine and hardware (1 sample)"}, e.Launches[0].Stop)
	}
	assert.Equal(t, map[string]int{"history: same fingerprint": 2, "history: same configuration": 1, "history: nearest configuration": 1}, p.Sources.Points)
	assert.Equal(t, "hist", p.Sources.History)
}

// An agg_bmk.json without manifests still gives load times: its benchmark duration, with
// the warm-ups added at the same pace.
func TestHistoryFromAggRecords(t *testing.T) {
	t.Parallel()
	o := testOptions(t)
	fp := fingerprint(t, o, row(4), "ci-a_0", 4)
	agg := result.Agg{HW: "ci", Conc: 4, Model: "org/m", ModelPrefix: "m", Framework: "sim", Precision: "fp8", SpecDecoding: "none",
		ISL: 100, OSL: 10, TP: 1, EP: 1, DPAttention: "false",
		Ext: &result.AggExt{SchemaVersion: result.AggSchema, ResultFilename: stemOf(4, "ci-a_0"), NumPrompts: 40, Duration: 10, ResultFingerprint: fp.Key}}
	b, err := json.Marshal([]result.Agg{agg})
	require.NoError(t, err)
	h, err := LoadHistory(fstest.MapFS{"agg_bmk.json": {Data: b}}, "hist")
	require.NoError(t, err)
	p := makePlan(t, []string{row(4)}, func(o *Options) { o.History = h })
	assert.Equal(t, Figure{12, "history: same fingerprint (1 sample)"}, p.Jobs[0].Estimate.Points[0].Figure)
	assert.Equal(t, srcModel, p.Jobs[0].Estimate.Launches[0].Startup.Source, "agg records hold no start-up times")
}
