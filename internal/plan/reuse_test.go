package plan

import (
	"encoding/json"
	"os"
	"path/filepath"
	"testing"
	"testing/fstest"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/inferbench/inferbench/internal/result"
)

// earlier is an earlier sweep's downloaded artifacts: one bmk_<stem> directory per point.
type earlier fstest.MapFS

func (e earlier) add(t *testing.T, m result.Manifest, withAgg bool) {
	t.Helper()
	dir := result.BenchArtifact(m.ResultFilename) + "/"
	e[dir+result.ManifestFile(m.ResultFilename)] = &fstest.MapFile{Data: jsonOf(t, m)}
	if withAgg {
		agg := result.Agg{HW: m.HW, Conc: m.Conc, Model: m.Model, TP: 1, EP: 1, DPAttention: "false", TputPerGPU: 1,
			Ext: &result.AggExt{SchemaVersion: result.AggSchema, ResultFilename: m.ResultFilename}}
		if m.Fingerprint != nil {
			agg.Ext.ResultFingerprint = m.Fingerprint.Key
		}
		e[dir+result.AggFile(m.ResultFilename)] = &fstest.MapFile{Data: jsonOf(t, agg)}
	}
}

func (e earlier) reuse(t *testing.T) *Reuse {
	t.Helper()
	r, err := LoadReuse(fstest.MapFS(e), "prev", "run 7")
	require.NoError(t, err)
	return r
}

func TestReuseTakesOnlyValidResultsWithTheSameFingerprint(t *testing.T) {
	t.Parallel()
	o := testOptions(t)
	ok := func(conc int) result.Manifest {
		return measured(t, o, row(conc), conc, result.StatusSuccess, nil, false)
	}
	for _, tc := range []struct {
		name    string
		prepare func(earlier)
		digests map[string]string
		reused  bool
		why     string
	}{
		{"a successful result with the same fingerprint", func(e earlier) { e.add(t, ok(4), true) }, nil, true, ""},
		{"a failed point", func(e earlier) {
			m := ok(4)
			m.Status = result.StatusBenchFailed
			e.add(t, m, true)
		}, nil, false, whyStatus},
		{"a fingerprint edited by hand", func(e earlier) {
			m := ok(4)
			m.Fingerprint.RunnerType = "other"
			e.add(t, m, true)
		}, nil, false, whyBadKey},
		{"a result from before fingerprints", func(e earlier) {
			m := ok(4)
			m.Fingerprint = nil
			e.add(t, m, true)
		}, nil, false, whyNoFP},
		{"no agg record beside the manifest", func(e earlier) { e.add(t, ok(4), false) }, nil, false, whyNoAgg},
		{"another image digest than the image's current one", func(e earlier) {
			m := ok(4)
			m.Fingerprint.ImageDigest = "sha256:old"
			e.add(t, m, true)
		}, map[string]string{"img:1": "sha256:new"}, false, whyDigest},
		{"the image's current digest", func(e earlier) {
			m := ok(4)
			m.Fingerprint.ImageDigest = "sha256:new"
			e.add(t, m, true)
		}, map[string]string{"img:1": "sha256:new"}, true, ""},
		{"another concurrency's result", func(e earlier) { e.add(t, ok(8), true) }, nil, false, ""},
	} {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			e := earlier{}
			tc.prepare(e)
			p := makePlan(t, []string{row(4)}, func(o *Options) { o.Reuse, o.ImageDigests = e.reuse(t), tc.digests })
			require.NotNil(t, p.Reuse)
			if tc.reused {
				assert.Equal(t, 1, p.Totals.ReusedPoints)
				assert.True(t, p.Jobs[0].Skipped)
				assert.Equal(t, []int{4}, p.Jobs[0].Reused)
				assert.Equal(t, 0, p.JobsToRun())
				assert.Equal(t, 1, p.Reuse.SkippedJobs)
				return
			}
			assert.Equal(t, 0, p.Totals.ReusedPoints)
			assert.Equal(t, 1, p.JobsToRun())
			if tc.why != "" {
				assert.Equal(t, 1, p.Reuse.Rejected[tc.why], "rejected: %v", p.Reuse.Rejected)
			}
		})
	}
}

