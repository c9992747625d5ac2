package report

import (
	"bytes"
	"encoding/json"
	"strings"
	"testing"
	"testing/fstest"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/inferbench/inferbench/internal/result"
)

// goodAgg is a complete single-node agg record in the reference's format.
const goodAgg = `{"hw": "b200", "conc": 4, "image": "img", "model": "m/M", "infmax_model_prefix": "dsr1",
 "framework": "sglang", "precision": "fp8", "spec_decoding": "none", "disagg": false, "isl": 1024,
 "osl": 1024, "is_multinode": false, "tp": 8, "ep": 1, "dp_attention": "false", "tput_per_gpu": 100.5,
 "output_tput_per_gpu": 50.25, "input_tput_per_gpu": 50.25, "median_ttft": 0.05, "median_tpot": 0.02,
 "median_intvty": 50.0, "median_e2el": 20.5, "p99_ttft": 0.1}`

func withKey(t *testing.T, base, key string, val any) string {
	t.Helper()
	var m map[string]any
	require.NoError(t, json.Unmarshal([]byte(base), &m))
	if val == nil {
		delete(m, key)
	} else {
		m[key] = val
	}
	b, _ := json.Marshal(m)
	return string(b)
}

func TestScanClassifiesEveryFile(t *testing.T) {
	t.Parallel()
	manifest, _ := json.Marshal(result.Manifest{SchemaVersion: result.ManifestSchema, Status: result.StatusSuccess, HW: "b200-trt"})
	tests := []struct {
		name        string
		file, body  string
		records     int
		statuses    int
		problem     string // substring of the problem message; "" = no problem
		ignoredKind string
	}{
		{"agg record", "bmk_x/agg_x.json", goodAgg, 1, 0, "", ""},
		{"record under any name", "bmk_x/other.json", goodAgg, 1, 0, "", ""},
		{"manifest", "bmk_x/manifest_x.json", string(manifest), 0, 1, "", ""},
		{"truncated agg", "bmk_x/agg_x.json", goodAgg[:40], 0, 0, "JSON", ""},
		{"empty agg", "bmk_x/agg_x.json", "", 0, 0, "empty file", ""},
		{"partial agg", "bmk_x/agg_x.json", withKey(t, goodAgg, "median_tpot", nil), 0, 0, "missing median_tpot", ""},
		{"wrong type", "bmk_x/agg_x.json", withKey(t, goodAgg, "tput_per_gpu", "fast"), 0, 0, "tput_per_gpu: want a number", ""},
		{"non-integral conc", "bmk_x/agg_x.json", withKey(t, goodAgg, "conc", 4.5), 0, 0, "conc: want an integer", ""},
		{"agg name without agg fields", "bmk_x/agg_x.json", `{"a": 1}`, 0, 0, "named like an agg record", ""},
		{"manifest without status", "bmk_x/manifest_x.json", `{"schema_version": "inferbench.manifest/1", "hw": "b200"}`, 0, 0, "missing status", ""},
		{"truncated manifest", "bmk_x/manifest_x.json", `{"schema_version": "inferb`, 0, 0, "JSON", ""},
		{"raw client result", "bmk_x/x.json", `{"model_id": "m", "max_concurrency": 4}`, 0, 0, "", "raw client results"},
		{"lm-eval results", "eval_x/results_1.json", `{"lm_eval_version": "0.4", "results": {}}`, 0, 0, "", "eval files"},
		{"earlier output", "agg_bmk.json", `[` + goodAgg + `]`, 0, 0, "", "earlier collect outputs"},
		{"unrelated JSON", "x/package.json", `{"name": "x"}`, 0, 0, "", "other JSON files"},
		{"not JSON at all", "x/notes.json", `hello`, 0, 0, "", "other JSON files"},
		{"log file", "server_logs_x/server.log", "INFO ready", 0, 0, "", ""},
		{"multinode record", "bmk_x/agg_x.json", multinodeAgg(t), 1, 0, "", ""},
		{"multinode record missing decode gpus", "bmk_x/agg_x.json", withKey(t, multinodeAgg(t), "num_decode_gpu", nil), 0, 0, "missing num_decode_gpu", ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			fsys := fstest.MapFS{"sweep/" + tt.file: {Data: []byte(tt.body)}}
			s, err := Scan(fsys, "sweep")
			require.NoError(t, err)
			assert.Len(t, s.Records, tt.records)
			assert.Len(t, s.Statuses, tt.statuses)
			if tt.problem == "" {
				assert.Empty(t, s.Problems)
			} else {
				require.Len(t, s.Problems, 1)
				assert.Contains(t, s.Problems[0].Msg, tt.problem)
				assert.Equal(t, tt.file, s.Problems[0].Path)
			}
			if tt.ignoredKind != "" {
				assert.Equal(t, 1, s.Ignored[tt.ignoredKind], "ignored %s", tt.ignoredKind)
			}
		})
	}
}