func TestReuseOfPartOfAGroupedJob(t *testing.T) {
	t.Parallel()
	o := testOptions(t)
	e := earlier{}
	e.add(t, measured(t, o, row(8), 8, result.StatusSuccess, nil, false), true)
	p := makePlan(t, []string{row(4), row(8)}, func(o *Options) { o.Reuse, o.Grouped = e.reuse(t), true })
	require.Len(t, p.Jobs, 1)
	assert.Equal(t, []int{4}, p.Jobs[0].Concs)
	assert.Equal(t, []int{8}, p.Jobs[0].Reused)
	b, err := p.Matrix(0)
	require.NoError(t, err)
	var rows []map[string]any
	require.NoError(t, json.Unmarshal(b, &rows))
	require.Len(t, rows, 1)
	assert.Equal(t, 4.0, rows[0]["conc"])
}

func TestEvalRowsNeedTheEval(t *testing.T) {
	t.Parallel()
	o := testOptions(t)
	evalRow := row(8, "run-eval", true)
	m := measured(t, o, evalRow, 8, result.StatusSuccess, nil, false)
	e := earlier{}
	e.add(t, m, true)
	p := makePlan(t, []string{evalRow}, func(o *Options) { o.Reuse = e.reuse(t) })
	assert.Equal(t, 0, p.Totals.ReusedPoints)
	assert.Equal(t, 1, p.Reuse.Rejected[whyNoEval])

	score := 0.9
	m.Eval = &result.EvalRow{Task: "gsm8k", Score: &score}
	e.add(t, m, true)
	evalDir := result.EvalArtifact("m_100_10", m.ResultFilename)
	e[evalDir+"/meta_env.json"] = &fstest.MapFile{Data: []byte(`{}`)}
	e[evalDir+"/results_1.json"] = &fstest.MapFile{Data: []byte(`{"results": {}}`)}
	p = makePlan(t, []string{evalRow}, func(o *Options) { o.Reuse = e.reuse(t) })
	assert.Equal(t, 1, p.Totals.ReusedPoints)
	dst := t.TempDir()
	n, err := p.CopyReused(dst)
	require.NoError(t, err)
	assert.Equal(t, 1, n)
	assert.FileExists(t, filepath.Join(dst, evalDir, "meta_env.json"))
	assert.FileExists(t, filepath.Join(dst, evalDir, "results_1.json"))
}

func TestMultinodeRowsAreReusedWhole(t *testing.T) {
	t.Parallel()
	o := testOptions(t)
	fp := fingerprint(t, o, multinodeRow, "ci-a_9", 1)
	m := result.Manifest{SchemaVersion: result.ManifestSchema, ResultFilename: "mn_conc1", Status: result.StatusSuccess, HW: "ci-mn", Conc: 1, Fingerprint: &fp}
	e := earlier{}
	e.add(t, m, true)
	p := makePlan(t, []string{multinodeRow}, func(o *Options) { o.Reuse = e.reuse(t) })
	assert.Equal(t, 0, p.Totals.ReusedPoints)
	assert.Equal(t, 1, p.Reuse.Rejected[whyMultinode])

	fp2 := fingerprint(t, o, multinodeRow, "ci-a_9", 2)
	m2 := m
	m2.ResultFilename, m2.Conc, m2.Fingerprint = "mn_conc2", 2, &fp2
	e.add(t, m2, true)
	p = makePlan(t, []string{multinodeRow}, func(o *Options) { o.Reuse = e.reuse(t) })
	assert.Equal(t, 2, p.Totals.ReusedPoints)
	assert.Equal(t, 0, p.JobsToRun())
}