func TestScanCountsADuplicatedStatusOnce(t *testing.T) {
	t.Parallel()
	m, _ := json.Marshal(result.Manifest{SchemaVersion: result.ManifestSchema, ResultFilename: "x", Status: result.StatusSuccess, HW: "b200"})
	retry, _ := json.Marshal(result.Manifest{SchemaVersion: result.ManifestSchema, ResultFilename: "x", Status: result.StatusSuccess, HW: "b200", Started: fixtureTime})
	fsys := fstest.MapFS{
		"s/bmk_x/manifest_x.json":         {Data: m},
		"s/server_logs_x/manifest_x.json": {Data: m},
		"s/bmk_x_retry/manifest_x.json":   {Data: retry},
	}
	s, err := Scan(fsys, "s")
	require.NoError(t, err)
	assert.Len(t, s.Statuses, 2)
	assert.Equal(t, 1, s.Ignored["duplicate status records"])
}

func multinodeAgg(t *testing.T) string {
	s := withKey(t, goodAgg, "is_multinode", true)
	for k, v := range map[string]any{"tp": nil, "ep": nil, "dp_attention": nil, "prefill_tp": 4, "prefill_ep": 4,
		"prefill_dp_attention": "true", "prefill_num_workers": 1, "decode_tp": 8, "decode_ep": 8,
		"decode_dp_attention": true, "decode_num_workers": 2, "num_prefill_gpu": 4, "num_decode_gpu": 16} {
		s = withKey(t, s, k, v)
	}
	return s
}

func TestDecodeRecordNormalisesReferenceQuirks(t *testing.T) {
	t.Parallel()
	// dp_attention is a string at the anchor and a bool in some files; ints may be strings.
	r, err := DecodeRecord([]byte(withKey(t, withKey(t, goodAgg, "dp_attention", true), "tp", "8")), "a.json")
	require.NoError(t, err)
	assert.Equal(t, "true", r.DPAttention)
	assert.Equal(t, 8, r.TP)
	assert.Equal(t, 8, r.GPUs())
	v, ok := r.Metric("p99_ttft")
	assert.True(t, ok, "p99_ttft = %v %v", v, ok)
	assert.Equal(t, 0.1, v, "p99_ttft")
	m, err := DecodeRecord([]byte(multinodeAgg(t)), "m.json")
	require.NoError(t, err)
	assert.Equal(t, 20, m.GPUs(), "multinode")
	assert.Equal(t, "true", m.DecodeDPAttention, "multinode")
	assert.Equal(t, "true", m.PrefillDPAttention, "multinode")
	// A null statistic (one the run could not compute) is absent, not zero and not an error.
	n, err := DecodeRecord([]byte(withKey(t, goodAgg, "std_intvty", json.RawMessage("null"))), "n.json")
	require.NoError(t, err)
	_, ok = n.Metric("std_intvty")
	assert.False(t, ok, "null std_intvty read as a value")
}

func TestWriteAggJSONKeepsRecordsVerbatim(t *testing.T) {
	t.Parallel()
	r1, _ := DecodeRecord([]byte(goodAgg), "a")
	r2, _ := DecodeRecord([]byte(withKey(t, goodAgg, "extra_field", "kept")), "b")
	var b bytes.Buffer
	require.NoError(t, WriteAggJSON(&b, []Record{r1, r2}))
	var back []map[string]any
	err := json.Unmarshal(b.Bytes(), &back)
	require.NoError(t, err, "output is not a JSON array: %v\n%s", err, b.String())
	require.Len(t, back, 2, "round trip lost data")
	assert.Equal(t, "kept", back[1]["extra_field"], "round trip lost data")
	assert.Equal(t, "b200", back[0]["hw"], "round trip lost data")
	// Field order is the file's, not alphabetical: hw comes before conc.
	assert.LessOrEqual(t, strings.Index(b.String(), `"hw"`), strings.Index(b.String(), `"conc"`), "field order not kept")
	b.Reset()
	assert.NoError(t, WriteAggJSON(&b, nil), "empty")
	assert.Equal(t, "[]\n", b.String(), "empty")
}

func TestRunStatsCountsAttemptsPerSKU(t *testing.T) {
	t.Parallel()
	st := func(hw string, s result.Status) Status {
		return Status{Manifest: result.Manifest{HW: hw, Status: s}}
	}
	got := RunStats([]Status{
		st("b200", result.StatusSuccess), st("b200-trt", result.StatusEngineFailed),
		st("gb200", result.StatusSuccess), st("gb200", result.StatusCancelled), st("x1", result.StatusSuccess),
	}, []string{"b200", "gb200", "h100"})
	want := result.RunStats{"b200": {NSuccess: 1, Total: 2}, "gb200": {NSuccess: 1, Total: 2},
		"h100": {}, "x1": {NSuccess: 1, Total: 1}}
	require.Len(t, got, len(want))
	for k, v := range want {
		assert.Equal(t, v, got[k])
	}
}

// fixtureTime is a fixed start time for hand-made status records.
var fixtureTime = time.Date(2026, 2, 9, 12, 0, 0, 0, time.UTC)

// agent run writes the agg record of a point whose load failed (for diagnosis); Scan must
// keep it out of the results, by the point's own status record, and say so.
func TestScanLeavesOutFailedPoints(t *testing.T) {
	t.Parallel()
	status := func(st result.Status, started time.Time) []byte {
		b, _ := json.Marshal(result.Manifest{SchemaVersion: result.ManifestSchema, ResultFilename: "x", Status: st, HW: "b200", Started: started})
		return b
	}
	later := fixtureTime.Add(time.Hour)
	tests := []struct {
		name     string
		statuses map[string][]byte // path -> manifest
		kept     int
	}{
		{"no status record", nil, 1},
		{"success", map[string][]byte{"s/bmk_x/manifest_x.json": status(result.StatusSuccess, fixtureTime)}, 1},
		{"eval below threshold keeps its throughput", map[string][]byte{"s/bmk_x/manifest_x.json": status(result.StatusEvalFailed, fixtureTime)}, 1},
		{"bench failed", map[string][]byte{"s/bmk_x/manifest_x.json": status(result.StatusBenchFailed, fixtureTime)}, 0},
		{"engine failed", map[string][]byte{"s/bmk_x/manifest_x.json": status(result.StatusEngineFailed, fixtureTime)}, 0},
		{"cancelled", map[string][]byte{"s/bmk_x/manifest_x.json": status(result.StatusCancelled, fixtureTime)}, 0},
		{"retry succeeded", map[string][]byte{
			"s/bmk_x/manifest_x.json":   status(result.StatusBenchFailed, fixtureTime),
			"s/bmk_x_2/manifest_x.json": status(result.StatusSuccess, later),
		}, 1},
		{"retry failed", map[string][]byte{
			"s/bmk_x/manifest_x.json":   status(result.StatusSuccess, fixtureTime),
			"s/bmk_x_2/manifest_x.json": status(result.StatusBenchFailed, later),
		}, 0},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			fsys := fstest.MapFS{"s/bmk_x/agg_x.json": {Data: []byte(goodAgg)}, "s/bmk_y/agg_y.json": {Data: []byte(goodAgg)}}
			for p, b := range tt.statuses {
				fsys[p] = &fstest.MapFile{Data: b}
			}
			s, err := Scan(fsys, "s")
			require.NoError(t, err)
			// agg_y has no status record and is always kept
			require.Len(t, s.Records, tt.kept+1)
			require.Len(t, s.FailedPoints, 1-tt.kept)
			assert.False(t, tt.kept == 0 && !strings.Contains(s.SummaryLine(), "left out 1 result of failed points"), "summary line")
			assert.Empty(t, s.Problems)
		})
	}
}