// The copies sit where the jobs would have uploaded them, agg records as measured, each
// manifest with its provenance; a result reused twice keeps the sweep that measured it.
func TestCopyReusedKeepsTheLayoutAndRecordsProvenance(t *testing.T) {
	t.Parallel()
	o := testOptions(t)
	first := measured(t, o, row(4), 4, result.StatusSuccess, nil, false)
	again := measured(t, o, row(8), 8, result.StatusSuccess, nil, false)
	again.Reused = &result.Provenance{Source: "run 5", Path: "prev/bmk_x/manifest_x.json", Key: again.Fingerprint.Key}
	e := earlier{}
	e.add(t, first, true)
	e.add(t, again, true)
	// The manifest also carries fields this version does not know: they are kept.
	path := result.BenchArtifact(first.ResultFilename) + "/" + result.ManifestFile(first.ResultFilename)
	var obj map[string]any
	require.NoError(t, json.Unmarshal(e[path].Data, &obj))
	obj["energy_joules"] = 12.5
	e[path].Data = jsonOf(t, obj)

	p := makePlan(t, []string{row(4), row(8)}, func(o *Options) { o.Reuse = e.reuse(t) })
	dst := t.TempDir()
	n, err := p.CopyReused(dst)
	require.NoError(t, err)
	assert.Equal(t, 2, n)

	read := func(m result.Manifest) (result.Manifest, map[string]any) {
		dir := filepath.Join(dst, result.BenchArtifact(m.ResultFilename))
		b, err := os.ReadFile(filepath.Join(dir, result.ManifestFile(m.ResultFilename)))
		require.NoError(t, err)
		var got result.Manifest
		var raw map[string]any
		require.NoError(t, json.Unmarshal(b, &got))
		require.NoError(t, json.Unmarshal(b, &raw))
		agg, err := os.ReadFile(filepath.Join(dir, result.AggFile(m.ResultFilename)))
		require.NoError(t, err)
		assert.Equal(t, string(e[result.BenchArtifact(m.ResultFilename)+"/"+result.AggFile(m.ResultFilename)].Data), string(agg))
		return got, raw
	}
	got, raw := read(first)
	assert.Equal(t, &result.Provenance{Source: "run 7", Path: "prev/" + path, Key: first.Fingerprint.Key}, got.Reused)
	assert.Equal(t, 12.5, raw["energy_joules"])
	assert.Equal(t, first.Started, got.Started)
	got, _ = read(again)
	assert.Equal(t, &result.Provenance{Source: "run 5", Path: "prev/bmk_x/manifest_x.json", Key: again.Fingerprint.Key, Via: []string{"run 7"}}, got.Reused)

	var index struct {
		Source  string `json:"source"`
		Results []struct {
			ResultFilename string `json:"result_filename"`
		} `json:"results"`
	}
	b, err := os.ReadFile(filepath.Join(dst, ReuseIndexFile))
	require.NoError(t, err)
	require.NoError(t, json.Unmarshal(b, &index))
	assert.Equal(t, "run 7", index.Source)
	assert.Len(t, index.Results, 2)
}

// A sweep that fails points for invalid power (--require-power) must not take a result whose
// power was invalid: it would publish a point the sweep itself would have failed.
func TestReuseUnderRequirePowerTakesOnlyValidPower(t *testing.T) {
	t.Parallel()
	o := testOptions(t)
	for _, tc := range []struct {
		name         string
		power        *result.AggPower
		requirePower bool
		reused       bool
	}{
		{"valid power, power required", &result.AggPower{SchemaVersion: 2, Valid: true}, true, true},
		{"invalid power, power required", &result.AggPower{SchemaVersion: 2}, true, false},
		{"no power fields at all, power required", nil, true, false},
		{"invalid power, power not required", &result.AggPower{SchemaVersion: 2}, false, true},
	} {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			e := earlier{}
			m := measured(t, o, row(4), 4, result.StatusSuccess, nil, false)
			e.add(t, m, true)
			if tc.power != nil {
				aggPath := result.BenchArtifact(m.ResultFilename) + "/" + result.AggFile(m.ResultFilename)
				var agg result.Agg
				require.NoError(t, json.Unmarshal(e[aggPath].Data, &agg))
				agg.Power = tc.power
				e[aggPath] = &fstest.MapFile{Data: jsonOf(t, agg)}
			}
			p := makePlan(t, []string{row(4)}, func(o *Options) { o.Reuse, o.RequirePower = e.reuse(t), tc.requirePower })
			if tc.reused {
				assert.Equal(t, 1, p.Totals.ReusedPoints)
				return
			}
			assert.Equal(t, 0, p.Totals.ReusedPoints)
			assert.Equal(t, 1, p.Reuse.Rejected[whyNoPower], "rejected: %v", p.Reuse.Rejected)
		})
	}
}
